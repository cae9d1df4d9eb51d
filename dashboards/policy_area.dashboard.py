"""Policy area drill-down: one segment (policy area, model, surface, locale) in detail.

Alerts link here with the segment selected (``var-policy_area=...&var-model=...``). A drift
in refusal, over- or under-refusal is detected per model, surface and locale across policy
areas, so its alert says ``policy_area=all``; the policy area variable turns ``all`` into
"every area" (its query adds a ``match`` value of ``.*`` to that one option).
"""

from __future__ import annotations

from grafanalib import core as g

from monitor import panels as p

UID = "driftmon-policy-area"
SEG = 'policy_area=~"$policy_area", model=~"$model", surface=~"$surface", locale=~"$locale"'
CLASSIFIED = f'driftmon_verdicts_total{{{SEG}, refusal!="unclassified"}}'
REFUSED = 'refusal=~"partial_refusal|full_refusal"'
LABELLED = 'refusal!="unclassified"'
COMPLIED = 'refusal="compliance"'
STREAM = "{{metric}} · {{policy_area}}"
EVENT_OPEN = f"max without (instance, job) (driftmon_drift_event_open{{{SEG}}})"
EVENT_IDS = f"max by (event_id, metric) (driftmon_drift_event_open{{{SEG}}})"


def _rate(selector: str) -> str:
    return f"sum(rate(driftmon_verdicts_total{{{SEG}, {selector}}}[$__rate_interval]))"


def _event_value(metric: str, selector: str, by: str = "event_id") -> str:
    """One lifecycle value per event of this segment, labelled by ``by`` (event_id, and for
    an info series the label it carries)."""
    return (
        f"max by ({by}) ({metric}{{{selector}}})\n"
        f"and on (event_id) max by (event_id) (driftmon_drift_event_open{{{SEG}}})"
    )


def _events(y: int) -> list:
    return [
        p.table(
            "Drift events in this segment",
            "Open and acknowledged drift events of the selected segment: which rate moved, "
            "from what to what, since when, and who owns it. A change back (a rollback) names "
            "the event it goes back on and the rate before that event's change.",
            [
                p.target(EVENT_OPEN, table=True),
                p.target(
                    _event_value("driftmon_drift_event_rate", 'side="before", bound="rate"'),
                    table=True,
                ),
                p.target(
                    _event_value("driftmon_drift_event_rate", 'side="after", bound="rate"'),
                    table=True,
                ),
                p.target(
                    "1000 * " + _event_value("driftmon_drift_event_change_timestamp_seconds", ""),
                    table=True,
                ),
                p.target(
                    _event_value("driftmon_drift_event_reverses_info", "", "event_id, reverses"),
                    table=True,
                ),
                p.target(
                    _event_value("driftmon_drift_event_rate", 'side="earlier", bound="rate"'),
                    table=True,
                ),
            ],
            p.at(0, y, 24, 6),
            columns={
                "severity": "Severity",
                "metric": "Metric",
                "direction": "Direction",
                "Value #B": "Rate before",
                "Value #C": "Rate after",
                "Value #D": "Changed at",
                "team": "Owner",
                "status": "Status",
                "event_id": "Event",
                "reverses": "Goes back on",
                "Value #F": "Rate before that",
            },
            colours={"severity": p.SEVERITY_COLOURS, "status": p.STATUS_COLOURS},
            units={
                "Value #B": p.SHARE,
                "Value #C": p.SHARE,
                "Value #D": "dateTimeAsIso",
                "Value #F": p.SHARE,
            },
        )
    ]


def _rates(y: int) -> list:
    benign, harmful = 'prompt="benign"', 'prompt="harmful"'
    return [
        p.timeseries(
            "Violation rate by category",
            "Answers breaking each policy category, per classified answer in this segment.",
            [
                p.target(
                    f"sum by (category) (rate(driftmon_violations_total{{{SEG}}}"
                    "[$__rate_interval]))\n"
                    f"/ on () group_left () sum(rate({CLASSIFIED}[$__rate_interval]))",
                    "{{category}}",
                )
            ],
            p.SHARE,
            p.at(0, y, 12, 8),
        ),
        p.timeseries(
            "Over-refusal against under-refusal",
            "The trade-off: refusing harmless requests (over-refusal) against answering "
            "harmful ones (under-refusal). A fix for one often moves the other.",
            [
                p.target(
                    f"{_rate(f'{REFUSED}, {benign}')}\n/ {_rate(f'{LABELLED}, {benign}')}",
                    "over-refusal (harmless requests refused)",
                ),
                p.target(
                    f"{_rate(f'{COMPLIED}, {harmful}')}\n/ {_rate(f'{LABELLED}, {harmful}')}",
                    "under-refusal (harmful requests answered)",
                ),
            ],
            p.SHARE,
            p.at(12, y, 12, 8),
        ),
    ]


def _detector(y: int) -> list:
    watching = f'driftmon_detector_state{{{SEG}, state="watching"}}'
    pending = f'driftmon_detector_state{{{SEG}, state="pending"}}'
    return [
        p.timeseries(
            "Baseline and current rate",
            "What each detector compares: the rate since its last baseline, and the rate over "
            "its last 500 values.",
            [
                p.target(
                    f"max without (instance, job) (driftmon_detector_baseline_rate{{{SEG}}})",
                    f"baseline: {STREAM}",
                ),
                p.target(
                    f"max without (instance, job) (driftmon_detector_current_rate{{{SEG}}})",
                    f"current: {STREAM}",
                ),
            ],
            p.SHARE,
            p.at(0, y, 12, 8),
        ),
        p.timeseries(
            "Detector evidence against its alarm level",
            "The detector's statistic divided by its alarm threshold: it pages at 1. Shown for "
            "detectors that report both (the calibrated Bernoulli CUSUM).",
            [
                p.target(
                    f"max without (instance, job) (driftmon_detector_threshold_ratio{{{SEG}}})",
                    STREAM,
                )
            ],
            p.COUNT,
            p.at(12, y, 12, 8),
            levels=p.EVIDENCE,
        ),
        p.state_timeline(
            "Detector state",
            "Warming up (not enough data for a baseline), watching, or an alarm waiting for "
            "confirmation.",
            [
                p.target(
                    f"max without (instance, job, state) ({watching})\n"
                    f"+ 2 * max without (instance, job, state) ({pending})",
                    STREAM,
                )
            ],
            p.at(0, y + 8, 12, 6),
            states={"0": p.INFO, "1": p.OK, "2": p.WARN},
            texts={"0": "warming up", "1": "watching", "2": "alarm pending"},
        ),
        p.state_timeline(
            "Drift active",
            "Red while the rate stays outside the interval it had before its last confirmed "
            "change; green once it is back.",
            [
                p.target(
                    f"max without (instance, job) (driftmon_drift_active{{{SEG}}})",
                    "{{metric}} {{direction}} · {{policy_area}}",
                )
            ],
            p.at(12, y + 8, 12, 6),
            states={"0": p.OK, "1": p.BAD},
            texts={"0": "back within baseline", "1": "drifted"},
        ),
        p.bargauge(
            "Samples behind each detector",
            "Values each detector has seen: a rate on few samples is a rough estimate.",
            [
                p.target(
                    f"max without (instance, job) (driftmon_detector_samples{{{SEG}}})",
                    STREAM,
                    instant=True,
                )
            ],
            p.COUNT,
            p.at(0, y + 14, 24, 6),
        ),
    ]


def _variables() -> list[g.Template]:
    wanted = 'policy_area=~"$policy_area"'
    return [
        p.query_variable(
            "policy_area",
            "Policy area",
            "query_result(label_replace(count by (policy_area) (driftmon_detector_samples), "
            '"match", ".*", "policy_area", "all"))',
            regex='/(?:match="(?<value>[^"]+)",)?policy_area="(?<text>[^"]+)"/',
        ),
        p.query_variable(
            "model", "Model", f"label_values(driftmon_detector_samples{{{wanted}}}, model)"
        ),
        p.query_variable(
            "surface",
            "Surface",
            f'label_values(driftmon_detector_samples{{{wanted}, model=~"$model"}}, surface)',
        ),
        p.query_variable(
            "locale",
            "Locale",
            "label_values(driftmon_detector_samples"
            f'{{{wanted}, model=~"$model", surface=~"$surface"}}, locale)',
        ),
    ]


def build(settings: p.Settings) -> g.Dashboard:
    return p.dashboard(
        UID,
        "Policy area drill-down",
        "One segment in detail: violation categories, the over/under-refusal trade-off, what "
        "the detectors see, and the segment's drift events.",
        [*_events(0), *_rates(6), *_detector(14)],
        variables=_variables(),
        annotations=[
            p.annotation(
                "Drift events in this segment",
                f"max by (event_id, metric, direction, severity, team) "
                f"(driftmon_drift_event_open{{{SEG}}})",
                p.BAD,
                "{{metric}} {{direction}} ({{severity}})",
                "severity,team",
            )
        ],
        links=[
            g.DashboardLink(
                title="Runbook: drift alerts",
                type="link",
                uri=settings.runbook("DriftmonDrift"),
                targetBlank=True,
            ),
            g.DashboardLink(
                title="All drift events (on-call overview)",
                type="link",
                uri="/d/driftmon-overview/on-call-overview",
                keepTime=True,
            ),
        ],
    )
