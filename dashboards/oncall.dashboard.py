"""On-call overview: what drifted, where, since when, how big, who owns it, and the traffic
behind every rate, on one screen."""

from __future__ import annotations

from grafanalib import core as g

from monitor import panels as p

UID = "driftmon-overview"
OPEN = "max without (instance, job) (driftmon_drift_event_open)"
SEGMENT = "{{model}} · {{surface}}"
DRILL_DOWN = (
    "/d/driftmon-policy-area/policy-area?var-policy_area=${__data.fields.policy_area}"
    "&var-model=${__data.fields.model}&var-surface=${__data.fields.surface}"
    "&var-locale=${__data.fields.locale}&${__url_time_range}"
)
RATES = [
    ("Refusal rate", "refusal", "Share of classified answers that refused, fully or partly."),
    (
        "Over-refusal rate",
        "over_refusal",
        "Share of harmless requests that were refused: the cost of being too careful.",
    ),
    (
        "Under-refusal rate",
        "under_refusal",
        "Share of harmful requests that were answered: the safety risk.",
    ),
    (
        "Violation rate",
        "violation",
        "Policy violations in answers per classified answer (an answer breaking two policies "
        "counts twice).",
    ),
]


def _stats(y: int) -> list:
    return [
        p.stat(
            "Drift events open, by severity",
            "Drift events not resolved yet, counted by severity. Each one is a page or a "
            "notification to its owning team.",
            [p.target(f"count by (severity) ({OPEN})", "{{severity}}", instant=True)],
            p.COUNT,
            p.at(0, y, 8, 4),
            series_colours=p.SEVERITY_COLOURS,
            no_value="0",
        ),
        p.stat(
            "Longest wait for acknowledgement",
            "How long the oldest open drift event has waited for its owner to acknowledge it.",
            [p.target("max(driftmon_drift_event_unacknowledged_seconds)", "waiting", instant=True)],
            p.SECONDS,
            p.at(8, y, 4, 4),
            levels=p.WAITING,
            no_value="nothing waiting",
        ),
        p.stat(
            "Samples per second",
            "Conversation samples read by all workers: the traffic behind every rate below.",
            [p.target("sum(job:driftmon_samples_received:rate5m)", "samples/s", instant=True)],
            p.PER_SECOND,
            p.at(12, y, 4, 4),
        ),
        p.stat(
            "Unclassified share",
            "Share of samples no classifier could label. They are left out of every rate, so "
            "a high share makes the rates less trustworthy.",
            [p.target("max(job:driftmon_unclassified:ratio_rate5m)", "unclassified", instant=True)],
            p.SHARE,
            p.at(16, y, 4, 4),
            levels=p.ERROR_SHARE,
        ),
        p.stat(
            "Seconds since the last sample",
            "Time since any worker last received a sample. A growing number means the "
            "dashboards show old news.",
            [
                p.target(
                    "time() - max(driftmon_last_sample_timestamp_seconds)", "idle", instant=True
                )
            ],
            p.SECONDS,
            p.at(20, y, 4, 4),
            levels=p.STALE,
        ),
    ]


def _events(y: int, settings: p.Settings) -> list:
    runbook = settings.runbook("DriftmonDrift")
    links = {
        "metric": [{"title": "Open the policy area drill-down", "url": DRILL_DOWN}],
        "severity": [{"title": "Runbook for drift alerts", "url": runbook}],
    }
    return [
        p.table(
            "Drift events not resolved",
            "Every open or acknowledged drift event with its segment, owner and severity. Click "
            "a metric to open the policy area drill-down for that segment.",
            [
                p.target(OPEN, table=True),
                p.target(
                    "max without (instance, job) (driftmon_drift_event_unacknowledged_seconds)",
                    table=True,
                ),
            ],
            p.at(0, y, 24, 7),
            columns={
                "severity": "Severity",
                "metric": "Metric",
                "direction": "Direction",
                "model": "Model",
                "surface": "Surface",
                "locale": "Locale",
                "policy_area": "Policy area",
                "team": "Owner",
                "status": "Status",
                "Value #B": "Waiting for ack",
                "event_id": "Event",
            },
            colours={"severity": p.SEVERITY_COLOURS, "status": p.STATUS_COLOURS},
            links=links,
            units={"Value #B": p.SECONDS},
        )
    ]


def _moved(y: int) -> list:
    moved = "stream:driftmon_detector_moved:ratio"
    return [
        p.stat(
            "Most moved segments",
            "The six detector streams whose current rate is furthest from their baseline, as a "
            "change relative to the baseline (+100% means doubled). Streams still warming up "
            "are left out.",
            [
                p.target(
                    f"{moved} and topk(6, abs({moved}))",
                    "{{metric}}: {{model}} · {{surface}} · {{locale}} · {{policy_area}}",
                    instant=True,
                )
            ],
            p.SHARE,
            p.at(0, y, 24, 4),
            levels=p.MOVED,
        )
    ]


def _rates(y: int) -> list:
    out = []
    for i, (title, metric, description) in enumerate(RATES):
        out.append(
            p.timeseries(
                f"{title} by model and surface",
                f"{description} Over the last 5 minutes. Shaded regions are open drift events.",
                [p.target(f"model_surface:driftmon_{metric}:ratio_rate5m", SEGMENT)],
                p.SHARE,
                p.at(12 * (i % 2), y + 8 * (i // 2), 12, 8),
            )
        )
    return out


def _traffic(y: int) -> list:
    return [
        p.timeseries(
            "Traffic by model and surface",
            "Verdicts per second: the denominator of the rates above. A rate on little traffic "
            "moves a lot by chance.",
            [p.target("model_surface:driftmon_verdicts:rate5m", SEGMENT)],
            p.PER_SECOND,
            p.at(0, y, 12, 7),
        ),
        p.timeseries(
            "Unclassified share",
            "Share of samples no classifier could label, per worker group. These samples are "
            "not in any rate.",
            [p.target("job:driftmon_unclassified:ratio_rate5m", "{{job}}")],
            p.SHARE,
            p.at(12, y, 12, 7),
            levels=p.ERROR_SHARE,
        ),
    ]


def build(settings: p.Settings) -> g.Dashboard:
    return p.dashboard(
        UID,
        "On-call overview",
        "What drifted, where, since when and how much; who owns it; and the traffic behind it.",
        [*_stats(0), *_events(4, settings), *_moved(11), *_rates(15), *_traffic(31)],
        annotations=[
            p.annotation(
                "Drift events",
                "max by (event_id, model, surface, locale, policy_area, metric, direction, "
                "severity, team) (driftmon_drift_event_open)",
                p.BAD,
                "{{metric}} {{direction}}: {{model}} · {{surface}} · {{locale}} · {{policy_area}}",
                "severity,team,metric",
            )
        ],
        links=[
            g.DashboardLink(
                title="Pipeline health", type="link", uri="/d/driftmon-pipeline/pipeline-health"
            ),
            g.DashboardLink(
                title="Runbook: drift alerts", type="link", uri=settings.runbook("DriftmonDrift")
            ),
        ],
    )
