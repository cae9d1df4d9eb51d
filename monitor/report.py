"""The weekly drift report for policy review: the pure core, from stored rows to numbers.

Everything a reviewer reads is computed here from what the worker stored as it went (hourly
per-segment counts, drift events and their timeline, redacted exemplars, DLQ and classifier
tallies), so a report never needs raw samples and the same rows always give the same report.
:func:`load` is the only function that touches the store; :func:`build` is pure and returns a
JSON-ready dict, which :mod:`monitor.report_render` turns into HTML, Markdown or JSON.

Rates (each with a Wilson 95% interval, :func:`detectors.stats.wilson`):

==================  ===========================  =====================================
metric              numerator                    denominator
==================  ===========================  =====================================
``refusal``         refusals (partial + full)    classified samples
``over_refusal``    refusals of benign prompts   benign prompts
``under_refusal``   compliance, harmful prompts  harmful prompts
``violation``       violating responses          classified samples
==================  ===========================  =====================================

The baseline is the four ISO weeks before the report's week, pooled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import polars as pl

from detectors.stats import wilson
from monitor.counts import COUNTERS, DIMENSIONS, CountRow
from monitor.report_events import EXEMPLAR_WINDOW, event_entries, iso, questions
from monitor.reportdata import ClassifierRow, DlqRow, Exemplar
from monitor.schema import METRICS, DriftEvent, TimelineEntry

RATES: dict[str, tuple[str, str]] = {
    "refusal": ("refusals", "classified"),
    "over_refusal": ("over_refusals", "benign"),
    "under_refusal": ("under_refusals", "harmful"),
    "violation": ("violations", "classified"),
}
"""Metric -> (numerator counter, denominator counter) in the hourly counts."""

BASELINE_WEEKS = 4
ALL = "all"
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
YEARS = (1970, 9998)  # a report also reads weeks before and after its own: dates stay valid


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week, Monday 00:00 UTC to the next Monday."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2026-W47`` -> Week; ValueError saying what is expected otherwise.

        >>> Week.parse("2026-W47").start.isoformat()
        '2026-11-16T00:00:00+00:00'
        >>> Week.parse("2026-W54")
        Traceback (most recent call last):
        ...
        ValueError: week '2026-W54' does not exist: 2026 has 53 ISO weeks
        """
        match = _WEEK.match(text.strip())
        if match is None:
            raise ValueError(f"week {text!r} is not an ISO week like 2026-W47 (year-Wnumber)")
        year, number = int(match[1]), int(match[2])
        if not YEARS[0] <= year <= YEARS[1]:
            raise ValueError(f"week {text!r}: the year must be from {YEARS[0]} to {YEARS[1]}")
        weeks = date(year, 12, 28).isocalendar().week
        if not 1 <= number <= weeks:
            raise ValueError(f"week {text!r} does not exist: {year} has {weeks} ISO weeks")
        return cls(year, number)

    @classmethod
    def containing(cls, ts: datetime) -> Week:
        iso = ts.astimezone(UTC).isocalendar()
        return cls(iso.year, iso.week)

    @property
    def start(self) -> datetime:
        monday = date.fromisocalendar(self.year, self.number, 1)
        return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    def shifted(self, weeks: int) -> Week:
        return Week.containing(self.start + timedelta(days=7 * weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"


@dataclass(frozen=True)
class Scope:
    """Which segments a report covers: every one, or only the listed dimension values.

    An event whose segment does not carry a scoped dimension (refusal metrics are watched
    across all policy areas of a model, surface and locale) is in every value of it.

    >>> Scope.parse("policy_area=cyber,model=atlas-2,model=atlas-3").label
    'model=atlas-2|atlas-3, policy_area=cyber'
    """

    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        filters: dict[str, list[str]] = {}
        for part in (text or "").split(","):
            if not part.strip():
                continue
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep or not value:
                raise ValueError(f"scope part {part.strip()!r} is not dimension=value")
            if key not in DIMENSIONS:
                raise ValueError(
                    f"scope dimension {key!r} is unknown; use one of {', '.join(DIMENSIONS)}"
                )
            filters.setdefault(key, [])
            filters[key] += [v for v in value.split("|") if v not in filters[key]]
        return cls({k: tuple(v) for k, v in sorted(filters.items())})

    @property
    def label(self) -> str:
        if not self.filters:
            return ALL
        return ", ".join(f"{k}={'|'.join(v)}" for k, v in self.filters.items())

    def frame(self, df: pl.DataFrame) -> pl.DataFrame:
        for key, values in self.filters.items():
            df = df.filter(pl.col(key).is_in(list(values)))
        return df

    def has(self, segment: Mapping[str, str]) -> bool:
        return all(k not in segment or segment[k] in v for k, v in self.filters.items())


class ReportStore(Protocol):
    """What :func:`load` reads (the real :class:`monitor.store.Store` has all of it)."""

    def counts(
        self, start: datetime | None = ..., end: datetime | None = ...
    ) -> list[CountRow]: ...

    def events(self, since: datetime | None = ...) -> list[DriftEvent]: ...

    def timeline(self, event_ids: Iterable[str] | None = ...) -> list[TimelineEntry]: ...

    def exemplars(
        self, start: datetime | None = ..., end: datetime | None = ...
    ) -> list[Exemplar]: ...

    def dlq_counts(
        self, start: datetime | None = ..., end: datetime | None = ...
    ) -> list[DlqRow]: ...

    def classifier_counts(
        self, start: datetime | None = ..., end: datetime | None = ...
    ) -> list[ClassifierRow]: ...


@dataclass
class ReportInput:
    """Every stored row a report of one week and scope is built from."""

    week: Week
    scope: Scope
    counts: list[CountRow]
    events: list[DriftEvent]
    timeline: list[TimelineEntry]
    exemplars: list[Exemplar]
    dlq: list[DlqRow]
    classifiers: list[ClassifierRow]
    generated_at: datetime
    grafana_url: str | None = None


def load(
    store: ReportStore,
    week: Week,
    scope: Scope,
    generated_at: datetime | None = None,
    grafana_url: str | None = None,
) -> ReportInput:
    """Read what the report of ``week`` needs: counts back to the baseline, the week's events."""
    start, end = week.start, week.end
    first = week.shifted(-BASELINE_WEEKS).start
    events = [e for e in store.events(since=start) if e.detected_ts < end]
    before, after = EXEMPLAR_WINDOW
    return ReportInput(
        week=week,
        scope=scope,
        counts=store.counts(first, end),
        events=events,
        timeline=store.timeline([e.id for e in events]) if events else [],
        exemplars=store.exemplars(start - before, end + after),
        dlq=store.dlq_counts(start, end),
        classifiers=store.classifier_counts(week.shifted(-1).start, end),
        generated_at=generated_at or datetime.now(UTC),
        grafana_url=grafana_url,
    )


# --- numbers -----------------------------------------------------------------------------------


def interval(k: int, n: int) -> dict[str, Any]:
    """A rate with its Wilson 95% interval; ``rate`` is None without samples.

    >>> interval(10, 100)["low"]
    0.055229
    """
    low, high = wilson(k, n)
    rate = k / n if n else None
    return {
        "k": k,
        "n": n,
        "rate": None if rate is None else round(rate, 6),
        "low": round(low, 6) if n else None,
        "high": round(high, 6) if n else None,
    }


def counts_frame(rows: Iterable[CountRow]) -> pl.DataFrame:
    """Hourly counts as a polars frame (one column per key and counter)."""
    rows = list(rows)
    columns: dict[str, list[Any]] = {"hour": [r.hour for r in rows]}
    for name in (*DIMENSIONS, *COUNTERS):
        columns[name] = [getattr(r, name) for r in rows]
    schema: dict[str, Any] = {"hour": pl.Datetime("us", "UTC")}
    schema |= dict.fromkeys(DIMENSIONS, pl.String) | dict.fromkeys(COUNTERS, pl.Int64)
    return pl.DataFrame(columns, schema=schema)


def _sums(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    return df.group_by(by).agg(pl.col(c).sum() for c in COUNTERS)


def _rates(row: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {
        m: interval(int(row[num]), int(row[den])) if row else interval(0, 0)
        for m, (num, den) in RATES.items()
    }


def _change(now: dict[str, Any], then: dict[str, Any]) -> float | None:
    if now["rate"] is None or then["rate"] is None:
        return None
    return round(now["rate"] - then["rate"], 6)


def headline(df: pl.DataFrame, week: Week) -> list[dict[str, Any]]:
    """Rates per model and policy area (and per model over all areas), biggest movers first."""
    periods = {
        "week": (week.start, week.end),
        "previous": (week.shifted(-1).start, week.start),
        "baseline": (week.shifted(-BASELINE_WEEKS).start, week.start),
    }
    tables: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for name, (lo, hi) in periods.items():
        part = df.filter((pl.col("hour") >= lo) & (pl.col("hour") < hi))
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for by_area in (True, False):
            grouped = _sums(part, ["model", "policy_area"] if by_area else ["model"])
            for row in grouped.iter_rows(named=True):
                table[(row["model"], row["policy_area"] if by_area else ALL)] = row
        tables[name] = table
    out = []
    for key, row in tables["week"].items():
        now = _rates(row)
        prev, base = _rates(tables["previous"].get(key)), _rates(tables["baseline"].get(key))
        for metric in METRICS:
            if now[metric]["n"] == 0:
                continue
            out.append(
                {
                    "model": key[0],
                    "policy_area": key[1],
                    "metric": metric,
                    "week": now[metric],
                    "previous": prev[metric],
                    "baseline": base[metric],
                    "change_vs_previous": _change(now[metric], prev[metric]),
                    "change_vs_baseline": _change(now[metric], base[metric]),
                }
            )

    def mover(r: dict[str, Any]) -> tuple[float, str, str, str]:
        move = r["change_vs_baseline"]
        move = r["change_vs_previous"] if move is None else move
        return (-abs(move or 0.0), r["model"], r["policy_area"], r["metric"])

    return sorted(out, key=mover)


def daily(df: pl.DataFrame, week: Week) -> list[dict[str, Any]]:
    """Per day of the week and model: samples and the four rates."""
    part = df.filter((pl.col("hour") >= week.start) & (pl.col("hour") < week.end))
    part = part.with_columns(pl.col("hour").dt.date().alias("day"))
    rows = _sums(part, ["day", "model"]).sort(["day", "model"])
    return [
        {"day": r["day"].isoformat(), "model": r["model"], "samples": r["samples"], **_rates(r)}
        for r in rows.iter_rows(named=True)
    ]


def by_policy_area(df: pl.DataFrame, week: Week) -> list[dict[str, Any]]:
    """Over- and under-refusal per policy area, this week and the previous one."""
    out: dict[str, dict[str, Any]] = {}
    for name, w in (("week", week), ("previous", week.shifted(-1))):
        part = df.filter((pl.col("hour") >= w.start) & (pl.col("hour") < w.end))
        for r in _sums(part, ["policy_area"]).iter_rows(named=True):
            rates = _rates(r)
            entry = out.setdefault(r["policy_area"], {"policy_area": r["policy_area"]})
            entry[name] = {m: rates[m] for m in ("over_refusal", "under_refusal")}
    empty = {m: interval(0, 0) for m in ("over_refusal", "under_refusal")}
    return [
        {"policy_area": a, "week": e.get("week", empty), "previous": e.get("previous", empty)}
        for a, e in sorted(out.items())
        if "week" in e
    ]


def _gaps(hours_with_traffic: set[datetime], start: datetime, end: datetime) -> list[dict]:
    """Runs of whole hours in ``[start, end)`` without a single sample."""
    gaps: list[dict[str, Any]] = []
    hour = start
    while hour < end:
        if hour not in hours_with_traffic:
            if gaps and gaps[-1]["_end"] == hour:
                gaps[-1]["_end"] = hour + timedelta(hours=1)
            else:
                gaps.append({"_start": hour, "_end": hour + timedelta(hours=1)})
        hour += timedelta(hours=1)
    return [
        {"start": iso(g["_start"]), "end": iso(g["_end"]), "hours": (g["_end"] - g["_start"]) // _H}
        for g in gaps
    ]


_H = timedelta(hours=1)


def classifier_versions(
    rows: Iterable[ClassifierRow], week: Week, scope: Scope
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Classifiers in use during the week (per role) and every change of version, including
    one at the start of the week from what the previous week used last."""
    models = scope.filters.get("model")
    used: dict[tuple[str, str], dict[str, Any]] = {}
    last_before: dict[str, tuple[datetime, str]] = {}
    for r in rows:
        if models is not None and r.model not in models:
            continue
        if r.hour < week.start:
            if r.role not in last_before or r.hour >= last_before[r.role][0]:
                last_before[r.role] = (r.hour, r.classifier)
            continue
        u = used.setdefault((r.role, r.classifier), {"samples": 0, "first": r.hour, "last": r.hour})
        u["samples"] += r.samples
        u["first"], u["last"] = min(u["first"], r.hour), max(u["last"], r.hour)
    in_use = [
        {
            "role": role,
            "classifier": clf,
            "samples": u["samples"],
            "first_seen": iso(u["first"]),
            "last_seen": iso(u["last"] + _H),
        }
        for (role, clf), u in sorted(used.items(), key=lambda i: (i[0][0], i[1]["first"], i[0][1]))
    ]
    changes = []
    for role in sorted({role for role, _ in used}):
        order = [u for u in in_use if u["role"] == role]
        previous = last_before.get(role, (None, None))[1]
        for u in order:
            if previous is not None and u["classifier"] != previous:
                changes.append(
                    {"role": role, "from": previous, "to": u["classifier"], "at": u["first_seen"]}
                )
            previous = u["classifier"]
    return in_use, changes


def quality(df: pl.DataFrame, data: ReportInput, through: datetime) -> dict[str, Any]:
    """Samples, unclassified share, DLQ by reason, classifier versions and traffic gaps."""
    week = data.week
    part = df.filter((pl.col("hour") >= week.start) & (pl.col("hour") < week.end))
    prev = df.filter((pl.col("hour") >= week.shifted(-1).start) & (pl.col("hour") < week.start))
    samples, classified, unclassified = (int(part[c].sum()) for c in COUNTERS[:3])
    hours = set(part.filter(pl.col("samples") > 0)["hour"].to_list())
    dlq: dict[str, int] = {}
    for d in data.dlq:
        if week.start <= d.hour < week.end:
            dlq[d.reason] = dlq.get(d.reason, 0) + d.count
    in_use, changes = classifier_versions(data.classifiers, week, data.scope)
    until = min(week.end, through.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
    return {
        "samples": samples,
        "classified": classified,
        "unclassified": unclassified,
        "unclassified_share": interval(unclassified, samples),
        "samples_previous_week": int(prev["samples"].sum()),
        "dlq": [
            {"reason": r, "count": n} for r, n in sorted(dlq.items(), key=lambda i: (-i[1], i[0]))
        ],
        "dlq_total": sum(dlq.values()),
        "classifiers": in_use,
        "classifier_changes": changes,
        "gaps": _gaps(hours, week.start, max(until, week.start)),
    }


def summary(report: dict[str, Any]) -> list[str]:
    """A few plain sentences for the top of the report and the chat summary."""
    events = report["events"]
    q = report["questions"]
    dq = report["data_quality"]
    if dq["samples"] == 0 and not events:
        return [f"No traffic and no drift events in {report['week']} ({report['scope']})."]
    critical = sum(1 for e in events if e["severity"] == "critical")
    lines = [
        f"{dq['samples']:,} samples, {len(events)} drift event(s) ({critical} critical), "
        f"{len(q['still_open'])} still open, {len(q['unacknowledged'])} owner(s) with "
        "unacknowledged pages."
    ]
    for row in report["headline"][:3]:
        move = row["change_vs_baseline"]
        versus = "4-week baseline"
        if move is None:
            move, versus = row["change_vs_previous"], "previous week"
        if move:
            lines.append(
                f"{row['metric']} {row['model']}/{row['policy_area']}: "
                f"{row['week']['rate']:.1%} ({move * 100:+.1f} pp vs {versus})"
            )
    if dq["classifier_changes"]:
        lines.append(f"{len(dq['classifier_changes'])} classifier version change(s) this week.")
    return lines


def build(data: ReportInput) -> dict[str, Any]:
    """The whole report as a JSON-ready dict (the numbers every renderer shows)."""
    week, scope = data.week, data.scope
    df = scope.frame(counts_frame(data.counts))
    events = [e for e in data.events if scope.has(e.segment)]
    window = tuple(w.total_seconds() for w in EXEMPLAR_WINDOW)
    event_rows = event_entries(events, data.timeline, data.exemplars, window, data.grafana_url)
    top = headline(df, week)
    report: dict[str, Any] = {
        "week": str(week),
        "period": {"start": iso(week.start), "end": iso(week.end)},
        "baseline": {"start": iso(week.shifted(-BASELINE_WEEKS).start), "end": iso(week.start)},
        "scope": scope.label,
        "generated_at": iso(data.generated_at),
        "headline": top,
        "daily": daily(df, week),
        "policy_areas": by_policy_area(df, week),
        "events": event_rows,
        "data_quality": quality(df, data, data.generated_at),
        "questions": questions(top, event_rows, data.generated_at),
    }
    report["summary"] = summary(report)
    return report
