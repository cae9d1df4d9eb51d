"""Prometheus metrics of the worker, all named ``driftmon_*``.

Event counts (samples, DLQ, verdicts, drift events) are counters incremented as things happen;
detector state is read from the detection stage at scrape time by a custom collector, so the
hot path never touches a gauge. Every label value comes from a bounded set: segment values are
bounded by :mod:`monitor.segments`, policy areas by the taxonomy, reasons by fixed codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.counts import CATEGORY_THRESHOLD
from monitor.detect import DriftDetection
from monitor.schema import DriftEvent, Verdict

SEGMENT_LABELS = ("model", "surface", "locale", "policy_area")
ALL = "all"


def segment_labels(segment: dict[str, str]) -> list[str]:
    """Label values for the fixed segment label names; absent dimensions read ``all``."""
    return [segment.get(name, ALL) for name in SEGMENT_LABELS]


class DetectorCollector(Collector):
    """Detector state per (segment, metric), built from the detection stage at scrape time."""

    def __init__(self, detection: DriftDetection) -> None:
        self.detection = detection

    def collect(self) -> Iterator[Metric]:
        labels = [*SEGMENT_LABELS, "metric"]
        baseline = GaugeMetricFamily(
            "driftmon_detector_baseline_rate", "Rate since the last baseline.", labels=labels
        )
        current = GaugeMetricFamily(
            "driftmon_detector_current_rate", "Rate over the last 500 values.", labels=labels
        )
        samples = GaugeMetricFamily(
            "driftmon_detector_samples", "Values seen by the detector.", labels=labels
        )
        state = GaugeMetricFamily(
            "driftmon_detector_state",
            "1 for the detector's current state (insufficient_data, watching, pending).",
            labels=[*labels, "state"],
        )
        active = GaugeMetricFamily(
            "driftmon_drift_active",
            "1 while the rate stays outside the pre-change interval of the last confirmed change.",
            labels=[*labels, "direction"],
        )
        for stream in self.detection:
            values = [*segment_labels(stream.segment), stream.metric]
            watch = stream.watch
            now = watch.estimate()
            baseline.add_metric(values, watch.baseline().rate)
            current.add_metric(values, now.rate)
            samples.add_metric(values, watch.offset)
            for name in ("insufficient_data", "watching", "pending"):
                state.add_metric([*values, name], 1.0 if watch.state == name else 0.0)
            change = watch.last_change
            if change is not None:
                moved = not change.before.low <= now.rate <= change.before.high
                active.add_metric([*values, change.direction], 1.0 if moved else 0.0)
        yield from (baseline, current, samples, state, active)


class Metrics:
    """The worker's metrics on its own registry (a fresh one per test)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "driftmon_samples_received", "Messages read from the samples topic.", registry=r
        )
        self.dlq = Counter(
            "driftmon_dlq_messages", "Messages sent to the DLQ, by reason.", ["reason"], registry=r
        )
        self.verdicts = Counter(
            "driftmon_verdicts",
            "Verdicts by segment, refusal label and prompt harm.",
            [*SEGMENT_LABELS, "refusal", "prompt"],
            registry=r,
        )
        self.violations = Counter(
            "driftmon_violations",
            "Responses violating policy, by segment and category.",
            [*SEGMENT_LABELS, "category"],
            registry=r,
        )
        self.unclassified = Counter(
            "driftmon_unclassified", "Samples left unclassified, by reason.", ["reason"], registry=r
        )
        self.drift_events = Counter(
            "driftmon_drift_events",
            "Confirmed drift events recorded, by segment, metric and direction.",
            [*SEGMENT_LABELS, "metric", "direction", "severity"],
            registry=r,
        )
        self.store_errors = Counter(
            "driftmon_store_errors", "Failed writes to the store, by kind.", ["kind"], registry=r
        )
        self.latency = Histogram(
            "driftmon_classify_seconds",
            "Time to parse and classify one sample.",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0),
            registry=r,
        )

    def watch(self, detection: DriftDetection) -> None:
        self.registry.register(DetectorCollector(detection))

    def verdict(self, verdict: Verdict, threshold: float = CATEGORY_THRESHOLD) -> None:
        seg = segment_labels(verdict.segment)
        if not verdict.classified or verdict.refusal is None:
            self.unclassified.labels(verdict.unclassified or "unknown").inc()
            self.verdicts.labels(*seg, "unclassified", "unknown").inc()
            return
        harm = verdict.prompt_harm
        prompt = "unknown" if harm is None else ("harmful" if harm.harmful else "benign")
        self.verdicts.labels(*seg, verdict.refusal.label, prompt).inc()
        for category, score in verdict.violations.items():
            if score >= threshold:
                self.violations.labels(*seg, category).inc()

    def events(self, events: Iterable[DriftEvent]) -> None:
        for e in events:
            self.drift_events.labels(
                *segment_labels(e.segment), e.metric, e.direction, e.severity
            ).inc()
