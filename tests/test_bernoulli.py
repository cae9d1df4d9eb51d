"""BernoulliCUSUM, its vectorised engine, its calibration and the registry's restore contract."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors import calibrate, registry
from detectors.bernoulli import BernoulliCUSUM
from detectors.cusum import Bank, simulate


def bits(seed: int, n: int, p0: float, p1: float | None = None, at: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [int(rng.random() < (p0 if p1 is None or i < at else p1)) for i in range(n)]


def feed(detector: BernoulliCUSUM, values: list[int]) -> list[int]:
    alarms = []
    for i, x in enumerate(values):
        detector.update(x)
        if detector.drift_detected:
            alarms.append(i)
    return alarms


# --- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({"arl0": 5}, "arl0 must be"),
        ({"arl0": math.inf}, "arl0 must be"),
        ({"min_events": 0}, "min_events must be"),
        ({"min_events": 2.5}, "min_events must be"),
        ({"warmup": -1}, "warmup must be"),
        ({"ratios": ()}, "ratios must be"),
        ({"ratios": (0.5, 1.0)}, "ratios must be"),
        ({"ratios": (0.5, -2.0)}, "ratios must be"),
        ({"ratios": (2.0, 2.0)}, "ratios must be distinct"),
        ({"prior_rate": 1.5}, "prior_rate must be"),
        ({"prior_weight": -1.0}, "prior_weight must be"),
        ({"prior_weight": 10.0}, "needs a prior_rate"),
        ({"h": 0.0}, "h must be"),
    ],
)
def test_bad_parameters_are_refused_naming_the_rule(params: dict, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        BernoulliCUSUM(**params)


def test_constructor_arguments_are_stored_under_their_names() -> None:
    d = BernoulliCUSUM(arl0=5000, min_events=10, warmup=7, prior_rate=0.1, prior_weight=50.0)
    assert (d.arl0, d.min_events, d.warmup, d.prior_rate, d.prior_weight, d.h) == (
        5000,
        10,
        7,
        0.1,
        50.0,
        None,
    )
    assert registry.build("bernoulli_cusum", {"arl0": 5000}).arl0 == 5000
    with pytest.raises(ValueError, match="no parameter"):
        registry.build("bernoulli_cusum", {"delta": 0.1})


# --- behaviour -----------------------------------------------------------------------------


@pytest.mark.parametrize(("p1", "direction"), [(0.15, "up"), (0.06, "down")])
def test_sees_rises_and_falls_and_dates_them(p1: float, direction: str) -> None:
    detector = BernoulliCUSUM(arl0=1_000_000, min_events=300)
    alarms = feed(detector, bits(11, 30_000, 0.1, p1, at=10_000)[:10_000])
    assert alarms == []
    values = bits(11, 30_000, 0.1, p1, at=10_000)[10_000:]
    seen = 0
    for x in values:
        detector.update(x)
        seen += 1
        if detector.drift_detected:
            break
    assert detector.drift_detected, "the change was missed"
    assert seen < 5_000
    assert detector.direction == direction
    assert detector.change_point is not None
    assert abs(seen - detector.change_point) < 1_500  # dated near the true change
    detector.update(0)  # the next update restarts the baseline from the change point
    assert detector.state == "insufficient_data" and detector.n <= seen + 1


def test_quiet_during_warmup_then_watching() -> None:
    detector = BernoulliCUSUM(arl0=1_000, min_events=100, warmup=2_000)
    states = []
    for x in [1] * 150 + [0] * 1_000 + [1] * 500:  # wild swings inside the warm-up
        detector.update(x)
        states.append(detector.state)
        assert not detector.drift_detected
    assert states[-1] == "insufficient_data" and detector.p0 is None
    assert math.isnan(detector.threshold) and detector.statistic == 0.0
    extra = bits(2, 350, 0.4)
    feed(detector, extra)  # the warm-up ends at exactly 2,000 samples; no alarm can follow yet
    assert detector.state == "watching" and detector.n == 2_000
    assert detector.p0 == (650 + sum(extra)) / 2_000
    assert detector.threshold > 0


def test_prior_counts_toward_the_warmup() -> None:
    alone = BernoulliCUSUM(arl0=1_000, min_events=100)
    pooled = BernoulliCUSUM(arl0=1_000, min_events=100, prior_rate=0.05, prior_weight=4_000)
    values = bits(4, 600, 0.05)
    feed(alone, values)
    feed(pooled, values)
    assert alone.state == "insufficient_data" and pooled.state == "watching"
    assert pooled.p0 is not None and abs(pooled.p0 - 0.05) < 0.01


def test_rates_above_one_half_watch_the_complement() -> None:
    detector = BernoulliCUSUM(arl0=20_000, min_events=300)
    alarms = feed(detector, bits(5, 12_000, 0.9, 0.8, at=6_000))
    assert alarms and alarms[0] > 6_000
    assert detector.direction == "down"


# --- vectorised engine ---------------------------------------------------------------------


@pytest.mark.parametrize("p0", [0.02, 0.3, 0.7])
def test_update_many_is_update_bit_for_bit(p0: float) -> None:
    values = bits(21, 40_000, p0, min(0.95, p0 * 1.5), at=20_000)
    one = BernoulliCUSUM(arl0=500, min_events=40, prior_rate=0.1, prior_weight=30.0)
    many = BernoulliCUSUM(arl0=500, min_events=40, prior_rate=0.1, prior_weight=30.0)
    expected = feed(one, values)
    got = list(many.update_many(values[:777])) + [777 + i for i in many.update_many(values[777:])]
    assert len(expected) > 3
    assert got == expected
    assert many.to_state() == one.to_state()
    assert many.drift_detected == one.drift_detected


def test_simulate_rows_match_scalar_detectors() -> None:
    detectors = [BernoulliCUSUM(arl0=300, min_events=20) for _ in range(5)]
    rng = np.random.default_rng(9)
    matrix = rng.random((5, 5_000)) < np.array([[0.05], [0.1], [0.2], [0.5], [0.8]])
    bank = Bank(detectors)
    alarms = bank.run(matrix)
    bank.write_back()
    for row in range(5):
        scalar = BernoulliCUSUM(arl0=300, min_events=20)
        assert feed(scalar, matrix[row].astype(int).tolist()) == [t for r, t in alarms if r == row]
        assert scalar.to_state() == detectors[row].to_state()
    _, watched = simulate([BernoulliCUSUM(arl0=300, min_events=20)], 1_000, lambda s, n: 0.1, 1)
    assert 0 < watched[0] <= 1_000


# --- calibration ---------------------------------------------------------------------------


def test_measured_arl0_matches_the_target_on_a_cheap_setting() -> None:
    # 400 streams give ~400 false alarms: the estimate's standard error is ~5%, so a ±25%
    # tolerance is five standard errors wide.
    [(watched, alarms)] = calibrate.measure_arl0(2_000, 0.1, streams=400, seed=12345)
    assert alarms > 200
    assert 0.75 < (watched / alarms) / 2_000 < 1.25


def test_thresholds_grow_with_arl0_and_delays_with_smaller_changes() -> None:
    assert calibrate.level(1e6, 0.05) > calibrate.level(1e5, 0.05) > calibrate.level(1e4, 0.05)
    d = [calibrate.expected_delay(0.05, 0.05 * r, 1e5) for r in (1.25, 1.5, 2.0)]
    assert d[0] > d[1] > d[2] > 0
    assert calibrate.expected_delay(0.05, 0.0375, 1e5) < math.inf
    with pytest.raises(ValueError, match="rates must satisfy"):
        calibrate.expected_delay(0.0, 0.1, 1e5)


def test_alert_budget_shares_false_pages_equally() -> None:
    arl0 = calibrate.arl0_for_budget(2.0, [10.0, 1.0, 0.0])
    weeks_between = 3 / 2.0
    assert arl0 == pytest.approx([10 * calibrate.WEEK * weeks_between, calibrate.WEEK * 1.5, 0])
    pages = sum(r * calibrate.WEEK / a for r, a in zip([10.0, 1.0], arl0, strict=False))
    assert pages == pytest.approx(2.0 * 2 / 3)  # two of three streams' shares
    with pytest.raises(ValueError, match="pages_per_week"):
        calibrate.arl0_for_budget(0, [1.0])


# --- state as numbers: the contract over every registered detector -------------------------

_PARAMS = {
    "adwin": {"delta": 0.01},
    "page_hinkley": {"threshold": 5.0},
    "kswin": {"seed": 3, "window_size": 60, "stat_size": 20},
    "bernoulli_cusum": {"arl0": 400, "min_events": 20},
}


def test_every_registered_detector_has_a_contract_setting() -> None:
    assert set(_PARAMS) == set(registry.names()) == set(registry.RESTORE)


@pytest.mark.parametrize("name", registry.names())
def test_save_restore_continues_identically(name: str) -> None:
    size = 3_000 if name != "kswin" else 800
    values = bits(8, size, 0.1, 0.9, at=size * 2 // 3)  # the change comes after the save
    cut = size // 2
    original = registry.build(name, _PARAMS[name])
    for x in values[:cut]:
        original.update(x)
    state = json.loads(json.dumps(registry.save(name, _PARAMS[name], original, values[:cut])))
    restored = registry.restore(state)
    a, b = [], []
    for x in values[cut:]:
        original.update(x)
        restored.update(x)
        a.append(original.drift_detected)
        b.append(restored.drift_detected)
    assert a == b
    assert any(a), "the continuation should exercise an alarm"
    if registry.RESTORE[name] == "summary":
        assert original.to_state() == restored.to_state()  # type: ignore[attr-defined]


def test_restore_refuses_what_it_cannot_do_faithfully() -> None:
    with pytest.raises(ValueError, match="pass the values"):
        registry.save("adwin", {}, registry.build("adwin"))
    with pytest.raises(ValueError, match="seed"):
        registry.save("kswin", {}, registry.build("kswin"), values=[0, 1])
    with pytest.raises(ValueError, match="no known detector"):
        registry.restore({"name": "nope"})
    with pytest.raises(ValueError, match="version-1"):
        BernoulliCUSUM.from_state({"kind": "bernoulli_cusum", "version": 99})
    d = BernoulliCUSUM(arl0=400, min_events=20)
    bad = registry.save("bernoulli_cusum", {"arl0": 400, "min_events": 20}, d)
    bad["params"] = {"arl0": 999}
    with pytest.raises(ValueError, match="parameters differ"):
        registry.restore(bad)


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 1), max_size=1_500),
    st.integers(1, 30),
    st.integers(0, 100),
    st.sampled_from([30.0, 200.0, 5_000.0]),
)
def test_any_sequence_never_raises_and_alarms_only_after_warmup(
    values: list[int], min_events: int, warmup: int, arl0: float
) -> None:
    detector = BernoulliCUSUM(arl0=arl0, min_events=min_events, warmup=warmup)
    twin = BernoulliCUSUM(arl0=arl0, min_events=min_events, warmup=warmup)
    alarms = []
    for i, x in enumerate(values):
        was_watching = detector.state == "watching"
        detector.update(x)
        assert detector.statistic >= 0.0
        if detector.drift_detected:
            alarms.append(i)
            assert was_watching and detector.state == "watching"
            assert detector.n >= max(warmup, 2 * min_events)
            assert detector.change_point is not None and 0 < detector.change_point <= detector.n
            assert detector.direction in {"up", "down"}
    assert list(twin.update_many(values)) == alarms
    assert twin.to_state() == detector.to_state()


def test_retarget_raises_the_thresholds_and_keeps_the_evidence_and_state_exact() -> None:
    import json
    import random

    rng = random.Random(2)
    d = BernoulliCUSUM(arl0=10_000, min_events=50)
    for _ in range(3_000):
        d.update(rng.random() < 0.1)
    low, evidence = d.threshold, list(d._s)
    d.retarget(1_000_000)
    assert d.threshold > low and d._s == evidence and d.arl0 == 1_000_000
    again = BernoulliCUSUM.from_state(json.loads(json.dumps(d.to_state())))
    for _ in range(3_000):
        x = rng.random() < 0.15
        d.update(x)
        again.update(x)
        assert (d.drift_detected, d.statistic) == (again.drift_detected, again.statistic)
    with pytest.raises(ValueError, match="arl0 must be"):
        d.retarget(float("nan"))
