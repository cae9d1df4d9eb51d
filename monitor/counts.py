"""Hourly per-segment counters built from verdicts: the rates the weekly report is made of.

The streaming worker feeds every :class:`~monitor.schema.Verdict` to an :class:`HourlyCounts`
and, every flush interval, drains the accumulated rows into the store, which *adds* them to what
is already there. Because rows are additive, a row can be drained in several pieces (several
flushes, several workers) and the store still ends up with the right totals.

This module is pure: no database, no clock. The hour of a verdict is its own ``ts`` truncated to
the hour in UTC, so a replay of the same verdicts gives the same rows.

>>> from datetime import datetime, timezone
>>> from monitor.schema import RefusalScore, Verdict
>>> counts = HourlyCounts()
>>> counts.add(Verdict(
...     sample_id="s1", ts=datetime(2025, 3, 1, 10, 42, tzinfo=timezone.utc),
...     segment={"model": "atlas-2", "surface": "chat", "locale": "en-US"},
...     refusal=RefusalScore(label="full_refusal", score=0.9)))
>>> [row] = counts.drain()
>>> row.hour.isoformat(), row.policy_area, row.samples, row.refusals, row.full_refusals
('2025-03-01T10:00:00+00:00', 'none', 1, 1, 1)
>>> counts.drain()
[]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from monitor.schema import Verdict

DIMENSIONS: tuple[str, ...] = ("model", "surface", "locale", "policy_area")
"""Segment dimensions that key a row, in key order (after the hour)."""

MISSING = "none"
"""Value of a dimension the verdict's segment does not carry."""

COUNTERS: tuple[str, ...] = (
    "samples",
    "classified",
    "unclassified",
    "refusals",
    "partial_refusals",
    "full_refusals",
    "benign",
    "harmful",
    "over_refusals",
    "under_refusals",
    "violations",
)
"""Integer counters of a row, in column order."""

CATEGORY_THRESHOLD = 0.5
"""A verdict counts towards a violation category when its score for it is at least this."""

Key = tuple[datetime, str, str, str, str]


@dataclass(frozen=True)
class CountRow:
    """Counts of one (hour, model, surface, locale, policy_area) cell.

    ``refusals`` is ``partial_refusals + full_refusals``; ``categories`` maps a violation
    category to the number of verdicts scoring at least :data:`CATEGORY_THRESHOLD` for it.
    """

    hour: datetime
    model: str
    surface: str
    locale: str
    policy_area: str
    samples: int = 0
    classified: int = 0
    unclassified: int = 0
    refusals: int = 0
    partial_refusals: int = 0
    full_refusals: int = 0
    benign: int = 0
    harmful: int = 0
    over_refusals: int = 0
    under_refusals: int = 0
    violations: int = 0
    categories: Mapping[str, int] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> Key:
        return (self.hour, self.model, self.surface, self.locale, self.policy_area)

    def counters(self) -> dict[str, int]:
        """The integer counters by name, in :data:`COUNTERS` order."""
        return {name: getattr(self, name) for name in COUNTERS}


def combine(a: CountRow, b: CountRow) -> CountRow:
    """Add two rows of the same cell: every counter and every category summed.

    >>> from datetime import datetime, timezone
    >>> hour = datetime(2025, 3, 1, 10, tzinfo=timezone.utc)
    >>> a = CountRow(hour, "m", "chat", "en-US", "none", samples=2, categories={"cyber": 1})
    >>> b = CountRow(hour, "m", "chat", "en-US", "none", samples=3,
    ...              categories={"cyber": 2, "hate_harassment": 1})
    >>> c = combine(a, b)
    >>> c.samples, dict(c.categories)
    (5, {'cyber': 3, 'hate_harassment': 1})
    """
    if a.key != b.key:
        raise ValueError(f"cannot combine rows of different cells: {a.key!r} and {b.key!r}")
    summed = {name: getattr(a, name) + getattr(b, name) for name in COUNTERS}
    return dataclasses.replace(a, **summed, categories=merge_categories(a.categories, b.categories))


def merge_categories(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    """Per-category sum of two category counts, keys sorted.

    >>> merge_categories({"cyber": 1}, {"cyber": 2, "sexual": 1})
    {'cyber': 3, 'sexual': 1}
    """
    merged = dict(a)
    for category, count in b.items():
        merged[category] = merged.get(category, 0) + count
    return dict(sorted(merged.items()))


def hour_of(ts: datetime) -> datetime:
    """``ts`` truncated to the hour, in UTC; naive timestamps are refused, not guessed.

    >>> from datetime import timedelta, timezone
    >>> hour_of(datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))).isoformat()
    '2025-02-28T22:00:00+00:00'
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(
            f"verdict timestamp {ts.isoformat()} has no timezone; hourly counts are bucketed "
            "in UTC, so give the timestamp an offset"
        )
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class HourlyCounts:
    """Accumulates verdicts into hourly per-segment rows until :meth:`drain` hands them over.

    An unclassified verdict counts only in ``samples`` and ``unclassified``: it is never a
    compliance, a benign prompt or anything else the classifiers did not say.
    """

    def __init__(self) -> None:
        self._cells: dict[Key, dict[str, int]] = {}
        self._categories: dict[Key, dict[str, int]] = {}

    def __len__(self) -> int:
        """Number of cells waiting to be drained."""
        return len(self._cells)

    def add(self, verdict: Verdict) -> None:
        """Count one verdict in the cell of its hour and segment."""
        segment = verdict.segment
        model, surface, locale, policy_area = (segment.get(d) or MISSING for d in DIMENSIONS)
        key: Key = (hour_of(verdict.ts), model, surface, locale, policy_area)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = dict.fromkeys(COUNTERS, 0)
            self._categories[key] = {}
        cell["samples"] += 1
        if not verdict.classified or verdict.refusal is None:
            cell["unclassified"] += 1
            return
        cell["classified"] += 1
        label = verdict.refusal.label
        if label == "partial_refusal":
            cell["partial_refusals"] += 1
            cell["refusals"] += 1
        elif label == "full_refusal":
            cell["full_refusals"] += 1
            cell["refusals"] += 1
        if verdict.prompt_harm is not None:
            cell["harmful" if verdict.prompt_harm.harmful else "benign"] += 1
        cell["over_refusals"] += int(verdict.over_refusal)
        cell["under_refusals"] += int(verdict.under_refusal)
        cell["violations"] += int(verdict.violation)
        categories = self._categories[key]
        for category, score in verdict.violations.items():
            if score >= CATEGORY_THRESHOLD:
                categories[category] = categories.get(category, 0) + 1

    def drain(self) -> list[CountRow]:
        """Return the accumulated rows, sorted by key, and start again from empty."""
        rows = [
            CountRow(
                *key,
                **cast("dict[str, Any]", cell),  # exactly the COUNTERS, all ints
                categories=dict(sorted(self._categories[key].items())),
            )
            for key, cell in sorted(self._cells.items())
        ]
        self._cells = {}
        self._categories = {}
        return rows
