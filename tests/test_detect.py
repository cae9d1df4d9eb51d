"""The detect stage and its detector wrapper: pure, seeded, no clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors import registry
from detectors.rate import Change, Rate, RateWatch
from detectors.stats import change_point, wilson
from monitor.config import Detectors, Owners, SeverityPolicy
from monitor.detect import (
    Departure,
    DriftDetection,
    departed,
    grade,
    observations,
    regrade,
    returning,
)
from monitor.schema import PromptHarm, RefusalScore, Verdict

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def verdict(i: int, refused: bool, harmful: bool = False, segment: dict | None = None) -> Verdict:
    label = "full_refusal" if refused else "compliance"
    return Verdict(
        sample_id=f"s{i}",
        ts=T0 + timedelta(seconds=i),
        segment=segment or {"model": "m", "surface": "chat", "locale": "en", "policy_area": "none"},
        refusal=RefusalScore(label=label, score=0.9),
        prompt_harm=PromptHarm(harmful=harmful, score=0.9 if harmful else 0.1),
        over_refusal=refused and not harmful,
        under_refusal=harmful and not refused,
    )


def adwin_watch(**kw: int) -> RateWatch:
    return RateWatch(lambda: registry.build("adwin", {"delta": 0.001}), **kw)


@pytest.mark.parametrize(("p0", "p1", "direction"), [(0.1, 0.3, "up"), (0.3, 0.1, "down")])
def test_watch_sees_rises_and_falls_and_locates_the_change(p0, p1, direction) -> None:
    rng = random.Random(3)
    watch, changes = adwin_watch(warmup=200), []
    for i in range(8000):
        watch.update(rng.random() < (p0 if i < 4000 else p1), ts=float(i))
        if watch.drift_detected:
            changes.append(watch.last_change)
    assert len(changes) == 1
    change = changes[0]
    assert change.direction == direction
    assert abs(change.offset - 4000) < 150
    assert change.before.low <= p0 <= change.before.high
    assert change.ts == float(change.offset)


def test_watch_is_quiet_on_a_stable_stream_and_during_warmup() -> None:
    rng = random.Random(5)
    watch = adwin_watch(warmup=500)
    states = set()
    for i in range(30_000):
        watch.update(rng.random() < 0.1)
        states.add(watch.state)
        assert not watch.drift_detected, f"false alarm at {i}"
    assert {"insufficient_data", "watching"} <= states


def test_watch_rebaselines_after_a_change() -> None:
    rng = random.Random(8)
    watch, offsets = adwin_watch(warmup=200), []
    for i in range(12_000):
        p = 0.05 if i < 3000 else (0.25 if i < 8000 else 0.05)
        watch.update(rng.random() < p)
        if watch.drift_detected:
            offsets.append(watch.last_change.offset)
    assert len(offsets) == 2
    assert abs(offsets[0] - 3000) < 200 and abs(offsets[1] - 8000) < 200


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), max_size=3000), st.integers(0, 300))
def test_watch_never_raises_and_counts_consistently(values: list[bool], warmup: int) -> None:
    watch = adwin_watch(warmup=warmup, min_samples=20, history=500)
    alarms = 0
    for v in values:
        watch.update(v)
        alarms += watch.drift_detected
        if watch.drift_detected:
            c = watch.last_change
            assert 0 <= c.before.low <= c.before.rate <= c.before.high <= 1
            assert c.after.n >= 20
    assert watch.offset == len(values)
    assert alarms == watch.changes


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_wilson_interval_contains_the_estimate(k: int, extra: int) -> None:
    n = k + extra
    low, high = wilson(k, n)
    assert 0.0 <= low <= high <= 1.0
    if n:
        assert low <= k / n + 1e-12 and k / n - 1e-12 <= high


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=0, max_size=500))
def test_change_point_within_bounds(bits: list[bool]) -> None:
    cut = change_point(bits, min_side=5)
    assert 0 <= cut <= len(bits)


def test_registry_rejects_unknown_names_and_params() -> None:
    with pytest.raises(ValueError, match="unknown detector 'nope'"):
        registry.build("nope")
    with pytest.raises(ValueError, match="no parameter"):
        registry.build("adwin", {"threshold": 3})
    assert registry.build("page_hinkley").mode == "both"


def test_observations_route_conditional_rates() -> None:
    harmful_complied = {m: v for _, m, v in observations(verdict(1, False, harmful=True))}
    assert harmful_complied == {"refusal": False, "under_refusal": True, "violation": False}
    benign_refused = {m: v for _, m, v in observations(verdict(2, True, harmful=False))}
    assert benign_refused == {"refusal": True, "over_refusal": True, "violation": False}
    unclassified = Verdict(sample_id="u", ts=T0, segment={}, unclassified="no_assistant_response")
    assert observations(unclassified) == []


def test_detection_raises_one_event_for_the_drifted_segment_only() -> None:
    cfg = Detectors(name="adwin", params={"delta": 0.001}, warmup=200)
    detection = DriftDetection(cfg, Owners(default="oncall"))
    rng = random.Random(11)
    drifted = {"model": "m", "surface": "chat", "locale": "en", "policy_area": "none"}
    stable = {"model": "m", "surface": "api", "locale": "en", "policy_area": "none"}
    events = []
    for i in range(12_000):
        seg = drifted if i % 2 else stable
        p = 0.3 if (seg is drifted and i >= 6000) else 0.1
        events += detection.observe(verdict(i, rng.random() < p, segment=seg))
    refusal = [e for e in events if e.metric == "refusal"]
    assert len(refusal) == 1
    event = refusal[0]
    assert event.segment == {"model": "m", "surface": "chat", "locale": "en"}
    assert event.direction == "up" and event.owner == "oncall"
    assert event.before.high < event.after.low
    assert abs((event.change_ts - T0).total_seconds() - 6000) < 300
    assert event.example_ids and all(e.startswith("s") for e in event.example_ids)
    assert {e.segment["surface"] for e in events} == {"chat"}


def run_mix(share_after: float, benign_after: float) -> list:
    detection = DriftDetection(
        Detectors(name="adwin", params={"delta": 0.001}, warmup=200), Owners()
    )
    rng = random.Random(21)
    events = []
    for i in range(16_000):
        late = i >= 8000
        harmful = rng.random() < (share_after if late else 0.2)
        p = 0.9 if harmful else (benign_after if late else 0.05)
        events += detection.observe(verdict(i, rng.random() < p, harmful=harmful))
    return [e for e in events if e.metric == "refusal"]


def test_a_pure_traffic_mix_shift_is_reported_as_such_at_info() -> None:
    events = run_mix(share_after=0.5, benign_after=0.05)
    assert len(events) == 1
    why = events[0].attribution
    assert why is not None and why.cause == "mix", why
    assert events[0].severity == "info"
    assert abs(why.harmful_share[1] - 0.5) < 0.1
    change = events[0].after.rate - events[0].before.rate
    assert abs(why.mix + why.behaviour - change) < 1e-9


def test_a_behaviour_change_is_attributed_to_behaviour() -> None:
    events = run_mix(share_after=0.2, benign_after=0.35)
    assert len(events) == 1
    why = events[0].attribution
    assert why is not None and why.cause == "behaviour", why
    assert events[0].severity != "info"


def run_violations(before: float, after: float, policy: SeverityPolicy | None = None) -> list:
    cfg = Detectors(name="adwin", params={"delta": 0.001}, warmup=200)
    detection = DriftDetection(cfg, Owners(), policy)
    rng = random.Random(5)
    events = []
    for i in range(12_000):
        v = verdict(i, refused=False).model_copy(
            update={"violation": rng.random() < (after if i >= 6000 else before)}
        )
        events += detection.observe(v)
    return [e for e in events if e.metric == "violation"]


def test_fewer_violations_are_recorded_but_do_not_page() -> None:
    fell, rose = run_violations(0.2, 0.05), run_violations(0.05, 0.2)
    assert [e.direction for e in fell] == ["down"] and [e.direction for e in rose] == ["up"]
    assert fell[0].severity == "info" and rose[0].severity == "critical"
    as_any = run_violations(0.2, 0.05, SeverityPolicy(improvements="critical"))
    assert as_any[0].severity == "critical"  # the same fall, graded like any change


def test_a_fall_in_the_refusal_rate_is_graded_like_a_rise() -> None:
    detection = DriftDetection(Detectors(name="adwin", params={"delta": 0.001}), Owners())
    rng = random.Random(6)
    events = []
    for i in range(12_000):
        events += detection.observe(verdict(i, rng.random() < (0.05 if i >= 6000 else 0.2)))
    refusal = [e for e in events if e.metric == "refusal"]
    assert [(e.direction, e.severity) for e in refusal] == [("down", "critical")]


def round_trip(policy: SeverityPolicy | None = None, restart_at: int | None = None) -> list:
    """Refusal 10% -> 30% (a bad deploy) -> 10% (its rollback) -> 30% (deployed again), a
    sample a second; with ``restart_at``, saved there and restored into a new detection."""
    import json

    cfg = Detectors(name="adwin", params={"delta": 0.001}, warmup=200, metrics=["refusal"])
    rng = random.Random(0)
    detection = DriftDetection(cfg, Owners(), policy)
    events = []
    for i in range(24_000):
        if i == restart_at:
            saved = json.loads(json.dumps(detection.snapshot()))
            detection = DriftDetection(cfg, Owners(), policy)
            detection.restore(saved)
        p = 0.3 if (6000 <= i < 12_000 or i >= 18_000) else 0.1
        events += detection.observe(verdict(i, rng.random() < p))
    return events


def test_a_rollback_is_a_return_and_the_same_regression_again_is_graded_afresh() -> None:
    events = round_trip()
    (up, up_level), back, again = [(e.direction, e.severity) for e in events]
    assert (up, back, again[0]) == ("up", ("down", "info"), "up")
    assert up_level != "info" and again[1] != "info"
    # the rollback says what it goes back on; the redeploy goes back on nothing
    reverses = events[1].reverses
    assert reverses is not None and reverses.event_id == events[0].id
    assert reverses.before == events[0].before and reverses.detected_ts == events[0].detected_ts
    assert events[0].reverses is None and events[2].reverses is None
    assert "reverses " + events[0].id in events[1].describe()
    assert round_trip(restart_at=9000) == events, "kept across a restart"
    # the rollback graded like any change: the rule off, or the rollback too late for it
    for late in (SeverityPolicy(returns_within=None), SeverityPolicy(returns_within="1h")):
        back = round_trip(late)[1]
        assert back.severity != "info" and back.reverses is None


def test_a_rollback_is_not_regraded_on_the_values_of_its_own_alarm() -> None:
    up, back, _ = round_trip()
    lower = Rate.of(15, 300)
    assert regrade(up, Rate.of(150, 300), SeverityPolicy()) == "critical"  # 10% -> 50%
    assert regrade(back, lower, SeverityPolicy()) == "info"  # 5%: past the 10% it went back to
    as_any = back.model_copy(update={"reverses": None})
    assert regrade(as_any, lower, SeverityPolicy()) == "critical"  # 30% -> 5% on 300 values


def test_a_change_back_is_graded_by_where_it_lands_and_ends_the_round_trip() -> None:
    policy = SeverityPolicy()
    fell = Departure(Rate.of(20, 1000), "down", at=0.0)  # violations fell from 2% to 1%

    def up_to(k: int) -> Change:
        return Change(offset=0, ts=0.0, before=Rate.of(10, 1000), after=Rate.of(k, 400))

    def level(change: Change, at: float) -> str:
        back_to = returning(fell, change, at, policy)
        return grade(change, "violation", back_to and back_to.before, None, policy)

    # back to 2.25%; up to 3% (x1.5 on 2%); up to 5% (x2.5 on 2%): as if they came from 2%
    assert [level(up_to(k), 60.0) for k in (9, 12, 20)] == ["info", "warning", "critical"]
    assert level(up_to(9), 90_000.0) == "critical"  # a day on: x2.25 on 1%
    assert returning(fell, up_to(9), 90_000.0, policy) is None
    assert departed(fell, up_to(9), 60.0, policy) is None  # the next change starts afresh
    lower = Change(offset=0, ts=0.0, before=Rate.of(10, 1000), after=Rate.of(2, 400))
    assert returning(fell, lower, 60.0, policy) is None  # further down is no return
    assert departed(fell, lower, 60.0, policy, "e2") is fell  # still from 2%, and from e1
    assert departed(fell, lower, 90_000.0, policy, "e2") == Departure(
        lower.before, "down", 90_000.0, "e2"
    )


def test_a_restored_detection_continues_exactly_where_it_stopped() -> None:
    import json

    cfg = Detectors(name="adwin", params={"delta": 0.001}, warmup=200)
    rng = random.Random(11)
    drifted = {"model": "m", "surface": "chat", "locale": "en", "policy_area": "none"}
    stable = {"model": "m", "surface": "api", "locale": "en", "policy_area": "none"}
    verdicts = []
    for i in range(12_000):
        seg = drifted if i % 2 else stable
        p = 0.3 if (seg is drifted and i >= 6000) else 0.1
        verdicts.append(verdict(i, rng.random() < p, harmful=rng.random() < 0.3, segment=seg))

    whole = DriftDetection(cfg)
    expected = [e for v in verdicts for e in whole.observe(v)]
    first = DriftDetection(cfg)
    got = [e for v in verdicts[:5000] for e in first.observe(v)]
    saved = json.loads(json.dumps(first.snapshot()))  # through JSON, as the store keeps it
    second = DriftDetection(cfg)
    assert second.restore(saved) == len(first.streams)
    got += [e for v in verdicts[5000:] for e in second.observe(v)]
    assert got == expected and expected
    other = DriftDetection(Detectors(name="adwin", params={"delta": 0.01}))
    assert other.restore(saved) == 0, "state of a differently configured detector is not reused"


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    history=st.sampled_from([300, 1_000, 5_000]),
    bulk=st.booleans(),
    detector=st.sampled_from(
        [("adwin", {"delta": 0.01}), ("bernoulli_cusum", {"arl0": 10_000, "min_events": 50})]
    ),
)
def test_a_growing_ring_behaves_as_a_full_one(
    seed: int, history: int, bulk: bool, detector: tuple[str, dict]
) -> None:
    """The history ring starts small and grows; alarms, change points and saved state are the
    same as with the whole history allocated up front, one value at a time or in bulk."""
    from unittest.mock import patch

    import detectors.rate as rate

    rng = random.Random(seed)
    values = [rng.random() < (0.05 if i < 1_500 else 0.5) for i in range(3_000)]
    runs = []
    for first in (history, 8):
        with patch.object(rate, "_FIRST_CAPACITY", first):
            watch = RateWatch(lambda: registry.build(*detector), 100, 50, history)
        changes = []
        if bulk:
            bits, ts = np.array(values, dtype=np.uint8), np.arange(len(values), dtype=float)
            i = 0
            while i < bits.size:
                i += watch.update_many(bits[i:], ts[i:])
                changes.append(watch.last_change if watch.drift_detected else None)
        else:
            for i, x in enumerate(values):
                watch.update(x, ts=float(i))
                if watch.drift_detected:
                    changes.append(watch.last_change)
        state = watch.to_state()
        rebuild = getattr(type(watch.factory()), "from_state", None)
        restored = RateWatch.from_state(state, watch.factory, rebuild).to_state()
        runs.append((changes, state, restored))
    assert any(change is not None for change in runs[0][0]), "the rise is found"
    assert runs[0] == runs[1]


def test_tuning_reaches_each_stream_and_a_pooled_small_segment_watches_sooner() -> None:
    """A small segment pooled toward its parent's rate trusts its baseline after fewer events
    of its own; the event records the parameters in force; other streams are untouched."""
    from monitor.plan import Tuning

    cfg = Detectors(params={"arl0": 20_000, "min_events": 200}, warmup=200)
    small = {"model": "m", "surface": "chat", "locale": "is", "policy_area": "none"}
    key = ("locale=is|model=m|surface=chat", "refusal")
    rng = random.Random(3)
    verdicts = [verdict(i, rng.random() < 0.1, segment=small) for i in range(1_600)]
    alone, pooled = DriftDetection(cfg), DriftDetection(cfg)
    pooled.tuning = Tuning({key: {"prior_rate": 0.1, "prior_weight": 1_500.0, "arl0": 30_000.0}})
    for v in verdicts:
        alone.observe(v)
        pooled.observe(v)
    state = {
        name: d.snapshot(only_dirty=False) for name, d in (("alone", alone), ("pooled", pooled))
    }
    refusal = {n: s["locale=is|model=m|surface=chat#refusal"] for n, s in state.items()}
    params = refusal["pooled"]["watch"]["detector"]["params"]
    assert (params["prior_rate"], params["prior_weight"], params["arl0"]) == (0.1, 1500.0, 30_000)
    assert refusal["pooled"]["watch"]["detector"]["watching"], "150 pseudo-events + its own 160"
    assert not refusal["alone"]["watch"]["detector"]["watching"], "160 events < min_events 200"
    over = state["pooled"]["locale=is|model=m|surface=chat#over_refusal"]
    assert over["watch"]["detector"]["params"]["prior_rate"] is None, "only the tuned stream"


def test_a_large_change_is_dated_from_its_own_start_not_from_an_earlier_wobble() -> None:
    """The arm that alarms may have been above zero by chance before the change; the event's
    change point is the onset most likely given the baseline, so "after" is the new rate."""
    errors, covered = [], 0
    for seed in range(30):
        rng = random.Random(seed)
        watch = RateWatch(lambda: registry.build("bernoulli_cusum", {"min_events": 200}), 200)
        for i in range(9_000):
            watch.update(rng.random() < (0.1 if i < 5_000 else 0.4), float(i))
            if watch.drift_detected and i >= 5_000:
                change = watch.last_change
                errors.append(abs(change.offset - 5_000))
                covered += change.after.low <= 0.4 <= change.after.high
                break
    assert len(errors) == 30
    assert sorted(errors)[15] <= 10, "the median error is a few samples"
    assert sum(e > 100 for e in errors) <= 1 and covered >= 24


def test_a_new_tuning_moves_running_detectors_to_their_new_arl0() -> None:
    """A re-tune reaches detectors already running (the hourly one after a fresh start, when
    every stream began at the fallback): the evidence stays, the thresholds move."""
    from monitor.plan import Tuning

    cfg = Detectors(params={"arl0": 1_000_000, "min_events": 50}, warmup=100)
    detection = DriftDetection(cfg)
    rng = random.Random(5)
    for i in range(2_000):
        detection.observe(verdict(i, rng.random() < 0.2, harmful=rng.random() < 0.3))
    key = ("locale=en|model=m|surface=chat", "refusal")
    before = detection.streams[key].watch.to_state()["detector"]
    detection.snapshot()
    moved = detection.retune(Tuning({key: {"arl0": 20_000_000.0}}))
    assert moved == 1, "only the re-tuned stream moves; the others keep the configured ARL0"
    after = detection.streams[key].watch.to_state()["detector"]
    assert after["params"]["arl0"] == 20_000_000.0 and after["s"] == before["s"]
    assert set(detection.snapshot()) == {"locale=en|model=m|surface=chat#refusal"}
    assert detection.retune(Tuning({key: {"arl0": 20_000_000.0}})) == 0, "nothing to move"
