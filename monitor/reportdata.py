"""What the weekly report needs beyond hourly counts, gathered by the worker as it goes.

A report must never need raw samples, so the worker keeps, per UTC hour:

- **exemplars**: a few redacted snippets per segment, hour and *kind* of outcome (a refusal of a
  benign prompt, a violation, ...), chosen by reservoir sampling so every sample of a cell has
  the same chance and the cost per sample is one dict lookup and one random number. Text is
  redacted (:mod:`monitor.redact`) only when the cell is drained, for the few survivors;
- **DLQ counts** by reason, so the report can say how much input was unusable;
- **classifier counts** by model, role and ``name@version``, so a relabelling by a new
  classifier version is visible next to a drift it might explain.

Pure: no database, no clock; hours come from the samples' (or DLQ messages') own timestamps.

>>> from datetime import UTC, datetime
>>> from monitor.schema import RefusalScore, Sample, Verdict
>>> sample = Sample(sample_id="s1", ts=datetime(2026, 11, 16, 9, 5, tzinfo=UTC), model="m",
...     surface="chat", locale="en-US", messages=[
...         {"role": "user", "content": "Mail bob@example.com please"},
...         {"role": "assistant", "content": "Sorry, I can't."}])
>>> verdict = Verdict(sample_id="s1", ts=sample.ts, segment={"model": "m", "surface": "chat",
...     "locale": "en-US", "policy_area": "none"},
...     refusal=RefusalScore(label="full_refusal", score=1.0), classifiers={"refusal": "rules@1"})
>>> data = ReportData()
>>> data.add(sample, verdict)
>>> rows = data.drain()
>>> [(e.kind, e.prompt) for e in rows.exemplars]
[('refusal', 'Mail [EMAIL] please')]
>>> rows.classifiers[0].classifier, rows.classifiers[0].samples
('rules@1', 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from typing import Any

from monitor.counts import DIMENSIONS, MISSING, hour_of
from monitor.redact import snippet
from monitor.schema import Sample, Verdict

KINDS: tuple[str, ...] = (
    "violation",
    "under_refusal",
    "over_refusal",
    "refusal",
    "compliance",
    "unclassified",
)
"""Outcome kinds an exemplar reservoir is kept for, most telling first."""

RAW_WINDOW = 2048  # characters of raw text held per kept sample until it is redacted


def kind_of(verdict: Verdict) -> str:
    """The most telling outcome of a verdict, one of :data:`KINDS`."""
    if not verdict.classified:
        return "unclassified"
    if verdict.violation:
        return "violation"
    if verdict.under_refusal:
        return "under_refusal"
    if verdict.over_refusal:
        return "over_refusal"
    return "refusal" if verdict.refused else "compliance"


def labels_of(verdict: Verdict) -> dict[str, Any]:
    """The labels a reviewer sees next to an exemplar (no text)."""
    harm = verdict.prompt_harm
    return {
        "refusal": verdict.refusal.label if verdict.refusal else None,
        "refused": verdict.refused,
        "harmful": None if harm is None else harm.harmful,
        "over_refusal": verdict.over_refusal,
        "under_refusal": verdict.under_refusal,
        "violation": verdict.violation,
        "categories": sorted(k for k, v in verdict.violations.items() if v >= 0.5),
        "unclassified": verdict.unclassified,
    }


@dataclass(frozen=True)
class Exemplar:
    """One redacted example of a segment's outcome in one hour."""

    sample_id: str
    ts: datetime
    model: str
    surface: str
    locale: str
    policy_area: str
    kind: str
    labels: dict[str, Any] = field(hash=False)
    prompt: str
    response: str

    @property
    def segment(self) -> dict[str, str]:
        return {d: getattr(self, d) for d in DIMENSIONS}


@dataclass(frozen=True)
class DlqRow:
    hour: datetime
    reason: str
    count: int


@dataclass(frozen=True)
class ClassifierRow:
    hour: datetime
    model: str
    role: str
    classifier: str
    samples: int


@dataclass(frozen=True)
class ReportRows:
    """What one drain hands to the store."""

    exemplars: list[Exemplar]
    dlq: list[DlqRow]
    classifiers: list[ClassifierRow]

    def __bool__(self) -> bool:
        return bool(self.exemplars or self.dlq or self.classifiers)


_CellKey = tuple[datetime, str, str, str, str, str]  # hour, 4 dimensions, kind


@dataclass(frozen=True, slots=True)
class _Kept:
    """A sample held by a reservoir: its verdict and the head of its texts, not the sample."""

    verdict: Verdict
    prompt: str
    response: str

    @classmethod
    def of(cls, sample: Sample, verdict: Verdict) -> _Kept:
        # One character past the window tells snippet() the text was cut.
        return cls(verdict, sample.prompt[: RAW_WINDOW + 1], sample.response[: RAW_WINDOW + 1])


class ReportData:
    """Accumulates exemplars and tallies until :meth:`drain` hands them over.

    Parameters
    ----------
    per_kind
        Exemplars kept per (hour, segment, kind); 0 keeps none.
    snippet_chars
        Length of the redacted prompt and response snippets.
    seed
        Seed of the reservoir's random choices (reproducible runs).
    """

    def __init__(self, per_kind: int = 1, snippet_chars: int = 240, seed: int = 0) -> None:
        if per_kind < 0:
            raise ValueError(f"per_kind must be >= 0, got {per_kind}")
        self.per_kind = per_kind
        self.snippet_chars = snippet_chars
        self._rng = Random(seed)
        self._seen: dict[_CellKey, int] = {}
        self._kept: dict[_CellKey, list[_Kept]] = {}
        self._dlq: dict[tuple[datetime, str], int] = {}
        self._classifiers: dict[tuple[datetime, str, str, str], int] = {}
        self._newest: datetime | None = None
        self._quiet = True  # nothing added since the last drain

    def add(self, sample: Sample, verdict: Verdict) -> None:
        """Count the verdict's classifiers and offer the sample to its reservoir."""
        hour = hour_of(verdict.ts)
        self._quiet = False
        if self._newest is None or hour > self._newest:
            self._newest = hour
        segment = verdict.segment
        model = segment.get("model") or MISSING
        for role, classifier in verdict.classifiers.items():
            key = (hour, model, role, classifier)
            self._classifiers[key] = self._classifiers.get(key, 0) + 1
        if self.per_kind == 0:
            return
        dims = tuple(segment.get(d) or MISSING for d in DIMENSIONS)
        cell: _CellKey = (hour, *dims, kind_of(verdict))  # type: ignore[assignment]
        seen = self._seen.get(cell, 0) + 1
        self._seen[cell] = seen
        if seen <= self.per_kind:
            self._kept.setdefault(cell, []).append(_Kept.of(sample, verdict))
            return
        slot = self._rng.randrange(seen)
        if slot < self.per_kind:
            self._kept[cell][slot] = _Kept.of(sample, verdict)

    def add_dlq(self, reason: str, ts: datetime) -> None:
        """Count one message sent to the DLQ in the hour of ``ts``."""
        key = (hour_of(ts), reason)
        self._dlq[key] = self._dlq.get(key, 0) + 1

    def __len__(self) -> int:
        return len(self._seen) + len(self._dlq) + len(self._classifiers)

    def drain(self, everything: bool = True) -> ReportRows:
        """:meth:`take` and redact at once (tests, tools); the worker redacts in a thread."""
        return self.take(everything).rows()

    def take(self, everything: bool = False) -> Taken:
        """The tallies and the kept samples of complete cells; the rest keeps gathering.

        A cell's reservoir is complete once a newer hour has been seen or nothing came since
        the last take; ``everything`` (shutdown) takes every cell. Taking a cell early would
        let it keep ``per_kind`` more exemplars after each take. Cheap: no redaction here.
        """
        ready = everything or self._quiet
        newest = self._newest
        done = sorted(c for c in self._kept if ready or (newest is not None and c[0] < newest))
        kept = [(cell, one) for cell in done for one in self._kept.pop(cell)]
        self._seen = {c: n for c, n in self._seen.items() if c in self._kept}
        dlq = [DlqRow(hour, reason, n) for (hour, reason), n in sorted(self._dlq.items())]
        classifiers = [
            ClassifierRow(*key, samples=n) for key, n in sorted(self._classifiers.items())
        ]
        self._dlq, self._classifiers, self._quiet = {}, {}, True
        return Taken(kept, dlq, classifiers, self.snippet_chars)


@dataclass(frozen=True)
class Taken:
    """What :meth:`ReportData.take` took: :meth:`rows` redacts and hands it to the store."""

    kept: list[tuple[_CellKey, _Kept]]
    dlq: list[DlqRow]
    classifiers: list[ClassifierRow]
    snippet_chars: int

    def rows(self) -> ReportRows:
        exemplars = [_exemplar(cell, one, self.snippet_chars) for cell, one in self.kept]
        return ReportRows(exemplars, self.dlq, self.classifiers)


def _exemplar(cell: _CellKey, kept: _Kept, limit: int) -> Exemplar:
    _, model, surface, locale, policy_area, kind = cell
    return Exemplar(
        sample_id=kept.verdict.sample_id,
        ts=kept.verdict.ts,
        model=model,
        surface=surface,
        locale=locale,
        policy_area=policy_area,
        kind=kind,
        labels=labels_of(kept.verdict),
        prompt=snippet(kept.prompt, limit, RAW_WINDOW),
        response=snippet(kept.response, limit, RAW_WINDOW),
    )
