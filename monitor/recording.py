"""Prometheus recording rules, as data: the per-segment rates dashboards and alerts read.

Expensive queries (ratios over every segment, an hour of counters) are computed once per
evaluation here and read back cheaply. Names follow ``level:metric:operations``: the labels
kept, the metric, then what was done to it. Rules of one group run in order, so a ratio may
read the rates recorded above it. Rendered by :mod:`monitor.alerts`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str


SEGMENT = "model, surface, locale, policy_area"
REFUSED = 'refusal=~"partial_refusal|full_refusal"'
CLASSIFIED = 'refusal!="unclassified"'
COMPLIED = 'refusal="compliance"'
BENIGN = 'prompt="benign"'
HARMFUL = 'prompt="harmful"'
WINDOWS = ("5m", "1h")


def _verdicts(selector: str, window: str) -> str:
    series = f"driftmon_verdicts_total{{{selector}}}" if selector else "driftmon_verdicts_total"
    return f"sum by ({SEGMENT}) (rate({series}[{window}]))"


def _ratio(numerator: str, denominator: str, window: str) -> str:
    return f"{_verdicts(numerator, window)}\n/ {_verdicts(denominator, window)}"


def segment_rules(w: str) -> list[Recording]:
    """Verdict rate and the four watched ratios per segment over window ``w``.

    ``violation`` counts violating category hits per classified verdict: a response that
    violates two categories counts twice (the counter is per category).
    """
    return [
        Recording(f"segment:driftmon_verdicts:rate{w}", _verdicts("", w)),
        Recording(f"segment:driftmon_verdicts_classified:rate{w}", _verdicts(CLASSIFIED, w)),
        Recording(
            f"segment:driftmon_refusal:ratio_rate{w}",
            f"{_verdicts(REFUSED, w)}\n/ segment:driftmon_verdicts_classified:rate{w}",
        ),
        Recording(
            f"segment:driftmon_over_refusal:ratio_rate{w}",
            _ratio(f"{REFUSED}, {BENIGN}", f"{CLASSIFIED}, {BENIGN}", w),
        ),
        Recording(
            f"segment:driftmon_under_refusal:ratio_rate{w}",
            _ratio(f"{COMPLIED}, {HARMFUL}", f"{CLASSIFIED}, {HARMFUL}", w),
        ),
        Recording(
            f"segment:driftmon_violations:rate{w}",
            f"sum by ({SEGMENT}) (rate(driftmon_violations_total[{w}]))",
        ),
        Recording(
            f"segment:driftmon_violation:ratio_rate{w}",
            f"segment:driftmon_violations:rate{w}\n/ segment:driftmon_verdicts_classified:rate{w}",
        ),
    ]


PIPELINE = [
    Recording(
        "job:driftmon_samples_received:rate5m",
        "sum by (job) (rate(driftmon_samples_received_total[5m]))",
    ),
    Recording(
        "job:driftmon_dlq_messages:rate5m", "sum by (job) (rate(driftmon_dlq_messages_total[5m]))"
    ),
    Recording(
        "job:driftmon_dlq:ratio_rate5m",
        "job:driftmon_dlq_messages:rate5m\n/ job:driftmon_samples_received:rate5m",
    ),
    Recording(
        "job:driftmon_unclassified:ratio_rate5m",
        "sum by (job) (rate(driftmon_unclassified_total[5m]))\n"
        "/ sum by (job) (rate(driftmon_verdicts_total[5m]))",
    ),
    Recording(
        "classifier:driftmon_classifier_errors:rate5m",
        "sum by (job, classifier) (rate(driftmon_classifier_errors_total[5m]))",
    ),
    Recording(
        "classifier:driftmon_classifier_calls:rate5m",
        "sum by (job, classifier) (rate(driftmon_classifier_seconds_count[5m]))",
    ),
    # Failed calls are not timed, so calls + errors is every call; a classifier that only
    # fails has no timed calls at all, hence the `or`.
    Recording(
        "classifier:driftmon_classifier_errors:ratio_rate5m",
        "classifier:driftmon_classifier_errors:rate5m\n"
        "/ (classifier:driftmon_classifier_calls:rate5m\n"
        "   + classifier:driftmon_classifier_errors:rate5m\n"
        "   or classifier:driftmon_classifier_errors:rate5m)",
    ),
    Recording(
        "job:driftmon_store_errors:rate5m", "sum by (job) (rate(driftmon_store_errors_total[5m]))"
    ),
]

RECORDINGS: list[Recording] = [*(r for w in WINDOWS for r in segment_rules(w)), *PIPELINE]
"""Every recording rule, in evaluation order (dashboards may append their own below)."""


def _by_model_surface(selector: str) -> str:
    series = f"driftmon_verdicts_total{{{selector}}}" if selector else "driftmon_verdicts_total"
    return f"sum by (model, surface) (rate({series}[5m]))"


def _model_surface_ratio(numerator: str, denominator: str) -> str:
    return f"{_by_model_surface(numerator)}\n/ {_by_model_surface(denominator)}"


MODEL_SURFACE = "model_surface:driftmon_verdicts_classified:rate5m"
STREAM = "model, surface, locale, policy_area, metric"
WARMING = f'max by ({STREAM}) (driftmon_detector_state{{state="insufficient_data"}}) == 1'
# The on-call overview's rates per model and surface, and its "most moved" stat row.
DASHBOARD = [
    Recording("model_surface:driftmon_verdicts:rate5m", _by_model_surface("")),
    Recording(MODEL_SURFACE, _by_model_surface(CLASSIFIED)),
    Recording(
        "model_surface:driftmon_refusal:ratio_rate5m",
        f"{_by_model_surface(REFUSED)}\n/ {MODEL_SURFACE}",
    ),
    Recording(
        "model_surface:driftmon_over_refusal:ratio_rate5m",
        _model_surface_ratio(f"{REFUSED}, {BENIGN}", f"{CLASSIFIED}, {BENIGN}"),
    ),
    Recording(
        "model_surface:driftmon_under_refusal:ratio_rate5m",
        _model_surface_ratio(f"{COMPLIED}, {HARMFUL}", f"{CLASSIFIED}, {HARMFUL}"),
    ),
    Recording(
        "model_surface:driftmon_violation:ratio_rate5m",
        f"sum by (model, surface) (rate(driftmon_violations_total[5m]))\n/ {MODEL_SURFACE}",
    ),
    # How far each detector's current rate is from its baseline, relative to it (+100% =
    # doubled); streams still warming up are left out. Workers exporting one stream agree.
    Recording(
        "stream:driftmon_detector_moved:ratio",
        f"(max by ({STREAM}) (driftmon_detector_current_rate)\n"
        f" - max by ({STREAM}) (driftmon_detector_baseline_rate))\n"
        f"/ clamp_min(max by ({STREAM}) (driftmon_detector_baseline_rate), 0.001)\n"
        f"unless on ({STREAM}) ({WARMING})",
    ),
]
RECORDINGS += DASHBOARD
