"""Parsing untrusted samples: every input is a Sample or a SampleError with a bounded reason."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.schema import (
    BIDI_CONTROLS,
    DLQ_REASONS,
    DriftEvent,
    Interval,
    SampleError,
    event_id,
    parse_sample,
    segment_key,
)

GOOD = {
    "sample_id": "s-1",
    "ts": "2026-11-23T10:00:00Z",
    "model": "atlas-2",
    "surface": "chat",
    "locale": "en-US",
    "messages": [
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "How do I bake bread?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Mix flour and water."}]},
    ],
}


def raw(**changes: object) -> bytes:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_good_sample_parses_with_text_of_last_turns() -> None:
    sample = parse_sample(raw(metadata={"conv": 1}, extra_field=True))
    assert sample.prompt == "How do I bake bread?"
    assert sample.response == "Mix flour and water."
    assert sample.ts == datetime(2026, 11, 23, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not_json"),
        (b"\xff\xfe\x00garbage", "invalid_utf8"),
        (b"[1, 2]", "not_an_object"),
        (raw(sample_id=...), "missing_field"),
        (raw(messages="hello"), "wrong_type"),
        (raw(model=7), "wrong_type"),
        (raw(messages=[]), "empty_messages"),
        (raw(ts="2026-11-23T10:00:00"), "invalid_value"),
        (raw(messages=[{"role": "wizard", "content": "x"}]), "invalid_value"),
        (b"{" + b" " * 300_000 + b"}", "oversized"),
        (raw(locale="en\nUS"), "invalid_value"),
        (raw(model="atlas\x1b[2J"), "invalid_value"),
        (raw(sample_id="s\x85"), "invalid_value"),
        (raw(model="atlas\u202e2-sat"), "invalid_value"),
    ],
)
def test_bad_messages_get_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(SampleError) as caught:
        parse_sample(payload)
    assert caught.value.reason == reason
    assert caught.value.detail


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["sample_id", "model", "surface", "locale", "policy_area"]),
    st.text(min_size=1, max_size=60),
)
def test_ids_and_segment_values_are_taken_unless_they_hold_control_characters(
    field: str, value: str
) -> None:
    """They reach metric labels, alert annotations, logs and terminals verbatim."""
    control = any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in value)
    try:
        sample = parse_sample(raw(**{field: value}))
    except SampleError as exc:
        assert control and exc.reason == "invalid_value" and "control characters" in exc.detail
    else:
        assert not control and getattr(sample, field) == value


def test_deep_nesting_is_rejected_not_crashing() -> None:
    deep = b'{"sample_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(SampleError):
        parse_sample(deep, max_bytes=10**6)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_fail_with_known_reason(payload: bytes) -> None:
    try:
        parse_sample(payload)
    except SampleError as exc:
        assert exc.reason in DLQ_REASONS


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(GOOD)), json_values))
def test_mutated_samples_parse_or_fail_with_known_reason(changes: dict) -> None:
    payload = json.dumps({**GOOD, **changes}).encode()
    try:
        parse_sample(payload)
    except SampleError as exc:
        assert exc.reason in DLQ_REASONS


def test_event_ids_are_deterministic_and_segment_order_free() -> None:
    a = event_id({"model": "m", "surface": "s"}, "refusal", "x")
    assert a == event_id({"surface": "s", "model": "m"}, "refusal", "x")
    assert a != event_id({"model": "m", "surface": "s"}, "violation", "x")
    assert segment_key({"b": "2", "a": "1"}) == "a=1|b=2"


def test_event_description_has_rates_and_no_text() -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    event = DriftEvent(
        id="e1",
        segment={"model": "m", "surface": "chat"},
        metric="refusal",
        direction="up",
        detector="adwin",
        change_offset=10,
        change_ts=now,
        detected_ts=now,
        before=Interval(rate=0.1, low=0.08, high=0.12, n=1000, k=100),
        after=Interval(rate=0.3, low=0.25, high=0.35, n=300, k=90),
    )
    line = event.describe()
    assert "refusal ↑ model=m surface=chat" in line
    assert "10.0% [8.0%–12.0%]" in line and "30.0% [25.0%–35.0%]" in line
