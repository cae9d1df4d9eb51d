"""Pipeline-health metrics: each one moves when the thing it reports happens (fresh registry)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.app import Pipeline
from monitor.classify import ClassifierStack
from monitor.config import parse_config
from monitor.metrics import Metrics, consumer_lag
from monitor.rules import RulePromptHarm, RuleRefusal
from monitor.simulate import TrafficSimulator
from monitor.store import StoreError
from monitor.testing import ListStore

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


class BrokenViolation:
    name = "broken-violation"
    version = "0"

    def violations(self, response: str) -> dict[str, float]:
        raise RuntimeError("backend down")


class DownStore(ListStore):
    def add_counts(self, *args: object, **kwargs: object) -> None:
        raise StoreError("database is down")


def pipeline(stack: ClassifierStack | None = None, store: type = ListStore) -> Pipeline:
    cfg = parse_config({"simulator": {"seed": 3, "bad_fraction": 0.0}})
    return Pipeline(cfg, stack=stack, store_factory=store)


def feed(p: Pipeline, n: int) -> None:
    for message in TrafficSimulator(p.cfg.simulator, START).take(n):
        p.detect(p.classify(message.value))


def names_of(p: Pipeline) -> list[str]:
    """The default stack's classifier names (refusal and violation: rules, then learned)."""
    names = [ident.split("@")[0] for ident in p.classifiers.classifiers.values()]
    expect = ["rules-refusal+learned-refusal", "rules-prompt-harm"]
    assert names == [*expect, "rules-violation+learned-violation"]
    return names


def value(p: Pipeline, name: str, **labels: str) -> float | None:
    return p.metrics.registry.get_sample_value(name, labels)


def test_each_classifier_is_timed_under_its_own_name() -> None:
    p = pipeline()
    feed(p, 50)
    for name in names_of(p):
        assert value(p, "driftmon_classifier_seconds_count", classifier=name) == 50, name
        assert value(p, "driftmon_classifier_seconds_sum", classifier=name) > 0
        assert value(p, "driftmon_classifier_errors_total", classifier=name) == 0


def test_a_failing_classifier_is_counted_and_not_timed() -> None:
    stack = ClassifierStack(RuleRefusal(), RulePromptHarm(), BrokenViolation())
    p = pipeline(stack)
    feed(p, 20)
    assert value(p, "driftmon_classifier_errors_total", classifier="broken-violation") == 20
    assert value(p, "driftmon_classifier_seconds_count", classifier="broken-violation") is None
    assert value(p, "driftmon_unclassified_total", reason="classifier_error:broken-violation") == 20


def test_last_sample_time_is_the_receipt_time() -> None:
    p = pipeline()
    before = datetime.now(UTC).timestamp()
    feed(p, 1)
    after = datetime.now(UTC).timestamp()
    assert before <= value(p, "driftmon_last_sample_timestamp_seconds") <= after


def test_store_up_follows_the_last_write() -> None:
    p = pipeline(store=DownStore)
    feed(p, 10)
    unwritten, error = p.write(p.take_writes())
    assert error is not None and unwritten.counts
    assert value(p, "driftmon_store_up") == 0
    p._store = ListStore()
    unwritten, error = p.write(unwritten)
    assert error is None
    assert value(p, "driftmon_store_up") == 1


def test_an_empty_write_leaves_store_up_alone() -> None:
    p = pipeline(store=DownStore)
    feed(p, 10)
    p.write(p.take_writes())
    p.write(p.take_writes(states=False))  # nothing owed: no store operation happened
    assert value(p, "driftmon_store_up") == 0


def test_consumer_lag_counts_from_the_committed_offset_else_the_read_position() -> None:
    ends = {("samples", 0): 120, ("samples", 1): 80, ("verdicts", 0): 5, ("dlq", 0): 4}
    committed = {("samples", 0): 100, ("verdicts", 0): 5}
    read = {("samples", 0): 119, ("samples", 1): 30}
    lag = consumer_lag(ends, committed, read)
    assert lag == {("samples", 0): 20, ("samples", 1): 50, ("verdicts", 0): 0, ("dlq", 0): 4}


def test_lag_series_of_revoked_partitions_disappear() -> None:
    m = Metrics()
    m.lag({("samples", 0): 7, ("samples", 1): 3})
    m.lag({("samples", 1): 4})
    get = m.registry.get_sample_value
    assert get("driftmon_consumer_lag", {"topic": "samples", "partition": "0"}) is None
    assert get("driftmon_consumer_lag", {"topic": "samples", "partition": "1"}) == 4


@pytest.mark.parametrize(
    "name", ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"]
)
def test_process_metrics_are_on_the_worker_registry(name: str) -> None:
    got = Metrics().registry.get_sample_value(name)
    assert got is not None and got > 0


def test_sent_verdicts_and_processing_latency_are_exported_by_name() -> None:
    m = Metrics()
    m.verdicts_sent.inc()
    m.processing.observe(0.2)
    assert m.registry.get_sample_value("driftmon_verdicts_sent_total") == 1
    assert m.registry.get_sample_value("driftmon_processing_seconds_bucket", {"le": "0.25"}) == 1
    assert m.registry.get_sample_value("driftmon_processing_seconds_bucket", {"le": "0.1"}) == 0


def test_fast_histogram_matches_prometheus_bucket_semantics() -> None:
    m = Metrics()
    for seconds in (1e-4, 1e-4, 3e-4, 2.0):
        m.classifier_time("c", seconds)
    get = m.registry.get_sample_value

    def bucket(le: str) -> float | None:
        return get("driftmon_classifier_seconds_bucket", {"classifier": "c", "le": le})

    assert bucket("0.0001") == 2  # a value on a bound is inside it (le = "less or equal")
    assert bucket("0.0005") == 3
    assert bucket("1.0") == 3
    assert bucket("+Inf") == 4
    assert get("driftmon_classifier_seconds_count", {"classifier": "c"}) == 4
    assert get("driftmon_classifier_seconds_sum", {"classifier": "c"}) == pytest.approx(2.0005)


def test_known_label_values_start_at_zero_so_rates_read_zero_not_no_data() -> None:
    p = pipeline()
    assert value(p, "driftmon_store_errors_total", kind="events") == 0
    assert value(p, "driftmon_dlq_messages_total", reason="not_json") == 0
    assert value(p, "driftmon_dlq_messages_total", reason="bad_verdict") == 0
    assert value(p, "driftmon_unclassified_total", reason="no_assistant_response") == 0
    for name in names_of(p):
        assert value(p, "driftmon_classifier_errors_total", classifier=name) == 0
        assert value(p, "driftmon_unclassified_total", reason=f"classifier_error:{name}") == 0


def test_detector_evidence_is_exported_for_detectors_with_a_threshold() -> None:
    def exported(detectors: dict) -> list[float]:
        cfg = parse_config({"simulator": {"seed": 3, "bad_fraction": 0.0}, "detectors": detectors})
        p = Pipeline(cfg, store_factory=ListStore)
        feed(p, 1500)
        metrics = p.metrics.registry.collect()
        family = next(m for m in metrics if m.name == "driftmon_detector_threshold_ratio")
        return [s.value for s in family.samples]

    calibrated = exported({"name": "bernoulli_cusum", "params": {"min_events": 20, "warmup": 100}})
    assert calibrated and all(0 <= v < 1 for v in calibrated), "watching, no alarm: below 1"
    assert exported({"name": "adwin"}) == [], "ADWIN reports no statistic or threshold"
