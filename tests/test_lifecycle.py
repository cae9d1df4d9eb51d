"""The drift-event lifecycle in the store: timeline, open events, acknowledge and resolve.

Every test that takes ``store`` runs on SQLite and on a real PostgreSQL server (marked
``integration``), and the same checks run against the in-memory ListStore so the fake keeps
the real store's contract.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from detectors import registry
from detectors.rate import Rate, RateWatch
from monitor import migrate
from monitor.app import Pipeline
from monitor.config import Detectors, parse_config
from monitor.detect import DriftDetection
from monitor.lifecycle import EventCollector, Recovery, Snapshot, since_change, stream_rates
from monitor.respond import acknowledge, resolve
from monitor.schema import DriftEvent, Interval, RefusalScore, Reversal, Verdict
from monitor.silences import Alertmanager
from monitor.store import Store, StoreError, UnknownEventError
from monitor.testing import ListStore
from monitor.tracking import Tracker
from monitor.webapi import Step

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.integration),
        "list",
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Store migrated to head on each backend, and the in-memory fake."""
    if request.param == "list":
        yield ListStore()
        return
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    migrate.upgrade(url)
    store = Store(url, connect_timeout=3)
    yield store
    store.close()


def event(event_id: str = "e1", **changes: Any) -> DriftEvent:
    fields: dict[str, Any] = {
        "id": event_id,
        "segment": {"model": "atlas-2", "surface": "chat", "locale": "en-US"},
        "metric": "refusal",
        "direction": "up",
        "detector": "adwin",
        "change_offset": 100,
        "change_ts": T0 - timedelta(minutes=5),
        "detected_ts": T0,
        "before": Interval(rate=0.04, low=0.03, high=0.05, n=2000, k=80),
        "after": Interval(rate=0.3, low=0.25, high=0.35, n=300, k=90),
        "severity": "critical",
    }
    return DriftEvent(**(fields | changes))


def actions(store: Any, event_id: str = "e1") -> list[tuple[str, str | None]]:
    return [(e.action, e.actor) for e in store.timeline([event_id])]


def test_storing_an_event_records_its_detection_once(store: Any) -> None:
    assert store.add_events([event("e1"), event("e2", detected_ts=T0 + timedelta(seconds=1))])
    store.add_events([event("e1")])  # re-delivered: no second "detected"
    entries = store.timeline()
    assert [(e.event_id, e.action, e.actor) for e in entries] == [
        ("e1", "detected", "adwin"),
        ("e2", "detected", "adwin"),
    ]
    assert entries[0].at == T0
    assert entries[0].at.tzinfo is not None


def test_acknowledge_sets_status_and_appends_to_the_timeline(store: Any) -> None:
    store.add_events([event()])
    done = store.acknowledge("e1", by="alice", note="looking", at=T0 + timedelta(minutes=3))
    assert (done.before, done.after, done.changed) == ("open", "acknowledged", True)
    assert [e.status for e in store.events()] == ["acknowledged"]
    last = store.timeline(["e1"])[-1]
    assert (last.action, last.actor, last.note) == ("acknowledged", "alice", "looking")
    assert last.at == T0 + timedelta(minutes=3)


def test_acknowledging_twice_records_one_ack(store: Any) -> None:
    store.add_events([event()])
    store.acknowledge("e1", by="alice")
    again = store.acknowledge("e1", by="bob", note="me too")
    assert not again.changed
    assert again.after == "acknowledged"
    assert actions(store) == [("detected", "adwin"), ("acknowledged", "alice")]


def test_resolve_from_open_or_acknowledged_and_only_once(store: Any) -> None:
    store.add_events([event("e1"), event("e2")])
    store.acknowledge("e1", by="alice", at=T0 + timedelta(minutes=1))
    assert store.resolve("e1", by="alice", at=T0 + timedelta(minutes=2)).changed
    auto = store.resolve("e2", by="driftmon", note="rate back", detail={"rate": 0.04})
    assert (auto.before, auto.after) == ("open", "resolved")
    assert not store.resolve("e2", by="driftmon").changed
    assert actions(store, "e1") == [
        ("detected", "adwin"),
        ("acknowledged", "alice"),
        ("resolved", "alice"),
    ]
    assert store.timeline(["e2"])[-1].detail == {"rate": 0.04}
    assert not store.acknowledge("e1", by="bob").changed  # acking a resolved event: no-op
    assert store.open_events() == []


def test_unknown_event_is_a_clear_error(store: Any) -> None:
    with pytest.raises(UnknownEventError, match="'nope'"):
        store.acknowledge("nope", by="alice")
    with pytest.raises(UnknownEventError, match="'nope'"):
        store.resolve("nope", by="alice")
    assert store.timeline() == []


def test_open_events_are_the_unresolved_ones(store: Any) -> None:
    store.add_events([event(f"e{i}", detected_ts=T0 + timedelta(seconds=i)) for i in range(3)])
    store.acknowledge("e1", by="alice")
    store.resolve("e2", by="alice")
    assert [(e.id, e.status) for e in store.open_events()] == [
        ("e0", "open"),
        ("e1", "acknowledged"),
    ]


def test_timeline_filters_by_event_and_time(store: Any) -> None:
    store.add_events([event("e1"), event("e2", detected_ts=T0 + timedelta(hours=1))])
    store.add_timeline("e1", "notified", T0 + timedelta(minutes=1), "alertmanager")
    store.add_timeline("ghost", "notified", T0 + timedelta(minutes=2))  # no FK on purpose
    assert [e.event_id for e in store.timeline(["e1", "ghost"])] == ["e1", "e1", "ghost"]
    assert [e.event_id for e in store.timeline(since=T0 + timedelta(minutes=2))] == [
        "ghost",
        "e2",
    ]
    assert store.timeline([]) == []


def test_add_timeline_once_skips_repeats_of_the_same_step(store: Any) -> None:
    store.add_events([event()])
    team_a = {"receiver": "team-a"}
    assert store.add_timeline("e1", "notified", T0, "alertmanager", detail=team_a, once=True)
    assert not store.add_timeline("e1", "notified", T0, "alertmanager", detail=team_a, once=True)
    other = {"receiver": "team-a-secondary"}
    assert store.add_timeline("e1", "notified", T0, "alertmanager", detail=other, once=True)
    assert store.add_timeline("e1", "notified", T0, "alertmanager", detail=team_a)  # not once
    assert [e.detail for e in store.timeline(["e1"]) if e.action == "notified"] == [
        team_a,
        other,
        team_a,
    ]


def test_timeline_refuses_unknown_actions_and_naive_times(store: Any) -> None:
    with pytest.raises(ValueError, match="action"):
        store.add_timeline("e1", "closed", T0)
    with pytest.raises(ValueError, match="timezone"):
        store.add_timeline("e1", "notified", datetime(2026, 3, 2, 9))


def test_regrade_raises_an_open_event_once_and_never_lowers_it(store: Any) -> None:
    store.add_events([event("e1", severity="warning"), event("e2", severity="warning")])
    now = Interval(rate=0.31, low=0.26, high=0.36, n=300, k=93)
    at = T0 + timedelta(minutes=3)
    assert store.regrade("e1", "critical", now, at, "warning → critical", {"n": 300})
    got = store.event("e1")
    assert (got.severity, got.after, got.status, got.reopened_ts) == ("critical", now, "open", None)
    regraded = store.timeline(["e1"])[-1]
    assert (regraded.action, regraded.actor, regraded.at) == ("regraded", "driftmon", at)
    assert (regraded.note, regraded.detail) == ("warning → critical", {"n": 300})
    assert not store.regrade("e1", "critical", now, at, "again")  # another worker was first
    assert not store.regrade("e1", "warning", now, at, "lower")
    store.resolve("e2", "ana")
    assert not store.regrade("e2", "critical", now, at, "resolved")
    assert store.event("e2").severity == "warning"
    assert actions(store) == [("detected", "adwin"), ("regraded", "driftmon")]


def test_a_regrade_past_an_acknowledgement_reopens_the_event(store: Any) -> None:
    store.add_events([event("e1", severity="warning")])
    store.acknowledge("e1", "ana", at=T0 + timedelta(minutes=1))
    now = Interval(rate=0.31, low=0.26, high=0.36, n=300, k=93)
    at = T0 + timedelta(minutes=3)
    assert store.regrade("e1", "critical", now, at, "warning → critical", {"n": 300})
    got = store.event("e1")
    assert (got.status, got.severity, got.reopened_ts) == ("open", "critical", at)
    step = store.timeline(["e1"])[-1]
    assert step.note == (
        "warning → critical; reopened: its acknowledgement covered the milder severity"
    )
    assert step.detail == {"n": 300, "reopened": True}
    assert store.acknowledge("e1", "bob", at=at + timedelta(minutes=1)).changed
    assert store.event("e1").reopened_ts == at  # the acknowledgement keeps when it reopened
    assert actions(store) == [
        ("detected", "adwin"),
        ("acknowledged", "ana"),
        ("regraded", "driftmon"),
        ("acknowledged", "bob"),
    ]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("pg", marks=pytest.mark.integration)])
def test_concurrent_acks_record_one(backend: str, request: pytest.FixtureRequest) -> None:
    """The conditional UPDATE serialises racing acks: exactly one wins, on both backends."""
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    migrate.upgrade(url)
    stores = [Store(url, connect_timeout=3) for _ in range(4)]
    stores[0].add_events([event()])
    results: list[bool] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def ack(s: Store, who: str) -> None:
        start.wait()
        try:
            results.append(s.acknowledge("e1", by=who).changed)
        except StoreError as exc:  # SQLite may refuse a concurrent writer: that is not a win
            errors.append(exc)

    threads = [threading.Thread(target=ack, args=(s, f"p{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert results.count(True) == 1, (results, errors)
        assert [a for a, _ in actions(stores[0])].count("acknowledged") == 1
    finally:
        for s in stores:
            s.close()


# --- recovery (pure) -----------------------------------------------------------------------


def test_recovery_needs_the_rate_back_for_the_whole_hold() -> None:
    e = event()  # before: 3% .. 5%
    r = Recovery(hold=60, min_samples=50)
    back, out = Rate.of(4, 100), Rate.of(30, 100)
    assert r.update([e], {"e1": back}, now=0.0) == []
    assert r.update([e], {"e1": back}, now=59.0) == []
    assert r.update([e], {"e1": out}, now=61.0) == []  # out again: starts over
    assert r.update([e], {"e1": back}, now=62.0) == []
    done = r.update([e], {"e1": back}, now=122.0)
    assert [(d.event.id, d.since) for d in done] == [("e1", 62.0)]
    assert "back within its pre-change interval [3.00%, 5.00%]" in done[0].note
    assert done[0].detail == {"rate": 0.04, "n": 100, "back_since": 62.0}


def test_recovery_ignores_unknown_and_thin_rates_and_forgets_closed_events() -> None:
    e = event()
    r = Recovery(hold=0, min_samples=50)
    assert r.update([e], {}, now=0.0) == []
    assert r.update([e], {"e1": Rate.of(2, 49)}, now=1.0) == []  # too few values since
    assert len(r.update([e], {"e1": Rate.of(4, 100)}, now=2.0)) == 1
    r.update([], {}, now=3.0)
    assert r._back_since == {}
    with pytest.raises(ValueError, match="hold"):
        Recovery(hold=-1)
    with pytest.raises(ValueError, match="min_samples"):
        Recovery(hold=1, min_samples=0)


def test_since_change_measures_only_values_after_the_change() -> None:
    watch = RateWatch(lambda: registry.build("adwin", {"delta": 0.002}), warmup=10)
    for i in range(300):
        watch.update(i >= 200, ts=float(i))  # 0s, then 1s from offset 200
    assert since_change(watch, 200) == Rate.of(100, 100)
    assert since_change(watch, 250, window=20) == Rate.of(20, 20)
    assert since_change(watch, 300) is None


def test_stream_rates_finds_each_events_stream() -> None:
    detection = DriftDetection(Detectors(warmup=10, min_samples=5))
    verdict = Verdict(
        sample_id="s",
        ts=T0,
        segment={"model": "atlas-2", "surface": "chat", "locale": "en-US", "policy_area": "none"},
        refusal=RefusalScore(label="full_refusal", score=0.9),
    )
    for _ in range(20):
        detection.observe(verdict)
    watches = {key: s.watch for key, s in detection.streams.items()}
    rates = stream_rates([event("e1", change_offset=10), event("e2", metric="violation")], watches)
    assert rates == {"e1": Rate.of(10, 10)}  # e2's stream (with a policy area) is not here


# --- metrics of open events ----------------------------------------------------------------


def scrape_value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_event_collector_exports_each_open_event() -> None:
    registry = CollectorRegistry()
    now = [T0.timestamp() + 90]
    collector = EventCollector(lambda: now[0])
    registry.register(collector)
    e = event(example_ids=["s-1", "s-2", "s-3", "s-4"])
    collector.snapshot = Snapshot([(e, "cyber")])
    open_labels = {
        "event_id": "e1",
        "model": "atlas-2",
        "surface": "chat",
        "locale": "en-US",
        "policy_area": "all",
        "metric": "refusal",
        "direction": "up",
        "severity": "critical",
        "team": "cyber",
        "status": "open",
    }
    assert scrape_value(registry, "driftmon_drift_event_open", **open_labels) == 1.0
    rate = "driftmon_drift_event_rate"
    assert scrape_value(registry, rate, event_id="e1", side="before", bound="low") == 0.03
    assert scrape_value(registry, rate, event_id="e1", side="after", bound="rate") == 0.3
    assert (
        scrape_value(registry, "driftmon_drift_event_samples", event_id="e1", side="after") == 300
    )
    change = scrape_value(registry, "driftmon_drift_event_change_timestamp_seconds", event_id="e1")
    assert change == (T0 - timedelta(minutes=5)).timestamp()
    info = "driftmon_drift_event_examples_info"
    assert scrape_value(registry, info, event_id="e1", examples="s-1,s-2,s-3") == 1.0
    assert scrape_value(registry, rate, event_id="e1", side="earlier", bound="rate") is None
    unacked = "driftmon_drift_event_unacknowledged_seconds"
    assert scrape_value(registry, unacked, event_id="e1", team="cyber") == 90.0
    now[0] += 30  # the age grows between refreshes
    assert scrape_value(registry, unacked, event_id="e1", team="cyber") == 120.0

    acked = e.model_copy(update={"status": "acknowledged"})
    collector.snapshot = Snapshot([(acked, "cyber")])
    assert scrape_value(registry, unacked, event_id="e1", team="cyber") is None
    acked_labels = open_labels | {"status": "acknowledged"}
    assert scrape_value(registry, "driftmon_drift_event_open", **acked_labels) == 1.0

    earlier = Interval(rate=0.3, low=0.28, high=0.32, n=2000, k=600)
    back = e.model_copy(
        update={"reverses": Reversal(event_id="e0", before=earlier, detected_ts=T0)}
    )
    collector.snapshot = Snapshot([(back, "cyber")])  # a rollback of e0: what it goes back on
    reverses = "driftmon_drift_event_reverses_info"
    assert scrape_value(registry, reverses, event_id="e1", reverses="e0") == 1.0
    assert scrape_value(registry, rate, event_id="e1", side="earlier", bound="high") == 0.32
    samples = "driftmon_drift_event_samples"
    assert scrape_value(registry, samples, event_id="e1", side="earlier") == 2000

    collector.snapshot = Snapshot()  # resolved: every series of the event is gone
    names = [s.name for m in registry.collect() for s in m.samples]
    assert not [n for n in names if n.startswith("driftmon_drift_event")]


# --- the worker's tracker: refresh from the store, auto-resolve, webhook steps ---------------


def tracker(cfg: dict[str, Any] | None = None) -> tuple[Tracker, ListStore, list[float]]:
    config = parse_config({"lifecycle": {"resolve_after": "60s"}} | (cfg or {}))
    p = Pipeline(config, store_factory=ListStore)
    now = [T0.timestamp()]
    return Tracker(p, clock=lambda: now[0]), p.store, now  # type: ignore[return-value]


def open_series(t: Tracker) -> dict[str, str]:
    registry = t.p.metrics.registry
    return {
        s.labels["event_id"]: s.labels["status"]
        for m in registry.collect()
        for s in m.samples
        if s.name == "driftmon_drift_event_open"
    }


def test_an_ack_made_elsewhere_shows_after_one_refresh_and_resolved_events_vanish() -> None:
    t, store, _ = tracker()
    store.add_events([event("e1"), event("e2")])
    asyncio.run(t.refresh())
    assert open_series(t) == {"e1": "open", "e2": "open"}
    store.acknowledge("e1", by="alice")  # e.g. `driftmon ack` on another machine
    store.resolve("e2", by="bob")
    assert open_series(t) == {"e1": "open", "e2": "open"}  # the store is read on refresh
    asyncio.run(t.refresh())
    assert open_series(t) == {"e1": "acknowledged"}


def test_the_team_label_comes_from_the_owners_config() -> None:
    hook = {"primary": {"webhook": {"url": "http://x"}}, "escalation": {"enabled": False}}
    owners = {"default": "oncall", "teams": {"oncall": hook, "cyber": hook}}
    t, store, _ = tracker({"owners": owners | {"policy_areas": {"cyber": "cyber"}}})
    cyber = {"model": "atlas-2", "surface": "chat", "locale": "en-US", "policy_area": "cyber"}
    store.add_events([event("e1", metric="violation", segment=cyber), event("e2")])
    asyncio.run(t.refresh())
    teams = {
        s.labels["event_id"]: s.labels["team"]
        for m in t.p.metrics.registry.collect()
        for s in m.samples
        if s.name == "driftmon_drift_event_open"
    }
    assert teams == {"e1": "cyber", "e2": "oncall"}


def test_a_recovered_stream_resolves_its_event_after_the_hold() -> None:
    t, store, now = tracker({"detectors": {"warmup": 10, "min_samples": 20}})
    segment = {"model": "atlas-2", "surface": "chat", "locale": "en-US"}
    verdict = Verdict(
        sample_id="s",
        ts=T0,
        segment={**segment, "policy_area": "none"},
        refusal=RefusalScore(label="compliance", score=0.9),
    )
    for _ in range(100):
        t.p.detect(verdict)  # 0% refusals since offset 0: within the event's 0% .. 5%
    before = Interval(rate=0.02, low=0.0, high=0.05, n=2000, k=40)
    store.add_events([event("e1", segment=segment, change_offset=50, before=before)])
    asyncio.run(t.refresh())
    assert open_series(t) == {"e1": "open"}  # back, but not for 60 s yet
    now[0] += 61
    asyncio.run(t.refresh())
    assert open_series(t) == {}
    resolved = store.timeline(["e1"])[-1]
    assert (resolved.action, resolved.actor) == ("resolved", "driftmon")
    assert resolved.note is not None and resolved.note.startswith("rate back within")
    assert store.event("e1").status == "resolved"


SEGMENT = {"model": "atlas-2", "surface": "chat", "locale": "en-US"}


def tripled(t: Tracker, store: ListStore) -> None:
    """A refusal rise from 10% to 30%, caught on 60 values: too few for critical."""
    before = Interval(rate=0.1, low=0.087, high=0.114, n=2000, k=200)
    after = Interval(rate=0.3, low=0.19, high=0.44, n=60, k=18)
    store.add_events([event("e1", segment=SEGMENT, severity="warning", after=after,
                            change_offset=100, before=before)])  # fmt: skip


def feed(t: Tracker, n: int, refused_every: int) -> None:
    for i in range(n):
        label = "full_refusal" if i % refused_every == 0 else "compliance"
        t.p.detect(
            Verdict(
                sample_id=f"s{i}",
                ts=T0,
                segment={**SEGMENT, "policy_area": "none"},
                refusal=RefusalScore(label=label, score=0.9),
            )
        )


def unacknowledged(t: Tracker) -> dict[str, float]:
    return {
        s.labels["event_id"]: s.value
        for m in t.p.metrics.registry.collect()
        for s in m.samples
        if s.name == "driftmon_drift_event_unacknowledged_seconds"
    }


def regrades(t: Tracker) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["from"], s.labels["to"], s.labels["reopened"]): s.value
        for m in t.p.metrics.registry.collect()
        for s in m.samples
        if s.name == "driftmon_drift_regrades_total"
    }


def test_an_event_caught_on_few_values_is_raised_as_they_accrue() -> None:
    t, store, now = tracker({"detectors": {"warmup": 10, "min_samples": 20}})
    tripled(t, store)
    feed(t, 100 + 150, 3)  # 150 values since the change point, 1 in 3: too few for critical
    asyncio.run(t.refresh())
    assert store.event("e1").severity == "warning"
    feed(t, 150, 3)  # 300 values since the change: critical
    asyncio.run(t.refresh())
    raised = store.event("e1")
    assert raised.severity == "critical" and raised.after.n == 300
    severities = {s.labels["severity"] for s in t.p.metrics.registry.collect()
                  for s in s.samples if s.name == "driftmon_drift_event_open"}  # fmt: skip
    assert severities == {"critical"}
    step = store.timeline(["e1"])[-1]
    assert (step.action, step.actor) == ("regraded", "driftmon")
    assert step.note.startswith("warning → critical: 33.33% over 300 values since the change")
    assert step.detail["detected_after"] == {"rate": 0.3, "n": 60, "k": 18}
    now[0] += 60
    asyncio.run(t.refresh())
    assert len(store.timeline(["e1"])) == 2  # detected, regraded: once
    assert regrades(t) == {("warning", "critical", "false"): 1.0}


def test_a_raise_past_an_acknowledgement_pages_again_and_escalates_from_the_raise() -> None:
    t, store, now = tracker({"detectors": {"warmup": 10, "min_samples": 20}})
    tripled(t, store)
    feed(t, 100 + 150, 3)
    asyncio.run(t.refresh())
    am, posted = alertmanager()
    acknowledge(store, "e1", "ana", None, T0, timedelta(hours=4), am)
    assert posted[0]["matchers"][1]["value"] == "warning|info"  # what the ack covers
    asyncio.run(t.refresh())
    assert open_series(t) == {"e1": "acknowledged"} and unacknowledged(t) == {}
    now[0] += 600
    feed(t, 150, 3)  # 300 values since the change: critical, past what ana acknowledged
    asyncio.run(t.refresh())
    assert open_series(t) == {"e1": "open"}
    reopened_at = now[0]
    now[0] += 30
    assert unacknowledged(t) == {"e1": 30.0}  # from the raise, not from detection (630 s)
    assert [
        (s.labels["event_id"], s.value)
        for m in t.p.metrics.registry.collect()
        for s in m.samples
        if s.name == "driftmon_drift_event_reopened_timestamp_seconds"
    ] == [("e1", reopened_at)]  # the page's "reopened:" line
    raised = store.event("e1")
    assert (raised.status, raised.severity) == ("open", "critical")
    step = store.timeline(["e1"])[-1]
    assert step.action == "regraded" and step.detail["reopened"] is True
    assert regrades(t) == {("warning", "critical", "true"): 1.0}
    later = datetime.fromtimestamp(now[0], UTC)
    again = acknowledge(store, "e1", "bob", None, later, timedelta(hours=4), am)
    assert again.transition.changed
    assert posted[1]["matchers"][1]["value"] == "critical|warning|info"
    assert store.timeline(["e1"])[-1].detail["severity"] == "critical"


def test_auto_resolve_can_be_switched_off() -> None:
    t, store, now = tracker({"lifecycle": {"resolve_after": "1s", "auto_resolve": False}})
    t.recovery = Recovery(hold=0, min_samples=1)
    store.add_events([event("e1")])
    now[0] += 3600
    asyncio.run(t.refresh())
    assert open_series(t) == {"e1": "open"}


def test_an_info_event_resolves_itself_after_a_day_open() -> None:
    t, store, now = tracker()
    replayed = T0 - timedelta(days=30)  # samples' time: old traffic replayed today
    store.add_events(
        [event("e1", severity="info", detected_ts=replayed), event("e2", severity="warning")]
    )
    asyncio.run(t.refresh())  # first seen open now, whatever the samples' time
    now[0] += 23 * 3600
    asyncio.run(t.refresh())
    assert open_series(t) == {"e1": "open", "e2": "open"}
    now[0] += 3600
    asyncio.run(t.refresh())
    assert open_series(t) == {"e2": "open"}  # a warning stays until it is back or resolved
    closed = store.timeline(["e1"])[-1]
    assert (closed.action, closed.actor) == ("resolved", "driftmon")
    assert closed.detail == {"open_seconds": 86400.0}
    assert closed.note == "info event closed after 24 h open: recorded only"

    t, store, now = tracker({"lifecycle": {"close_info_after": None}})
    store.add_events([event("e1", severity="info")])
    for _ in range(3):
        asyncio.run(t.refresh())
        now[0] += 30 * 86400
    assert open_series(t) == {"e1": "open"}


def test_webhook_steps_are_written_once_and_only_for_stored_events() -> None:
    t, store, _ = tracker()
    store.add_events([event("e1")])
    step = Step("e1", "notified", T0, "alertmanager", {"receiver": "cyber-primary"})
    ghost = Step("ghost", "notified", T0, "alertmanager", {"receiver": "cyber-primary"})
    assert t.record([step, ghost]) == 1
    assert t.record([step]) == 0
    assert [e.action for e in store.timeline()] == ["detected", "notified"]


# --- acknowledge and resolve, with and without Alertmanager --------------------------------


def alertmanager(status: int = 200) -> tuple[Alertmanager, list[dict[str, Any]]]:
    posted: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(status, json={"silenceID": f"sil-{len(posted)}"})

    return Alertmanager("http://am", transport=httpx.MockTransport(answer)), posted


def test_ack_silences_the_events_alerts_and_records_the_silence(store: Any) -> None:
    store.add_events([event()])
    am, posted = alertmanager()
    done = acknowledge(store, "e1", "alice", "on it", T0, timedelta(hours=4), am)
    assert done.transition.changed and done.silence is not None
    assert done.silence.ends_at == T0 + timedelta(hours=4)
    assert posted[0]["comment"] == "acknowledged in driftmon: on it"
    assert [m["name"] for m in posted[0]["matchers"]] == ["event_id", "severity"]
    ack = store.timeline(["e1"])[-1]
    assert ack.detail == {
        "silence_id": "sil-1",
        "silence_ends_at": (T0 + timedelta(hours=4)).isoformat(),
        "severity": "critical",
    }
    assert done.as_json()["silence"] == {
        "id": "sil-1",
        "ends_at": (T0 + timedelta(hours=4)).isoformat(),
        "severity": "critical",
    }
    assert done.describe("acknowledged").endswith("(silence sil-1) while it stays critical")
    again = acknowledge(store, "e1", "bob", None, T0, timedelta(hours=4), am)
    assert not again.transition.changed and len(posted) == 1  # no second silence
    assert "already acknowledged" in again.describe("acknowledged")


def test_an_ack_racing_a_regrade_acknowledges_the_raised_severity(store: Any) -> None:
    store.add_events([event(severity="warning")])
    stale = store.event("e1")
    assert not store.acknowledge("e1", "ana", severity="critical").changed  # not what it is
    store.regrade("e1", "critical", event().after, T0, "warning → critical")
    reads = [stale]  # the ack read the event just before the regrade wrote
    real = store.event
    store.event = lambda event_id: reads.pop() if reads else real(event_id)
    am, posted = alertmanager()
    done = acknowledge(store, "e1", "ana", None, T0, timedelta(hours=1), am)
    assert done.transition.changed and store.event("e1").status == "acknowledged"
    assert [p["matchers"][1]["value"] for p in posted] == ["warning|info", "critical|warning|info"]
    assert store.timeline(["e1"])[-1].detail["severity"] == "critical"


def test_ack_lands_in_the_store_when_the_silence_fails(store: Any) -> None:
    store.add_events([event()])
    am, _ = alertmanager(status=500)
    done = acknowledge(store, "e1", "alice", None, T0, timedelta(hours=1), am)
    assert done.transition.after == "acknowledged"
    assert done.silence is None and "HTTP 500" in (done.silence_error or "")
    assert "silence_error" in (store.timeline(["e1"])[-1].detail or {})
    assert done.as_json()["silence_error"] == done.silence_error


def test_ack_and_resolve_of_an_unknown_event(store: Any) -> None:
    am, posted = alertmanager()
    with pytest.raises(UnknownEventError):
        acknowledge(store, "nope", "alice", None, T0, timedelta(hours=1), am)
    with pytest.raises(UnknownEventError):
        resolve(store, "nope", "alice", None, T0)
    assert posted == []
