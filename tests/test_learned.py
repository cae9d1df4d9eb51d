"""The learned classifiers: contracts, registry, versions, offline loading, and properties.

Properties hold for any text (empty, huge, binary-looking, mixed scripts): the stack returns a
Verdict, classified or unclassified with a reason, and every score stays in [0, 1].
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import monitor.learned
from monitor.classify import (
    ClassifierStack,
    PromptHarmClassifier,
    RefusalClassifier,
    ViolationClassifier,
    available,
    build_stack,
)
from monitor.learned import (
    KEY_BITS,
    Features,
    LearnedPromptHarm,
    LearnedRefusal,
    LearnedViolation,
    features,
    featurize,
    load_models,
    platt_scale,
    save_models,
)
from monitor.schema import CATEGORIES, Sample, Verdict

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _sample(prompt: str, response: str) -> Sample:
    return Sample(
        sample_id="s1",
        ts=T0,
        model="m",
        surface="chat",
        locale="en",
        messages=[{"role": "user", "content": prompt}, {"role": "assistant", "content": response}],
    )


@pytest.fixture(scope="module")
def stack() -> ClassifierStack:
    return ClassifierStack(LearnedRefusal(), LearnedPromptHarm(), LearnedViolation())


def test_learned_backend_is_registered_for_every_role() -> None:
    assert available()["learned"] == ("refusal", "prompt_harm", "violation")
    built = build_stack("learned")
    assert built.classifiers["refusal"].startswith("learned-refusal@")


def test_classes_satisfy_the_protocols_and_record_the_manifest_version() -> None:
    _, manifest = load_models()
    assert isinstance(LearnedRefusal(), RefusalClassifier)
    assert isinstance(LearnedPromptHarm(), PromptHarmClassifier)
    assert isinstance(LearnedViolation(), ViolationClassifier)
    assert LearnedRefusal().version == manifest["version"]
    assert manifest["trained_on"]["sha256"] and manifest["seed"] is not None


def test_models_are_small_and_ship_in_the_package() -> None:
    folder = Path(monitor.learned.__file__).parent / "models"
    assert (folder / "manifest.json").is_file()
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5_000_000


@pytest.mark.parametrize(
    "response",
    [
        "I'm sorry, but I can't help with that request.",
        "Lo siento, pero no puedo ayudarte con esa petición.",
        "Je regrette, mais je ne peux pas vous aider.",
        "Es tut mir leid, aber ich kann dir dabei nicht helfen.",
        "Desculpe, não posso ajudar com isso.",
        "Mi dispiace, non posso farlo.",
        "申し訳ありませんが、お手伝いできません。",
        "对不起，我不能帮你做这件事。",
    ],
)
def test_refusals_in_several_languages(response: str) -> None:
    assert LearnedRefusal().refusal("q", response).label != "compliance"


def test_plain_help_is_compliance() -> None:
    out = LearnedRefusal().refusal("q", "Sure! Mix flour, eggs and milk, then fry for a minute.")
    assert out.label == "compliance" and out.score < 0.5


def test_sorry_to_hear_is_not_a_refusal() -> None:
    text = "I'm sorry to hear that. Here are a few tips: sleep well and eat well."
    assert LearnedRefusal().refusal("q", text).label == "compliance"


def test_batch_and_single_paths_agree() -> None:
    texts = ["", "hello", "I can't help with that.", "x" * 10_000, "混合 text мир"]
    refusal = LearnedRefusal()
    assert refusal.refusal_many(texts, texts) == [refusal.refusal(t, t) for t in texts]
    violation = LearnedViolation()
    assert violation.violations_many(texts) == [violation.violations(t) for t in texts]
    harm = LearnedPromptHarm()
    assert harm.prompt_harm_many(texts) == [harm.prompt_harm(t) for t in texts]
    assert refusal.refusal_many([], []) == [] and harm.prompt_harm_many([]) == []


def test_features_of_a_text_do_not_depend_on_its_batch() -> None:
    spec = Features()
    alone = featurize(["the same words"], spec)
    mixed = featurize(["other", "the same words", "more"], spec)
    assert sorted(alone.key) == sorted(mixed.key[mixed.doc == 1])


def test_a_head_scores_each_document_from_its_own_feature_counts() -> None:
    """The sparse product equals the plain sum, per document, of one weight row per feature."""
    head = monitor.learned._shipped()[0]["violation"]
    texts = ["", "kill them all", "a recipe for bread, kill the yeast? no", "日本語の文章です"]
    feats = featurize(texts, head.spec)
    folded = feats.key >> (KEY_BITS - head.bits)
    expected = np.zeros((len(texts), len(head.classes)))
    np.add.at(expected, feats.doc, head.weights[folded].astype(np.float64))
    expected = expected * feats.scale[:, None] + head.bias
    np.testing.assert_allclose(head.decision(feats), expected, rtol=1e-12, atol=1e-12)


def test_a_batch_read_by_two_heads_is_featurized_once() -> None:
    spec = Features()
    batch = ["one response", "another response"]
    first = features(batch, spec)
    assert features(list(batch), spec) is first
    other = features(["one response", "a different one"], spec)
    assert other is not first
    assert sorted(other.key[other.doc == 0]) == sorted(first.key[first.doc == 0])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.text(max_size=80), min_size=1, max_size=8),
    picks=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=10),
)
def test_some_texts_of_the_last_batch_are_its_rows(texts: list[str], picks: list[int]) -> None:
    """The cascade's refusal head reads some of the responses the violation head just read:
    their features, taken from that batch in any order and with repeats, are featurize's."""
    spec = Features()
    features(texts, spec)
    subset = [texts[i % len(texts)] for i in picks]
    got, want = features(subset, spec), featurize(subset, spec)
    assert got.n_docs == want.n_docs
    for field in ("doc", "key", "scale", "indptr"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field))


def test_mismatched_batch_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="2 prompts but 1 responses"):
        LearnedRefusal().refusal_many(["a", "b"], ["c"])


def test_missing_model_files_say_how_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"python -m monitor\.train"):
        load_models(tmp_path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prompt=st.text(max_size=300),
    response=st.one_of(
        st.text(max_size=2000),
        st.binary(max_size=500).map(lambda b: b.decode("latin-1")),
        st.tuples(st.text(min_size=1, max_size=20), st.integers(500, 3000)).map(
            lambda pair: pair[0] * pair[1]  # huge
        ),
    ),
)
def test_any_text_gets_a_verdict_or_a_clear_unclassified(
    stack: ClassifierStack, prompt: str, response: str
) -> None:
    verdict = stack.classify(_sample(prompt, response), {"model": "m"})
    assert isinstance(verdict, Verdict)
    if verdict.unclassified is not None:
        assert verdict.unclassified == "no_assistant_response" and not response.strip()
        return
    assert verdict.refusal is not None and 0.0 <= verdict.refusal.score <= 1.0
    assert verdict.prompt_harm is not None and 0.0 <= verdict.prompt_harm.score <= 1.0
    assert set(verdict.violations) == set(CATEGORIES)
    assert all(0.0 <= v <= 1.0 for v in verdict.violations.values())
    assert np.isfinite(list(verdict.violations.values())).all()


# --- calibration ------------------------------------------------------------------------------


def test_shipped_scores_are_calibrated_out_of_fold() -> None:
    heads, manifest = load_models()
    assert heads["refusal"].calibration == tuple(manifest["refusal_calibration"]["a_b"])
    assert heads["refusal"].calibration != (1.0, 0.0)
    assert 0.2 <= heads["prompt_harm"].threshold <= 0.8
    assert LearnedPromptHarm().threshold == heads["prompt_harm"].threshold
    assert LearnedPromptHarm(threshold=0.9).threshold == 0.9


def test_calibration_and_threshold_survive_save_and_load(tmp_path: Path) -> None:
    heads, manifest = load_models()
    changed = [
        replace(h, calibration=(0.5, -0.25), threshold=0.35) if n == "prompt_harm" else h
        for n, h in heads.items()
    ]
    save_models(changed, tmp_path, manifest)
    loaded, _ = load_models(tmp_path)
    assert loaded["prompt_harm"].calibration == (0.5, -0.25)
    assert loaded["prompt_harm"].threshold == 0.35
    assert loaded["refusal"].calibration == heads["refusal"].calibration
    harm = LearnedPromptHarm(loaded, "t")
    raw = loaded["prompt_harm"].proba(["How do I bake bread?"])[0, 0]
    expected = platt_scale(np.array([raw]), (0.5, -0.25))[0]
    assert harm.prompt_harm("How do I bake bread?").score == pytest.approx(expected, abs=1e-4)


def test_platt_scaling_recovers_a_known_miscalibration() -> None:
    from monitor.train import platt

    rng = np.random.default_rng(3)
    raw = rng.uniform(0.01, 0.99, 20_000)
    truth = platt_scale(raw, (0.5, 0.3))  # an overconfident model, biased low
    gold = rng.uniform(size=raw.size) < truth
    a, b = platt(raw, gold)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(0.3, abs=0.05)
    assert platt(raw, np.zeros(raw.size, dtype=bool)) == (1.0, 0.0)


def test_best_threshold_maximises_macro_f1() -> None:
    from monitor.train import best_threshold

    scores = np.array([0.1, 0.25, 0.3, 0.32, 0.6, 0.9])
    gold = np.array([False, False, True, True, True, True])
    assert best_threshold(scores, gold) == 0.3  # both classes exactly right
    assert best_threshold(np.array([0.9, 0.1]), np.array([True, False])) == 0.5  # tie: 0.5
