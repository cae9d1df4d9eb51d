"""`driftmon detectors plan`: what the current detectors can catch, and how fast, before anything
fires. Pure: it takes the traffic per segment and returns rows; the CLI prints them.

Traffic is observed (the store's hourly counts of the last days) or stated (the simulator
section's rate and mix). Each metric's stream sees its own share of a segment's traffic:
every classified sample for refusal, benign prompts for over-refusal, harmful ones for
under-refusal. The ARL0 in use comes from the detector's parameters, or from the weekly
false-page budget shared equally by every stream (``detectors.budget_pages_per_week``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from detectors import calibrate
from monitor.config import Config
from monitor.counts import CountRow

CHANGES: tuple[tuple[str, float], ...] = (
    ("+25%", 1.25),
    ("+50%", 1.5),
    ("x2", 2.0),
    ("-25%", 0.75),
)


@dataclass(frozen=True)
class Traffic:
    """One segment's traffic: samples per second and its rates (refusal, harmful share, …)."""

    segment: str
    per_second: float
    refusal: float
    harmful_share: float
    over_refusal: float
    under_refusal: float


@dataclass(frozen=True)
class PlanRow:
    segment: str
    metric: str
    per_hour: float
    rate: float
    arl0: float | None
    delays: tuple[float | None, ...]  # samples, in CHANGES order

    def hours(self, samples: float | None) -> float | None:
        return None if samples is None or self.per_hour <= 0 else samples / self.per_hour


def observed(rows: Iterable[CountRow], since: datetime) -> list[Traffic]:
    """Traffic per model|surface|locale from stored hourly counts since ``since``."""
    totals: dict[str, list[float]] = {}
    hours: set[datetime] = set()
    for row in rows:
        if row.hour < since:
            continue
        hours.add(row.hour)
        t = totals.setdefault(f"{row.model}|{row.surface}|{row.locale}", [0.0] * 6)
        for i, v in enumerate(
            (row.classified, row.refusals, row.harmful, row.benign, row.over_refusals)
        ):
            t[i] += v
        t[5] += row.under_refusals
    span = max(len(hours), 1) * 3600.0
    return [
        Traffic(
            seg,
            n / span,
            _ratio(r, n),
            _ratio(h, n),
            _ratio(o, b),
            _ratio(u, h),
        )
        for seg, (n, r, h, b, o, u) in sorted(totals.items())
        if n > 0
    ]


def stated(cfg: Config) -> list[Traffic]:
    """Traffic per segment implied by the simulator section (rate × mix), before any drift."""
    sim = cfg.simulator
    weights = [sim.models, sim.surfaces, sim.locales]
    totals = [sum(w.values()) for w in weights]
    h = sim.harmful_share
    refusal = h * sim.refusal_harmful + (1 - h) * sim.refusal_benign
    out = []
    for (m, wm), (s, ws), (loc, wl) in itertools.product(*(w.items() for w in weights)):
        share = wm / totals[0] * ws / totals[1] * wl / totals[2]
        under = 1 - sim.refusal_harmful
        out.append(
            Traffic(f"{m}|{s}|{loc}", sim.rate * share, refusal, h, sim.refusal_benign, under)
        )
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def plan(cfg: Config, traffic: list[Traffic]) -> list[PlanRow]:
    """One row per (segment, metric) stream with ARL0 and expected delays."""
    streams = []
    for t in traffic:
        streams.append((t, "refusal", t.per_second, t.refusal))
        streams.append((t, "over_refusal", t.per_second * (1 - t.harmful_share), t.over_refusal))
        streams.append((t, "under_refusal", t.per_second * t.harmful_share, t.under_refusal))
    streams = [s for s in streams if s[1] in cfg.detectors.metrics]
    arl0s = _arl0s(cfg, [rate for _, _, rate, _ in streams])
    rows = []
    for (t, metric, rate, p0), arl0 in zip(streams, arl0s, strict=True):
        delays = tuple(_delay(p0, p0 * factor, arl0) for _, factor in CHANGES)
        rows.append(PlanRow(t.segment, metric, rate * 3600, p0, arl0, delays))
    return rows


def _arl0s(cfg: Config, per_second: list[float]) -> list[float | None]:
    budget = cfg.detectors.budget_pages_per_week
    if budget is not None:
        return list(calibrate.arl0_for_budget(budget, per_second))
    fixed = cfg.detectors.params.get("arl0")
    return [float(fixed) if fixed is not None else None] * len(per_second)


def _delay(p0: float, p1: float, arl0: float | None) -> float | None:
    if arl0 is None or not 0 < p0 < 1 or arl0 < 10:
        return None
    delay = calibrate.expected_delay(p0, min(p1, 0.999), arl0)
    return delay if math.isfinite(delay) else None


def since_days(now: datetime, days: int = 7) -> datetime:
    return now - timedelta(days=days)
