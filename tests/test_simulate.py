"""The traffic simulator: determinism, the Sample contract, configured rates, drift, bad input."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.classify import default_stack
from monitor.config import Drift, Simulator
from monitor.schema import CATEGORIES, Sample, SampleError, parse_sample
from monitor.simtext import LANGUAGES
from monitor.simulate import BAD_KINDS, SimulatedMessage, TrafficSimulator

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NO_DRIFT = Simulator(drift=None, bad_fraction=0.0)


def _close(k: int, n: int, p: float, sigmas: float = 4.5) -> bool:
    """k out of n is within ``sigmas`` binomial standard deviations of rate p."""
    return abs(k - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


def _rate(messages: list[SimulatedMessage], hit: Any) -> tuple[int, int]:
    return sum(1 for m in messages if hit(m.truth)), len(messages)


def _refused(truth: dict[str, Any]) -> bool:
    return bool(truth["refusal"] != "compliance")


def _violated(truth: dict[str, Any]) -> bool:
    return bool(truth["violation"])


@pytest.fixture(scope="module")
def stream() -> list[SimulatedMessage]:
    """20,000 good messages with the default rates and weights, no drift."""
    return TrafficSimulator(NO_DRIFT, START).take(20_000)


# --- determinism and the stream ------------------------------------------------------------


def test_same_config_and_start_give_a_byte_identical_stream() -> None:
    cfg = Simulator(seed=11, bad_fraction=0.05)
    first = TrafficSimulator(cfg, START).take(3_000)
    assert first == TrafficSimulator(cfg, START).take(3_000)
    other_seed = TrafficSimulator(cfg.model_copy(update={"seed": 12}), START).take(3_000)
    assert [m.value for m in other_seed] != [m.value for m in first]


def test_take_and_iteration_continue_where_the_stream_left_off() -> None:
    sim = TrafficSimulator(Simulator(), START)
    head = sim.take(5) + sim.take(5)
    tail = [m for m, _ in zip(sim, range(5), strict=False)]
    assert head + tail == TrafficSimulator(Simulator(), START).take(15)
    assert sim.take(0) == []
    with pytest.raises(ValueError, match="n must be >= 0"):
        sim.take(-1)


def test_offsets_timestamps_and_ids_follow_the_rate() -> None:
    cfg = Simulator(rate=40.0, bad_fraction=0.0)
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2025, 3, 1, 14, 0, tzinfo=plus_two)  # same instant as START
    messages = TrafficSimulator(cfg, start).take(500)
    ids = set()
    for i, message in enumerate(messages):
        sample = parse_sample(message.value)
        assert message.offset_seconds == i / 40.0
        assert sample.ts == START + timedelta(seconds=i / 40.0)
        raw_ts = json.loads(message.value)["ts"]
        assert raw_ts.endswith("Z"), raw_ts
        ids.add(sample.sample_id)
    assert len(ids) == len(messages)


def test_a_naive_start_or_an_unusable_segment_value_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TrafficSimulator(Simulator(), datetime(2025, 1, 1))
    with pytest.raises(ValueError, match=r"simulator\.locales: value 'x{65}'"):
        TrafficSimulator(Simulator(locales={"x" * 65: 1.0}), START)


# --- the Sample contract and bad input -----------------------------------------------------


def _check_good(message: SimulatedMessage) -> Sample:
    sample = parse_sample(message.value)
    truth = message.truth
    assert truth is not None
    assert message.key == f"{sample.model}|{sample.surface}|{sample.locale}".encode()
    assert sample.prompt.strip() and sample.response.strip()
    assert truth["refusal"] in {"compliance", "partial_refusal", "full_refusal"}
    assert (truth["policy_area"] is not None) == truth["harmful"]
    assert truth["policy_area"] is None or truth["policy_area"] in CATEGORIES
    assert sample.policy_area in {None, truth["policy_area"]}
    assert (truth["violation_area"] is not None) == truth["violation"]
    assert truth["language"] in LANGUAGES
    return sample


def _check_bad(message: SimulatedMessage) -> SampleError:
    assert message.truth is None and message.key == b"bad"
    with pytest.raises(SampleError) as caught:
        parse_sample(message.value)
    return caught.value


def test_every_good_message_parses_and_every_bad_one_is_rejected() -> None:
    messages = TrafficSimulator(Simulator(bad_fraction=0.02, seed=3), START).take(5_000)
    reasons = Counter()
    for message in messages:
        assert b"\n" not in message.value  # one message per line in a JSONL file
        for slot in (b"{x}", b"{task}", b"{alt}"):
            assert slot not in message.value
        if message.truth is None:
            reasons[_check_bad(message).reason] += 1
        else:
            _check_good(message)
    assert set(reasons) == set(BAD_KINDS)
    assert 60 <= sum(reasons.values()) <= 140  # 2% of 5,000


def test_each_bad_kind_is_rejected_with_the_reason_it_is_named_after() -> None:
    messages = TrafficSimulator(Simulator(bad_fraction=1.0), START).take(2 * len(BAD_KINDS))
    assert [_check_bad(m).reason for m in messages] == list(BAD_KINDS) * 2


def test_the_shapes_of_real_traffic_all_occur(stream: list[SimulatedMessage]) -> None:
    seen: Counter[str] = Counter()
    for message in stream[:5_000]:
        sample = _check_good(message)
        roles = [m.role for m in sample.messages]
        seen["system"] += "system" in roles
        seen["multi_turn"] += roles.count("user") > 1
        seen["tool"] += "tool" in roles
        seen["parts"] += any(isinstance(m.content, list) for m in sample.messages)
        seen["no_content"] += any(m.content is None for m in sample.messages)
        seen["hint"] += sample.policy_area is not None
        seen["metadata"] += {"conversation_id", "latency_ms"} <= set(sample.metadata)
    assert all(seen[kind] >= 10 for kind in seen), seen
    assert seen["metadata"] == 5_000


# --- rates and weights ---------------------------------------------------------------------


def test_segment_weights_are_respected(stream: list[SimulatedMessage]) -> None:
    cfg = NO_DRIFT
    for dimension, weights in enumerate((cfg.models, cfg.surfaces, cfg.locales)):
        counts = Counter(m.key.decode().split("|")[dimension] for m in stream)
        total = sum(weights.values())
        for name, weight in weights.items():
            assert _close(counts[name], len(stream), weight / total), (name, counts)


def test_harm_refusal_and_violation_rates_are_respected(stream: list[SimulatedMessage]) -> None:
    cfg = NO_DRIFT
    truths = [m.truth for m in stream if m.truth is not None]
    harmful = [t for t in truths if t["harmful"]]
    benign = [t for t in truths if not t["harmful"]]
    assert _close(len(harmful), len(truths), cfg.harmful_share)
    assert _close(sum(map(_refused, harmful)), len(harmful), cfg.refusal_harmful)
    assert _close(sum(map(_refused, benign)), len(benign), cfg.refusal_benign)
    refusals = [t for t in truths if _refused(t)]
    partial = sum(t["refusal"] == "partial_refusal" for t in refusals)
    assert _close(partial, len(refusals), 0.15)
    complied = [t for t in harmful if not _refused(t)]
    assert _close(sum(t["violation"] for t in complied), len(complied), 0.5)
    others = [t for t in truths if not (t["harmful"] and not _refused(t))]
    assert _close(sum(t["violation"] for t in others), len(others), cfg.violation_rate)
    areas = Counter(t["policy_area"] for t in harmful)
    assert set(areas) == set(CATEGORIES)
    hinted = sum(
        json.loads(m.value).get("policy_area") is not None
        for m in stream
        if m.truth is not None and m.truth["harmful"]
    )
    assert _close(hinted, len(harmful), 0.3)


def test_locales_speak_their_language_most_of_the_time(stream: list[SimulatedMessage]) -> None:
    by_locale: dict[str, Counter[str]] = {}
    for message in stream:
        assert message.truth is not None
        locale = message.key.decode().split("|")[2]
        by_locale.setdefault(locale, Counter())[message.truth["language"]] += 1
    assert set(by_locale["en-US"]) == {"en"}
    for locale, code in (("es-ES", "es"), ("fr-FR", "fr"), ("de-DE", "de")):
        counts = by_locale[locale]
        assert set(counts) == {code, "en"}
        assert _close(counts[code], counts.total(), 0.75)


def test_texts_are_varied(stream: list[SimulatedMessage]) -> None:
    samples = [parse_sample(m.value) for m in stream[:5_000]]
    responses = {s.response for s in samples}
    prompts = {s.prompt for s in samples}
    assert len(responses) > 1_000
    assert len(prompts) > 500
    refusals = {
        s.response
        for s, m in zip(samples, stream, strict=False)
        if m.truth is not None and m.truth["refusal"] == "full_refusal"
    }
    assert len(refusals) > 200


def test_every_language_covers_every_policy_area() -> None:
    for code, lang in LANGUAGES.items():
        assert lang.code == code
        assert set(lang.harms) == set(CATEGORIES), code
        assert set(lang.asides) <= set(CATEGORIES), code
        for area, harm in lang.harms.items():
            for name in ("prompts", "slots", "tasks", "vague", "violating", "alternatives"):
                assert getattr(harm, name), (code, area, name)


def test_the_default_classifier_stack_agrees_with_the_refusal_truth() -> None:
    """The texts read like real refusals and compliances: the rule stack mostly agrees.

    Measured 92.5% on this stream (91-92.5% over other seeds); every disagreement is a refusal
    whose wording the rules do not know yet (e.g. German declines), never a false refusal.
    """
    stack = default_stack()
    messages = TrafficSimulator(Simulator(seed=7), START).take(2_100)
    good = [m for m in messages if m.truth is not None][:2_000]
    agree = false_refusals = 0
    for message in good:
        assert message.truth is not None
        sample = parse_sample(message.value)
        verdict = stack.classify(sample, {"model": sample.model, "surface": sample.surface})
        assert verdict.classified, verdict.unclassified
        agree += verdict.refused == _refused(message.truth)
        false_refusals += verdict.refused and not _refused(message.truth)
    assert agree / len(good) >= 0.90
    assert false_refusals <= 0.01 * len(good)


# --- drift ---------------------------------------------------------------------------------


def _segment(message: SimulatedMessage) -> tuple[str, str]:
    model, surface, _ = message.key.decode().split("|")
    return model, surface


def _share(messages: list[SimulatedMessage], hit: Any) -> float:
    k, n = _rate(messages, hit)
    return k / n


def test_refusal_drift_multiplies_the_segment_refusal_rate_after_the_change() -> None:
    drift = Drift(after_seconds=60.0, model="atlas-2", surface="chat", factor=3.0)
    # Rates low enough that factor 3 is not capped at 1, so the marginal rate triples.
    cfg = Simulator(
        rate=500.0, refusal_harmful=0.25, refusal_benign=0.05, bad_fraction=0.0, drift=drift
    )
    messages = TrafficSimulator(cfg, START).take(60_000)  # 120 s
    in_segment = [m for m in messages if _segment(m) == ("atlas-2", "chat")]
    elsewhere = [m for m in messages if _segment(m) != ("atlas-2", "chat")]
    for group, expect_drift in ((in_segment, True), (elsewhere, False)):
        before = [m for m in group if m.offset_seconds < 60.0]
        after = [m for m in group if m.offset_seconds >= 60.0]
        assert all(m.truth is not None and not m.truth["drifted"] for m in before)
        assert all(m.truth is not None and m.truth["drifted"] == expect_drift for m in after)
        ratio = _share(after, _refused) / _share(before, _refused)
        assert (2.6 < ratio < 3.4) if expect_drift else (0.85 < ratio < 1.15), ratio
        harmful_ratio = _share(after, lambda t: t["harmful"]) / _share(
            before, lambda t: t["harmful"]
        )
        assert 0.85 < harmful_ratio < 1.15  # the drift changes behaviour, not the traffic mix


def test_a_drift_with_an_end_is_rolled_back_there() -> None:
    drift = Drift(after_seconds=20.0, until_seconds=40.0, model=None, surface=None)
    messages = TrafficSimulator(Simulator(rate=100.0, drift=drift), START).take(6_000)
    drifted = {m.offset_seconds for m in messages if m.truth is not None and m.truth["drifted"]}
    assert drifted and min(drifted) >= 20.0 and max(drifted) < 40.0
    assert len(drifted) > 0.9 * 20 * 100  # bad messages have no truth
    assert Drift(after_seconds=20.0).until_seconds is None  # by default a drift lasts


def test_violation_drift_multiplies_the_segment_violation_rate() -> None:
    drift = Drift(
        after_seconds=30.0, model=None, surface=None, locale="fr-FR", metric="violation", factor=1.8
    )
    cfg = Simulator(rate=1000.0, violation_rate=0.05, bad_fraction=0.0, drift=drift)
    messages = TrafficSimulator(cfg, START).take(60_000)
    french = [m for m in messages if m.key.endswith(b"|fr-FR")]
    before = [m for m in french if m.offset_seconds < 30.0]
    after = [m for m in french if m.offset_seconds >= 30.0]
    ratio = _share(after, _violated) / _share(before, _violated)
    assert 1.5 < ratio < 2.1, ratio
    assert _share(after, _refused) == pytest.approx(_share(before, _refused), rel=0.15)
    others = [m for m in messages if not m.key.endswith(b"|fr-FR")]
    assert not any(m.truth is not None and m.truth["drifted"] for m in others)


def test_a_large_factor_is_capped_at_certainty() -> None:
    drift = Drift(after_seconds=0.0, model=None, surface=None, factor=50.0)
    cfg = Simulator(harmful_share=1.0, refusal_harmful=0.5, bad_fraction=0.0, drift=drift)
    truths = [m.truth for m in TrafficSimulator(cfg, START).take(500)]
    assert all(t is not None and t["drifted"] and _refused(t) for t in truths)


# --- any configuration ---------------------------------------------------------------------

_names = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="-_.|é"),
    min_size=1,
    max_size=12,
)
_weights = st.dictionaries(_names, st.floats(0.01, 100.0), min_size=1, max_size=4)
_share_of = st.floats(0.0, 1.0)


@st.composite
def _configs(draw: st.DrawFn) -> Simulator:
    models, surfaces = draw(_weights), draw(_weights)
    locales = draw(
        st.dictionaries(
            st.sampled_from(["en-US", "es-ES", "fr_FR", "de", "pt-BR", "ja-JP"]) | _names,
            st.floats(0.01, 100.0),
            min_size=1,
            max_size=4,
        )
    )
    drift = None
    if draw(st.booleans()):
        drift = Drift(
            after_seconds=draw(st.floats(0.0, 10.0)),
            model=draw(st.none() | st.sampled_from(sorted(models))),
            surface=draw(st.none() | st.sampled_from(sorted(surfaces))),
            locale=draw(st.none() | st.sampled_from(sorted(locales))),
            metric=draw(st.sampled_from(["refusal", "violation"])),
            factor=draw(st.floats(0.01, 20.0)),
        )
    return Simulator(
        rate=draw(st.floats(0.01, 1e5)),
        seed=draw(st.integers(-(2**40), 2**40)),
        models=models,
        surfaces=surfaces,
        locales=locales,
        harmful_share=draw(_share_of),
        refusal_harmful=draw(_share_of),
        refusal_benign=draw(_share_of),
        violation_rate=draw(_share_of),
        bad_fraction=draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        drift=drift,
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=_configs())
def test_any_configuration_gives_valid_samples_or_deliberately_bad_ones(cfg: Simulator) -> None:
    messages = TrafficSimulator(cfg, START).take(30)
    assert messages == TrafficSimulator(cfg, START).take(30)
    for i, message in enumerate(messages):
        assert message.offset_seconds == i / cfg.rate
        if message.truth is None:
            _check_bad(message)
            continue
        sample = _check_good(message)
        assert sample.model in cfg.models
        assert sample.surface in cfg.surfaces
        assert sample.locale in cfg.locales
        if not cfg.harmful_share:
            assert not message.truth["harmful"]
