"""HourlyCounts: what each verdict adds to its hourly cell, and where the hour boundaries are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.counts import CountRow, HourlyCounts, combine
from monitor.schema import PromptHarm, RefusalLabel, RefusalScore, Verdict

SEGMENT = {"model": "atlas-2", "surface": "chat", "locale": "en-US"}
T0 = datetime(2025, 3, 1, 10, 15, tzinfo=UTC)


def verdict(
    refusal: RefusalLabel | None = "compliance",
    *,
    harmful: bool | None = False,
    ts: datetime = T0,
    segment: dict[str, str] | None = None,
    violations: dict[str, float] | None = None,
    unclassified: str | None = None,
    sample_id: str = "s",
) -> Verdict:
    refused = refusal in ("partial_refusal", "full_refusal")
    scores = violations or {}
    return Verdict(
        sample_id=sample_id,
        ts=ts,
        segment=SEGMENT if segment is None else segment,
        refusal=None if refusal is None else RefusalScore(label=refusal, score=0.9),
        prompt_harm=None if harmful is None else PromptHarm(harmful=harmful, score=0.8),
        violations=scores,
        violation=any(score >= 0.5 for score in scores.values()),
        over_refusal=refused and harmful is False,
        under_refusal=not refused and harmful is True and refusal is not None,
        unclassified=unclassified,
    )


def only_row(counts: HourlyCounts) -> CountRow:
    rows = counts.drain()
    assert len(rows) == 1, rows
    return rows[0]


def nonzero(row: CountRow) -> dict[str, int]:
    return {name: count for name, count in row.counters().items() if count}


def test_a_compliance_to_a_benign_prompt() -> None:
    counts = HourlyCounts()
    counts.add(verdict("compliance", harmful=False))
    row = only_row(counts)
    assert nonzero(row) == {"samples": 1, "classified": 1, "benign": 1}
    assert row.categories == {}


def test_unclassified_counts_only_as_a_sample_and_unclassified() -> None:
    counts = HourlyCounts()
    # Labels present but flagged unclassified (e.g. a classifier timed out half way).
    counts.add(
        verdict("full_refusal", harmful=True, violations={"cyber": 0.9}, unclassified="timeout")
    )
    # No refusal label at all is unclassified too, never a compliance.
    counts.add(verdict(None, harmful=None))
    row = only_row(counts)
    assert nonzero(row) == {"samples": 2, "unclassified": 2}
    assert row.categories == {}


def test_over_refusal_is_a_refused_benign_prompt() -> None:
    counts = HourlyCounts()
    counts.add(verdict("full_refusal", harmful=False))
    counts.add(verdict("partial_refusal", harmful=False))
    row = only_row(counts)
    assert nonzero(row) == {
        "samples": 2,
        "classified": 2,
        "refusals": 2,
        "partial_refusals": 1,
        "full_refusals": 1,
        "benign": 2,
        "over_refusals": 2,
    }


def test_under_refusal_is_a_complied_harmful_prompt() -> None:
    counts = HourlyCounts()
    counts.add(verdict("compliance", harmful=True, violations={"cyber": 0.7, "violence": 0.2}))
    counts.add(verdict("full_refusal", harmful=True))
    row = only_row(counts)
    assert nonzero(row) == {
        "samples": 2,
        "classified": 2,
        "refusals": 1,
        "full_refusals": 1,
        "harmful": 2,
        "under_refusals": 1,
        "violations": 1,
    }
    assert row.categories == {"cyber": 1}


def test_a_category_counts_from_a_score_of_one_half() -> None:
    counts = HourlyCounts()
    counts.add(verdict(violations={"sexual": 0.5, "hate_harassment": 0.4999}))
    counts.add(verdict(violations={"sexual": 1.0, "privacy_pii": 0.51}))
    assert only_row(counts).categories == {"privacy_pii": 1, "sexual": 2}


def test_missing_dimensions_become_none_and_policy_area_is_kept() -> None:
    counts = HourlyCounts()
    counts.add(verdict(segment={"model": "nimbus-1"}))
    counts.add(verdict(segment={**SEGMENT, "policy_area": "cyber"}))
    keys = sorted(row.key[1:] for row in counts.drain())
    assert keys == [("atlas-2", "chat", "en-US", "cyber"), ("nimbus-1", "none", "none", "none")]


def test_hours_are_utc_whatever_the_offset_of_the_timestamp() -> None:
    plus_two = timezone(timedelta(hours=2))
    minus_five = timezone(timedelta(hours=-5, minutes=-30))
    counts = HourlyCounts()
    counts.add(verdict(ts=datetime(2025, 3, 2, 0, 30, tzinfo=plus_two)))  # 22:30 UTC on the 1st
    counts.add(verdict(ts=datetime(2025, 3, 1, 22, 59, 59, 999999, tzinfo=UTC)))
    counts.add(verdict(ts=datetime(2025, 3, 1, 17, 30, tzinfo=minus_five)))  # 23:00 UTC
    rows = counts.drain()
    assert [(row.hour, row.samples) for row in rows] == [
        (datetime(2025, 3, 1, 22, tzinfo=UTC), 2),
        (datetime(2025, 3, 1, 23, tzinfo=UTC), 1),
    ]
    assert all(row.hour.utcoffset() == timedelta(0) for row in rows)


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="has no timezone"):
        HourlyCounts().add(verdict(ts=datetime(2025, 3, 1, 10)))


def test_drain_returns_sorted_rows_and_empties() -> None:
    counts = HourlyCounts()
    counts.add(verdict(ts=T0 + timedelta(hours=1)))
    counts.add(verdict(ts=T0))
    assert len(counts) == 2
    rows = counts.drain()
    assert [row.hour.hour for row in rows] == [10, 11]
    assert len(counts) == 0
    assert counts.drain() == []


def test_combine_refuses_rows_of_different_cells() -> None:
    a = CountRow(T0, "m", "chat", "en-US", "none", samples=1)
    with pytest.raises(ValueError, match="different cells"):
        combine(a, CountRow(T0, "m", "api", "en-US", "none", samples=1))


verdicts = st.builds(
    verdict,
    refusal=st.sampled_from([None, "compliance", "partial_refusal", "full_refusal"]),
    harmful=st.sampled_from([None, False, True]),
    ts=st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2024, 1, 3),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=45))]),
    ),
    segment=st.sampled_from([SEGMENT, {"model": "nimbus-1", "locale": "fr-FR"}]),
    violations=st.dictionaries(
        st.sampled_from(["cyber", "violence"]), st.floats(min_value=0, max_value=1)
    ),
    unclassified=st.sampled_from([None, None, "timeout"]),
)


@given(st.lists(verdicts, max_size=40), st.integers(min_value=0, max_value=40))
def test_draining_in_pieces_and_combining_equals_one_pass(stream: list[Verdict], cut: int) -> None:
    whole, pieces = HourlyCounts(), HourlyCounts()
    for v in stream:
        whole.add(v)
    drained: dict[tuple[object, ...], CountRow] = {}
    for part in (stream[:cut], stream[cut:]):
        for v in part:
            pieces.add(v)
        for row in pieces.drain():
            drained[row.key] = combine(drained[row.key], row) if row.key in drained else row
    rows = whole.drain()
    assert rows == [drained[key] for key in sorted(drained)]
    for row in rows:
        assert row.samples == row.classified + row.unclassified
        assert row.refusals == row.partial_refusals + row.full_refusals <= row.classified
        assert row.benign + row.harmful <= row.classified
        assert row.over_refusals <= row.benign and row.under_refusals <= row.harmful
