"""Pipeline health: is driftmon itself keeping up? Throughput, lag, latency, dead letters,
classifiers, the store, and each worker's memory and CPU. If this is red, distrust the rates."""

from __future__ import annotations

from grafanalib import core as g

from monitor import panels as p

UID = "driftmon-pipeline"
WORKER = 'job="driftmon"'
RI = "[$__rate_interval]"


def _quantile(q: float) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate(driftmon_processing_seconds_bucket{RI})))"


def _stats(y: int) -> list:
    return [
        p.stat(
            "Store reachable",
            "Whether the last write to the SQL store worked on every worker. Drift events and "
            "counts wait in memory (and are retried) while it is down.",
            [p.target("min(driftmon_store_up)", "store", instant=True)],
            p.COUNT,
            p.at(0, y, 4, 4),
            mappings=p.value_mappings({"1": p.OK, "0": p.BAD}, {"1": "up", "0": "down"}),
        ),
        p.stat(
            "Workers scraped",
            "Workers Prometheus can reach. Each exports its own counts and detector state.",
            [p.target(f"sum(up{{{WORKER}}})", "workers", instant=True)],
            p.COUNT,
            p.at(4, y, 4, 4),
        ),
        p.stat(
            "Largest consumer lag",
            "Messages not yet processed on the most behind partition.",
            [p.target("max(driftmon_consumer_lag)", "lag", instant=True)],
            p.MESSAGES,
            p.at(8, y, 4, 4),
            levels=p.LAG,
        ),
        p.stat(
            "Dead-letter share",
            "Share of received messages that could not be read and went to the dead-letter "
            "topic, with the reason.",
            [p.target("max(job:driftmon_dlq:ratio_rate5m)", "DLQ", instant=True)],
            p.SHARE,
            p.at(12, y, 4, 4),
            levels=p.ERROR_SHARE,
        ),
        p.stat(
            "Slowest 1% of samples",
            "99th percentile of the time from a sample's arrival to its verdict, over 5 minutes.",
            [
                p.target(
                    "histogram_quantile(0.99, sum by (le) "
                    "(rate(driftmon_processing_seconds_bucket[5m])))",
                    "p99",
                    instant=True,
                )
            ],
            p.SECONDS,
            p.at(16, y, 4, 4),
            levels=p.LATENCY,
        ),
        p.stat(
            "Seconds since the last sample",
            "Time since any worker last received a sample.",
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


def _flow(y: int) -> list:
    return [
        p.timeseries(
            "Samples in and verdicts out per worker",
            "Messages read from the samples topic and verdicts sent on, per worker. Out below "
            "in for long means samples pile up or go to the dead-letter topic.",
            [
                p.target(
                    f"sum by (instance) (rate(driftmon_samples_received_total{RI}))",
                    "in: {{instance}}",
                ),
                p.target(
                    f"sum by (instance) (rate(driftmon_verdicts_sent_total{RI}))",
                    "out: {{instance}}",
                ),
            ],
            p.PER_SECOND,
            p.at(0, y, 12, 8),
        ),
        p.timeseries(
            "Consumer lag per partition",
            "Messages behind the end of each topic partition a worker reads.",
            [
                p.target(
                    "max by (topic, partition) (driftmon_consumer_lag)",
                    "{{topic}} #{{partition}}",
                )
            ],
            p.MESSAGES,
            p.at(12, y, 12, 8),
            levels=p.LAG,
        ),
        p.timeseries(
            "Processing latency",
            "Time from a sample's arrival on the samples topic to its verdict: median, 95th "
            "and 99th percentile.",
            [
                p.target(_quantile(0.5), "p50"),
                p.target(_quantile(0.95), "p95"),
                p.target(_quantile(0.99), "p99"),
            ],
            p.SECONDS,
            p.at(0, y + 8, 12, 8),
            levels=p.LATENCY,
        ),
        p.bargauge(
            "Processing latency distribution",
            "Samples of the last 5 minutes that got their verdict within each time (cumulative).",
            [
                p.target(
                    "sum by (le) (increase(driftmon_processing_seconds_bucket[5m]))",
                    "within {{le}} s",
                    instant=True,
                )
            ],
            p.COUNT,
            p.at(12, y + 8, 12, 8),
        ),
    ]


def _failures(y: int) -> list:
    return [
        p.timeseries(
            "Dead letters per second by reason",
            "Messages that could not become a sample or verdict, by why. None is dropped: each "
            "sits on the dead-letter topic with its original bytes.",
            [p.target(f"sum by (reason) (rate(driftmon_dlq_messages_total{RI}))", "{{reason}}")],
            p.PER_SECOND,
            p.at(0, y, 8, 8),
        ),
        p.timeseries(
            "Classifier latency (95th percentile)",
            "Time each classifier takes on one sample; the slowest 5% take longer.",
            [
                p.target(
                    "histogram_quantile(0.95, sum by (le, classifier) "
                    f"(rate(driftmon_classifier_seconds_bucket{RI})))",
                    "{{classifier}}",
                )
            ],
            p.SECONDS,
            p.at(8, y, 8, 8),
        ),
        p.timeseries(
            "Classifier error share",
            "Share of each classifier's calls that failed; those samples are left unclassified.",
            [p.target("classifier:driftmon_classifier_errors:ratio_rate5m", "{{classifier}}")],
            p.SHARE,
            p.at(16, y, 8, 8),
            levels=p.ERROR_SHARE,
        ),
        p.timeseries(
            "Store write errors per second",
            "Failed writes to the SQL store by what was being written. They are retried.",
            [p.target(f"sum by (kind) (rate(driftmon_store_errors_total{RI}))", "{{kind}}")],
            p.PER_SECOND,
            p.at(0, y + 8, 8, 8),
        ),
        p.timeseries(
            "Memory per worker",
            "Resident memory of each worker process.",
            [p.target(f"process_resident_memory_bytes{{{WORKER}}}", "{{instance}}")],
            p.BYTES,
            p.at(8, y + 8, 8, 8),
        ),
        p.timeseries(
            "CPU per worker",
            "CPU used by each worker process; 100% is one core.",
            [p.target(f"rate(process_cpu_seconds_total{{{WORKER}}}{RI})", "{{instance}}")],
            p.CORES,
            p.at(16, y + 8, 8, 8),
        ),
    ]


def build(settings: p.Settings) -> g.Dashboard:
    return p.dashboard(
        UID,
        "Pipeline health",
        "Is driftmon keeping up: throughput, lag, latency, dead letters, classifiers, store, "
        "memory and CPU.",
        [*_stats(0), *_flow(4), *_failures(20)],
        links=[
            g.DashboardLink(
                title="On-call overview", type="link", uri="/d/driftmon-overview/on-call-overview"
            ),
            g.DashboardLink(
                title="Runbooks", type="link", uri=settings.runbook_base_url, targetBlank=True
            ),
        ],
    )
