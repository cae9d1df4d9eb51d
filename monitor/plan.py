"""What the detectors run with, and what they can catch: per-stream tuning from traffic.

The weekly false-page budget (``detectors.budget_pages_per_week``) becomes one ARL0 per
(segment, metric) stream: the budget is shared equally in time, so every stream expects the same
number of weeks between false pages and a busy stream gets a larger ARL0 in samples. Small
segments, which would take more than a week to gather a baseline of their own, start from their
parent segment's rate (the same model and surface over all locales), worth
``detectors.pool_events`` events (see ``BernoulliCUSUM.prior_rate``).

The worker tunes its detectors from the store's hourly counts of the last 7 days
(:func:`observed`); ``driftmon detectors plan --observed`` prints the same figures with the
expected detection delays, and without ``--observed`` the ones the simulator section implies
(:func:`stated`). Pure: traffic in, numbers out.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from detectors import calibrate
from monitor.config import Config
from monitor.counts import CountRow
from monitor.schema import Metric, segment_key

CHANGES: tuple[tuple[str, float], ...] = (
    ("+25%", 1.25),
    ("+50%", 1.5),
    ("x2", 2.0),
    ("-25%", 0.75),
)
CALIBRATED = "bernoulli_cusum"
"""The detector whose thresholds follow from an ARL0 (and that can pool toward a prior)."""
PARENT_DROPS = "locale"
"""Small segments pool toward the segment without this dimension."""

StreamKey = tuple[str, Metric]


@dataclass(frozen=True)
class StreamTraffic:
    """One (segment, metric) stream: samples it sees per second and its rate (events share)."""

    segment: Mapping[str, str] = field(hash=False)
    metric: Metric
    per_second: float
    events: float  # events over the observed span, for pooling
    samples: float

    @property
    def rate(self) -> float:
        return self.events / self.samples if self.samples else 0.0

    @property
    def key(self) -> StreamKey:
        return segment_key(dict(self.segment)), self.metric

    @property
    def label(self) -> str:
        return "|".join(self.segment[k] for k in self.segment)


@dataclass(frozen=True)
class PlanRow:
    segment: str
    metric: str
    per_hour: float
    rate: float
    arl0: float | None
    delays: tuple[float | None, ...]  # samples, in CHANGES order
    prior: float | None = None  # the parent rate a small segment pools toward

    def hours(self, samples: float | None) -> float | None:
        return None if samples is None or self.per_hour <= 0 else samples / self.per_hour


@dataclass(frozen=True)
class Tuning:
    """Detector parameters per stream, on top of ``detectors.params``; ``fallback`` (by
    metric) is for a stream the traffic did not show yet, so it still honours the budget."""

    streams: Mapping[StreamKey, Mapping[str, Any]] = field(default_factory=dict)
    fallback: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    budget: float | None = None

    def params(self, key: StreamKey) -> Mapping[str, Any]:
        return self.streams.get(key) or self.fallback.get(key[1], {})


_METRIC_COLUMNS: tuple[tuple[Metric, str, str], ...] = (
    ("refusal", "classified", "refusals"),
    ("over_refusal", "benign", "over_refusals"),
    ("under_refusal", "harmful", "under_refusals"),
    ("violation", "classified", "violations"),
)


def observed(
    rows: Iterable[CountRow],
    since: datetime,
    dimensions: Iterable[str] = ("model", "surface", "locale"),
    until: datetime | None = None,
) -> list[StreamTraffic]:
    """Traffic per stream from stored hourly counts since ``since`` (segments cut to
    ``dimensions``, violation streams also by policy area, as the detect stage keys them).

    Rates are averaged over the time from the first counted hour (or ``since``) to ``until``
    (default: the end of the last counted hour), quiet hours included: the expected number of
    false pages a week is what a week's traffic brings, and a partly elapsed current hour is
    not taken for a whole one."""
    dims = list(dimensions)
    totals: dict[tuple[tuple[tuple[str, str], ...], Metric], list[float]] = {}
    hours: set[datetime] = set()
    for row in rows:
        if row.hour < since:
            continue
        hours.add(row.hour)
        base = tuple((d, str(getattr(row, d))) for d in dims)
        for metric, n_col, k_col in _METRIC_COLUMNS:
            seg = (*base, ("policy_area", row.policy_area)) if metric == "violation" else base
            t = totals.setdefault((seg, metric), [0.0, 0.0])
            t[0] += getattr(row, n_col)
            t[1] += getattr(row, k_col)
    if not hours:
        return []
    end = until or max(hours) + timedelta(hours=1)
    span = max((end - max(min(hours), since)).total_seconds(), 60.0)
    return [
        StreamTraffic(dict(seg), metric, n / span, k, n)
        for (seg, metric), (n, k) in sorted(totals.items())
        if n > 0
    ]


def stated(cfg: Config) -> list[StreamTraffic]:
    """Traffic per stream implied by the simulator section (rate × mix) over a week, before
    any drift: refusal, over- and under-refusal streams per model/surface/locale."""
    sim = cfg.simulator
    weights = [sim.models, sim.surfaces, sim.locales]
    totals = [sum(w.values()) for w in weights]
    h = sim.harmful_share
    refusal = h * sim.refusal_harmful + (1 - h) * sim.refusal_benign
    out = []
    for (m, wm), (s, ws), (loc, wl) in itertools.product(*(w.items() for w in weights)):
        per_second = sim.rate * wm / totals[0] * ws / totals[1] * wl / totals[2]
        segment = {"model": m, "surface": s, "locale": loc}
        for metric, share, rate in (
            ("refusal", 1.0, refusal),
            ("over_refusal", 1 - h, sim.refusal_benign),
            ("under_refusal", h, 1 - sim.refusal_harmful),
        ):
            n = per_second * share * calibrate.WEEK
            out.append(StreamTraffic(segment, metric, per_second * share, n * rate, n))  # type: ignore[arg-type]
    return out


def tuning(cfg: Config, traffic: list[StreamTraffic]) -> Tuning:
    """Per-stream ARL0 from the budget and priors for small segments, for the watched metrics
    of the calibrated detector (any other detector runs ``detectors.params`` as they are)."""
    d = cfg.detectors
    streams = [t for t in traffic if t.metric in d.metrics]
    if d.name != CALIBRATED or not streams:
        return Tuning()
    arl0s: list[float | None] = [None] * len(streams)
    if d.budget_pages_per_week is not None:
        arl0s = list(_budget(d.budget_pages_per_week, [t.per_second for t in streams]))
    priors = _priors(
        streams, int(d.params.get("min_events", calibrate.DEFAULT_MIN_EVENTS)), d.pool_events
    )
    per_stream = {}
    for t, arl0 in zip(streams, arl0s, strict=True):
        params: dict[str, Any] = {} if arl0 is None else {"arl0": arl0}
        prior = priors.get(t.key)
        if prior is not None:
            params |= {"prior_rate": prior[0], "prior_weight": prior[1]}
        per_stream[t.key] = params
    fallback = {}
    if d.budget_pages_per_week is not None:
        for metric in {t.metric for t in streams}:
            mine = [a for t, a in zip(streams, arl0s, strict=True) if t.metric == metric and a]
            fallback[metric] = {"arl0": _round(statistics.median(mine))}
    return Tuning(per_stream, fallback, d.budget_pages_per_week)


def from_counts(
    cfg: Config, rows: Iterable[CountRow], since: datetime, now: datetime | None = None
) -> Tuning:
    """The tuning a worker runs: :func:`tuning` of the traffic in stored hourly counts."""
    return tuning(cfg, observed(rows, since, cfg.segments.dimensions, now))


def _budget(pages_per_week: float, per_second: list[float]) -> list[float]:
    return [_round(max(a, 10.0)) for a in calibrate.arl0_for_budget(pages_per_week, per_second)]


def _round(arl0: float) -> float:
    """Two significant digits: thresholds are tabulated per ARL0, so few distinct values keep
    re-deriving them cheap, and ±5% is well inside the calibration's own ±25%."""
    digits = math.floor(math.log10(arl0)) - 1
    return float(round(arl0 / 10**digits) * 10**digits)


def _priors(
    streams: list[StreamTraffic], min_events: int, pool_events: int
) -> dict[StreamKey, tuple[float, float]]:
    """(prior rate, weight in samples) for streams that would not see ``min_events`` of their
    minority outcome in a week on their own; the prior is their parent's rate."""
    if pool_events <= 0:
        return {}
    parents: dict[tuple[str, Metric], list[float]] = {}
    for t in streams:
        p = parents.setdefault(_parent(t), [0.0, 0.0])
        p[0] += t.samples
        p[1] += t.events
    out = {}
    for t in streams:
        weekly = t.per_second * calibrate.WEEK * min(t.rate, 1 - t.rate)
        n, k = parents[_parent(t)]
        if weekly >= min_events or n <= t.samples or not 0 < k < n:
            continue
        rate = k / n
        out[t.key] = (rate, min(pool_events, min_events) / min(rate, 1 - rate))
    return out


def _parent(t: StreamTraffic) -> tuple[str, Metric]:
    return segment_key({k: v for k, v in t.segment.items() if k != PARENT_DROPS}), t.metric


def plan(cfg: Config, traffic: list[StreamTraffic]) -> list[PlanRow]:
    """One row per watched stream with the ARL0 in use and the expected delays."""
    tuned = tuning(cfg, traffic)
    fixed = cfg.detectors.params.get("arl0")
    rows = []
    for t in traffic:
        if t.metric not in cfg.detectors.metrics:
            continue
        params = {**cfg.detectors.params, **tuned.params(t.key)}
        arl0 = params.get("arl0", fixed) if cfg.detectors.name == CALIBRATED else None
        arl0 = None if arl0 is None else float(arl0)
        delays = tuple(_delay(t.rate, t.rate * factor, arl0) for _, factor in CHANGES)
        rows.append(
            PlanRow(
                t.label,
                t.metric,
                t.per_second * 3600,
                t.rate,
                arl0,
                delays,
                params.get("prior_rate"),
            )
        )
    return rows


def _delay(p0: float, p1: float, arl0: float | None) -> float | None:
    if arl0 is None or not 0 < p0 < 1 or arl0 < 10:
        return None
    delay = calibrate.expected_delay(p0, min(p1, 0.999), arl0)
    return delay if math.isfinite(delay) else None


def since_days(now: datetime, days: int = 7) -> datetime:
    return now - timedelta(days=days)


class _Counts(Protocol):
    def counts(self, start: datetime) -> Iterable[CountRow]: ...


def recent_counts(store: _Counts, now: datetime) -> tuple[list[CountRow], datetime]:
    """The store's hourly counts of the last 7 days and where they start: the traffic both the
    worker's tuning and ``driftmon detectors plan --observed`` read."""
    since = since_days(now)
    return list(store.counts(start=since)), since
