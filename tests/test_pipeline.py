"""The worker's stages wired together without Kafka: parse → classify → detect → record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.app import Pipeline, dlq_record
from monitor.config import parse_config
from monitor.counts import CountRow
from monitor.schema import DLQ_REASONS, SampleError
from monitor.simulate import TrafficSimulator
from monitor.store import StoreError
from monitor.testing import ListStore, hour_of_traffic

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


def pipeline(**simulator: object) -> Pipeline:
    cfg = parse_config(
        {
            "simulator": {"seed": 5, "bad_fraction": 0.0, **simulator},
            "detectors": {"warmup": 200, "params": {"arl0": 1_000_000, "min_events": 200}},
        }
    )
    return Pipeline(cfg, store_factory=ListStore)


def test_bad_message_raises_for_the_dlq_and_counts_nothing_else() -> None:
    p = pipeline()
    with pytest.raises(SampleError) as caught:
        p.classify(b"{oops")
    assert caught.value.reason == "not_json"
    reg = p.metrics.registry
    assert reg.get_sample_value("driftmon_samples_received_total") == 1
    assert reg.get_sample_value("driftmon_verdicts_total", {}) is None


def test_dlq_record_keeps_reason_and_original_bytes() -> None:
    record = dlq_record(b"\xff raw", "invalid_utf8", "byte 0", {"topic": "samples"})
    assert b'"reason": "invalid_utf8"' in record and b'"raw_b64": "/yByYXc="' in record


def test_drift_flows_to_the_store_once_and_to_metrics() -> None:
    p = pipeline(drift={"after_seconds": 75, "model": "atlas-2", "surface": "chat"})
    events = []
    for message in TrafficSimulator(p.cfg.simulator, START).take(30_000):
        events += p.detect(p.classify(message.value))
    refusal = [e for e in events if e.metric == "refusal"]
    assert refusal, "the injected refusal rise was detected"
    assert {(e.segment["model"], e.segment["surface"]) for e in events} == {("atlas-2", "chat")}
    for event in events + events:  # re-delivery must not double anything
        p.record(event)
    assert len(p.store.saved) == len(events)  # type: ignore[attr-defined]
    got = p.metrics.registry.get_sample_value(
        "driftmon_drift_events_total",
        {
            **{k: refusal[0].segment.get(k, "all") for k in ("model", "surface", "locale")},
            "policy_area": "all",
            "metric": "refusal",
            "direction": "up",
            "severity": refusal[0].severity,
        },
    )
    assert got == 1
    state = p.metrics.registry.get_sample_value(
        "driftmon_detector_state",
        {
            "model": "atlas-2",
            "surface": "chat",
            "locale": "en-US",
            "policy_area": "all",
            "metric": "refusal",
            "state": "watching",
        },
    )
    assert state == 1


def test_the_worker_tunes_each_stream_from_the_traffic_in_the_store() -> None:
    p = pipeline()
    hour = START.replace(minute=0)
    for h in range(1, 25):  # a day: en-US busy, is-IS a trickle
        p.store.add_counts(
            [
                hour_of_traffic(hour - timedelta(hours=h), loc, n)
                for loc, n in (("en-US", 36_000), ("is-IS", 2))
            ]
        )
    tuned = p.retune(START)
    assert tuned.budget == 1.0 and len(tuned.streams) == 2 * 3
    for message in TrafficSimulator(p.cfg.simulator, START).take(2_000):
        p.detect(p.classify(message.value))
    saved = p.detection.snapshot(only_dirty=False)
    arl0 = {
        s["segment"]["locale"]: s["watch"]["detector"]["params"]["arl0"]
        for s in saved.values()
        if s["segment"]["model"] == "atlas-2"
        and s["segment"]["surface"] == "chat"
        and s["metric"] == "refusal"
    }
    busy = tuned.params(("locale=en-US|model=atlas-2|surface=chat", "refusal"))["arl0"]
    assert arl0["en-US"] == busy, "a stream seen in the store runs its budget share"
    assert arl0["fr-FR"] == tuned.fallback["refusal"]["arl0"], "an unseen one, the median"
    assert busy == 36_000_000, "10/s × 6 weeks (6 streams, one false page a week), 2 digits"


class FailingStore(ListStore):
    def add_counts(self, rows: object) -> None:
        raise StoreError("database is down")


def test_counts_are_kept_when_the_store_fails() -> None:
    p = pipeline()
    p.store_factory = FailingStore
    for message in TrafficSimulator(p.cfg.simulator, START).take(100):
        p.detect(p.classify(message.value))
    with pytest.raises(StoreError):
        p.flush()
    kept: list[CountRow] = list(p.pending_counts)
    assert sum(r.samples for r in kept) == 100
    assert p.pending_states, "detector states are kept too"
    p._store = ListStore()
    written = p.flush()
    assert len(written.counts) == len(kept) and written.states
    assert p.pending_counts == [] and p.pending_states == {}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=3000).map(lambda t: json.dumps({"sample_id": t}).encode()),
        st.text(max_size=20_000).map(
            lambda t: json.dumps(
                {
                    "sample_id": "h",
                    "ts": "2026-11-16T09:00:00Z",
                    "model": "m",
                    "surface": "chat",
                    "locale": "en",
                    "messages": [
                        {"role": "user", "content": t},
                        {"role": "assistant", "content": t[::-1]},
                    ],
                }
            ).encode()
        ),
    )
)
def test_any_message_becomes_a_verdict_or_a_dlq_reason(raw: bytes) -> None:
    p = PIPELINE
    try:
        verdict = p.classify(raw)
    except SampleError as exc:
        assert exc.reason in DLQ_REASONS
        return
    p.detect(verdict)
    assert verdict.classified or verdict.unclassified


PIPELINE = pipeline()
