"""Detection quality of BernoulliCUSUM against the oracle CUSUM and river's detectors.

    python benchmarks/detectors.py [--quick] [--jobs 2] [--seed 7]

Everything is seeded and printed; docs/detection.md quotes one full run. Sections:

1. calibration: measured ARL0 of BernoulliCUSUM against the configured target;
2. detection: mean/median delay, misses within a horizon, false alarms before the change and
   the delay ratio to the oracle CUSUM (knows p0 and p1, one-sided in the true direction, its
   threshold calibrated here by simulation to the same measured ARL0);
3. river: ADWIN, PageHinkley (mode both), DDM, HDDM_A and HDDM_W (two-sided) at river's
   defaults and at a threshold matched to the same false-alarm rate;
4. Siegmund's expected_delay against simulation; 5. per-update cost;
6. 500 streams of unequal traffic for a simulated week under a budget of one false page.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

# this file is benchmarks/detectors.py: put the repository first so that `detectors` is the
# package, not this script
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from detectors import calibrate
from detectors.bernoulli import BernoulliCUSUM
from detectors.cusum import Bank

BASE_RATES = (0.005, 0.02, 0.1, 0.3)
# name -> (final rate / p0, ramp length in expected baseline events; 0 = abrupt)
SCENARIOS: dict[str, tuple[float, float]] = {
    "-50%": (0.5, 0),
    "-25%": (0.75, 0),
    "+25%": (1.25, 0),
    "+50%": (1.5, 0),
    "x2": (2.0, 0),
    "ramp+50%": (1.5, 200),
}
M = calibrate.DEFAULT_MIN_EVENTS


def change_at(p0: float, arl0: float) -> int:
    """Where the change happens: after 1.25 expected warm-ups (every stream's warm-up is over:
    its length varies by about ±3%) and then min(0.75 warm-ups, ARL0/5) watched samples, so
    that the baseline holds 1.25-2 × min_events events and most runs see no false alarm
    first."""
    warm = M / p0
    return round(1.25 * warm + min(0.75 * warm, arl0 / 5))


def rate_after(p0: float, scenario: str, since: np.ndarray) -> np.ndarray:
    """Event probability ``since`` samples after the change (negative: before it)."""
    ratio, ramp_events = SCENARIOS[scenario]
    if ramp_events:
        frac = np.clip(since / (ramp_events / p0), 0.0, 1.0)
        post = p0 + (ratio * p0 - p0) * frac
    else:
        post = np.full(since.shape, ratio * p0)
    return np.where(since < 0, p0, post)


# --- 1. calibration -------------------------------------------------------------------------


def calibration_task(args: tuple[float, float, int, int]) -> dict[str, Any]:
    arl0, p0, streams, seed = args
    [(watched, alarms)] = calibrate.measure_arl0(arl0, p0, streams, seed)
    return {"arl0": arl0, "p0": p0, "watched": watched, "alarms": alarms}


# --- the oracle CUSUM -----------------------------------------------------------------------


def _llr(p0: float, p1: float) -> tuple[float, float]:
    return math.log(p1 / p0), math.log((1 - p1) / (1 - p0))


def oracle_null(
    p0: float, p1: float, hs: Sequence[float], rows: int, steps: int, burn: int, seed: int
) -> list[tuple[int, int]]:
    """Watched samples and alarms per threshold of a CUSUM for p0 → p1 on no-change data
    (reset to 0 after an alarm; counting starts after ``burn`` steps, in steady state)."""
    rng = np.random.default_rng(seed)
    a, b = _llr(p0, p1)
    h = np.repeat(np.asarray(hs, dtype=np.float64), rows)
    s = np.zeros(h.size)
    alarms = np.zeros(h.size, np.int64)
    done = 0
    while done < burn + steps:
        length = min(512, burn + steps - done)
        inc = np.where(rng.random((length, h.size), dtype=np.float32) < p0, a, b)
        for i in range(length):
            s += inc[i]
            np.maximum(s, 0.0, out=s)
            hit = s >= h
            if hit.any():
                s[hit] = 0.0
                if done + i >= burn:
                    alarms += hit
        done += length
    per = alarms.reshape(len(hs), rows).sum(axis=1)
    return [(rows * steps, int(v)) for v in per]


def oracle_threshold(p0: float, p1: float, target: float, seed: int, alarms: int) -> float:
    """The oracle's threshold for ARL0 = target, calibrated by simulation (3 trial levels
    around Siegmund's value, log ARL0 fitted linearly in h)."""
    a, b = _llr(p0, p1)
    kl0 = calibrate.kl(p0, p1)
    rho = 0.5 * max(a, b)
    lo, hi = 0.0, 60.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if calibrate.siegmund(-kl0, -1.0, mid + rho) < target:
            lo = mid
        else:
            hi = mid
    center = 0.5 * (lo + hi)
    rows = 3000
    steps = int(alarms * target / rows) + 1
    burn = int(min(5 / kl0, 50_000))
    points: list[tuple[float, int, int]] = []
    for attempt in range(3):
        hs = [center - 0.3, center, center + 0.3]
        got = oracle_null(p0, p1, hs, rows, steps, burn, seed + attempt)
        points = [p for p in points if abs(p[0] - center) < 0.7]
        points += [(h, w, n) for h, (w, n) in zip(hs, got, strict=True)]
        h_star = calibrate._fit(target, points)
        if abs(h_star - center) <= 0.2:
            return h_star
        center = h_star
    return center


def oracle_delays(
    p0: float, scenario: str, h: float, rows: int, burn: int, horizon: int, seed: int
) -> np.ndarray:
    """Delays (samples after the change, inclusive) of the oracle at threshold h; NaN = miss."""
    rng = np.random.default_rng(seed)
    ratio = SCENARIOS[scenario][0]
    a, b = _llr(p0, ratio * p0)
    s = np.zeros(rows)
    delay = np.full(rows, np.nan)
    t = -burn
    while t < horizon and np.isnan(delay).any():
        length = 512
        since = np.arange(t, t + length)
        p = rate_after(p0, scenario, since)[:, None]
        inc = np.where(rng.random((length, rows), dtype=np.float32) < p, a, b)
        for i in range(length):
            s += inc[i]
            np.maximum(s, 0.0, out=s)
            hit = s >= h
            if hit.any():
                s[hit] = 0.0
                if t + i >= 0:
                    new = hit & np.isnan(delay)
                    delay[new] = t + i + 1
        t += length
    delay[delay > horizon] = np.nan
    return delay


def oracle_task(args: tuple[float, str, float, float, int, int]) -> dict[str, Any]:
    """The oracle for (p0, scenario) at the ARL0 our detector measured for ``nominal``."""
    p0, scenario, nominal, target, seed, alarms = args
    ratio = SCENARIOS[scenario][0]
    h = oracle_threshold(p0, ratio * p0, target, seed, alarms)
    burn = int(min(5 / calibrate.kl(p0, ratio * p0), 50_000))
    d = oracle_delays(p0, scenario, h, 2000, burn, int(target / 2), seed + 99)
    return {"p0": p0, "scenario": scenario, "target": nominal, "h": h, "delays": d}


# --- our detector on changing streams -------------------------------------------------------


def ours_task(args: tuple[float, Sequence[float], int, int]) -> list[dict[str, Any]]:
    """Delays of BernoulliCUSUM at each ARL0 for each scenario, p0 from its own warm-up."""
    p0, targets, reps, seed = args
    names = list(SCENARIOS)
    combos = [(a, s) for a in targets for s in names]
    detectors = [BernoulliCUSUM(arl0=a) for a, _ in combos for _ in range(reps)]
    rows = len(detectors)
    tau = np.array([change_at(p0, a) for a, _ in combos for _ in range(reps)])
    horizon = np.array([a / 2 for a, _ in combos for _ in range(reps)])
    scen = np.array([names.index(s) for _, s in combos for _ in range(reps)])
    rng = np.random.default_rng(seed)
    bank = Bank(detectors)
    first = np.full(rows, np.nan)
    early = np.zeros(rows, np.int64)
    t = 0

    def draw(start: int, length: int) -> np.ndarray:
        since = np.arange(t + start, t + start + length)[None, :] - tau[:, None]
        p = np.empty((rows, length))
        for j, name in enumerate(names):
            p[scen == j] = rate_after(p0, name, since[scen == j])
        return rng.random((rows, length)) < p

    while True:
        length = 4096
        for r, i in bank.run(steps=length, draw=draw):
            when = t + i
            if when < tau[r]:
                early[r] += 1
            elif np.isnan(first[r]):
                first[r] = when - tau[r] + 1
        t += length
        pending = np.isnan(first) & (t - tau < horizon) & (early == 0)
        if (t > tau).all() and not pending.any():
            break
    first[first > horizon] = np.nan
    out = []
    for c, (a, s) in enumerate(combos):
        sl = slice(c * reps, (c + 1) * reps)
        out.append({"p0": p0, "target": a, "scenario": s, "delays": first[sl], "early": early[sl]})
    return out


# --- river ----------------------------------------------------------------------------------


def river_factory(name: str, value: float | None) -> Callable[[], Any]:
    from river import drift
    from river.drift import binary

    if name == "ADWIN":
        return lambda: drift.ADWIN() if value is None else drift.ADWIN(delta=value)
    if name == "PageHinkley":
        kw = {} if value is None else {"threshold": value}
        return lambda: drift.PageHinkley(mode="both", **kw)
    if name == "DDM":
        return lambda: binary.DDM() if value is None else binary.DDM(drift_threshold=value)
    cls = binary.HDDMA if name == "HDDM_A" else binary.HDDMW
    if value is None:
        return lambda: cls(two_sided_test=True)
    return lambda: cls(
        drift_confidence=value, warning_confidence=max(value, 0.005), two_sided_test=True
    )


RIVER = ("ADWIN", "PageHinkley", "DDM", "HDDM_A", "HDDM_W")
# per detector: delay runs per cell, alarms per matching trial (streams for the first-passage
# ones), samples for the ARL0 check; river's detectors run in pure Python at 0.1-4 µs a value
RIVER_REPS = {"ADWIN": 500, "PageHinkley": 100, "DDM": 100, "HDDM_A": 12, "HDDM_W": 12}
RIVER_ALARMS = {"ADWIN": 60, "PageHinkley": 80, "DDM": 80, "HDDM_A": 15, "HDDM_W": 15}
RIVER_CHECK = {
    "ADWIN": 5 * 10**7,  # ~500 alarms: its delays move 0.2-0.5% per 1% of ARL0
    "PageHinkley": 4 * 10**6,
    "DDM": 4 * 10**6,
    "HDDM_A": 10**6,
    "HDDM_W": 10**6,
}
RIVER_DEFAULTS = {"ADWIN": 0.002, "PageHinkley": 50.0, "DDM": 3.0, "HDDM_A": 0.001, "HDDM_W": 0.001}
# a larger value gives fewer false alarms for these, a smaller for the others
RIVER_UP = {"PageHinkley": True, "DDM": True, "ADWIN": False, "HDDM_A": False, "HDDM_W": False}


def river_null(
    name: str, value: float | None, p0: float, budget: int, stop: int, seed: int
) -> tuple[int, int]:
    """Samples and alarms on a no-change stream (river detectors reset themselves)."""
    rng = np.random.default_rng(seed)
    detector = river_factory(name, value)()
    n = alarms = 0
    while n < budget and alarms < stop:
        for x in (rng.random(8192) < p0).tolist():
            detector.update(x)
            n += 1
            if detector.drift_detected:
                alarms += 1
    return n, alarms


def _statistic(name: str, d: Any) -> float:
    """The quantity PageHinkley / DDM compare with their threshold (state independent of it)."""
    if name == "PageHinkley":
        if d._x_mean.n < d.min_instances:
            return -math.inf
        return max(d._sum_increase - d._min_increase, d._max_decrease - d._sum_decrease)
    n = d._p.n
    if n <= d.warm_start or d._p_min is None:
        return -math.inf
    p = d._p.get()
    s = math.sqrt(p * (1 - p) / n)
    if d._s_min == 0:
        return math.inf if p + s > d._p_min else -math.inf
    return (p + s - d._p_min) / d._s_min


def river_match_first_passage(
    name: str, p0: float, target: float, seed: int, streams: int
) -> float:
    """PageHinkley/DDM: first-passage times of every threshold from one run per stream (their
    state does not depend on the threshold), then the threshold whose mean time is target."""
    rng = np.random.default_rng(seed)
    cap = int(2.5 * target)
    records: list[tuple[list[float], list[int]]] = []
    for _ in range(streams):
        d = river_factory(name, 1e300)()
        values, times, best, t = [], [], -math.inf, 0
        while t < cap:
            for x in (rng.random(8192) < p0).tolist():
                d.update(x)
                t += 1
                z = _statistic(name, d)
                if z > best:
                    best = z
                    values.append(z)
                    times.append(t)
                    if z == math.inf:
                        break
            if best == math.inf:
                break
        records.append((values, [*times, cap]))

    def arl(theta: float) -> float:
        total, crossed = 0.0, 0
        for values, times in records:
            idx = next((i for i, v in enumerate(values) if v > theta), None)
            if idx is None:
                total += times[-1]
            else:
                total += times[idx]
                crossed += 1
        return total / max(crossed, 0.5)

    candidates = sorted({v for values, _ in records for v in values if math.isfinite(v)})
    if not candidates:
        return RIVER_DEFAULTS[name]
    lo, hi = 0, len(candidates) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if arl(candidates[mid]) < target:
            lo = mid + 1
        else:
            hi = mid
    return candidates[lo]


def river_match_search(name: str, p0: float, target: float, seed: int, alarms: int) -> float:
    """ADWIN/HDDM: their state depends on the parameter, so each trial is its own run. Step by
    ×10 from the default until the target is bracketed, then interpolate log ARL0 linearly in
    log(parameter) between the closest bracketing trials. A larger parameter alarms sooner."""
    budget = int(4 * target)
    below: tuple[float, float] | None = None  # (log param, log ARL0) with ARL0 < target
    above: tuple[float, float] | None = None  # ARL0 >= target (or no alarm within budget)
    x = math.log(RIVER_DEFAULTS[name])
    best = (math.inf, x)
    for trial in range(10):
        n, a = river_null(name, math.exp(x), p0, budget, alarms, seed + trial)
        y = math.log(n / a) if a else math.log(budget * 2.0)
        best = min(best, (abs(y - math.log(target)), x))
        if a >= alarms // 2 and abs(y - math.log(target)) < 0.12:
            return math.exp(x)
        if y < math.log(target):
            below = (x, y)
        else:
            above = (x, y)
        if below is None:
            x += math.log(10.0)
        elif above is None:
            x -= math.log(10.0)
        else:
            (x1, y1), (x2, y2) = below, above
            u = (math.log(target) - y1) / (y2 - y1) if y2 != y1 else 0.5
            x = x1 + min(max(u, 0.15), 0.85) * (x2 - x1)
        x = min(x, math.log(0.5))
    return math.exp(best[1])


def river_refine(
    name: str, p0: float, target: float, value: float, samples: int, seed: int
) -> float:
    """Secant steps in log(parameter) from the search's value toward ARL0 = target,
    measured on the same ``samples`` no-change samples each time (so the estimate moves smoothly
    with the parameter instead of adding a fresh stream's noise at every step; the search's own
    trials see only a few alarms each)."""
    goal = math.log(target)

    def log_arl0(x: float) -> float:
        n, alarms = river_null(name, math.exp(x), p0, samples, 10**9, seed)
        return math.log(n / max(alarms, 0.5))

    x0 = math.log(value)
    y0 = log_arl0(x0)
    x1 = min(x0 + (0.5 if (y0 > goal) != RIVER_UP[name] else -0.5), math.log(0.5))
    y1 = log_arl0(x1)
    for _ in range(4):
        if abs(y1 - goal) < 0.03 or y1 == y0:
            break
        step = max(min((goal - y1) * (x1 - x0) / (y1 - y0), 1.5), -1.5)
        x0, y0, x1 = x1, y1, min(x1 + step, math.log(0.5))
        y1 = log_arl0(x1)
    return math.exp(x1 if abs(y1 - goal) <= abs(y0 - goal) else x0)


def river_delays(
    name: str, value: float | None, p0: float, tau: int, horizon: int, reps: int, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rng = np.random.default_rng(seed)
    for scenario in SCENARIOS:
        delays, early = [], []
        for _ in range(reps):
            d = river_factory(name, value)()
            since = np.arange(-tau, horizon)
            xs = (rng.random(since.size) < rate_after(p0, scenario, since)).tolist()
            got, before = math.nan, 0
            for i, x in enumerate(xs):
                d.update(x)
                if d.drift_detected:
                    if i < tau:
                        before = 1
                        break  # a false alarm first: not a run for the conditional delay
                    got = i - tau + 1
                    break
            delays.append(got)
            early.append(before)
        out[scenario] = {"delays": np.array(delays), "early": np.array(early)}
    return out


def river_match(name: str, p0: float, target: float, seed: int, alarms: int, samples: int) -> float:
    """The parameter that gives ``name`` an ARL0 of ``target`` at ``p0``, by the method its
    state allows (``samples``: the long stream ADWIN's refinement runs on)."""
    if name in ("PageHinkley", "DDM"):
        return river_match_first_passage(name, p0, target, seed, alarms)
    matched = river_match_search(name, p0, target, seed, alarms)
    if name == "ADWIN":  # HDDM, at 3-4 µs a value, cannot afford streams long enough
        matched = river_refine(name, p0, target, matched, samples, seed + 20)
    return matched


def river_task(args: tuple[str, float, float, int, int, bool]) -> dict[str, Any]:
    name, p0, target, reps, seed, quick = args
    started = time.perf_counter()
    alarms = RIVER_ALARMS[name] // (4 if quick else 1)
    budget = RIVER_CHECK[name] // (10 if quick else 1)
    matched = river_match(name, p0, target, seed, alarms, budget)
    default_null = river_null(name, None, p0, budget, 10**6, seed + 5)
    matched_null = river_null(name, matched, p0, budget, 10**6, seed + 6)
    tau = min(change_at(p0, target), 20_000)
    horizon = int(target / 2)
    res = {
        "name": name,
        "p0": p0,
        "target": target,
        "matched": matched,
        "tau": tau,
        "default_null": default_null,
        "matched_null": matched_null,
        "default": river_delays(name, None, p0, tau, horizon, reps, seed + 7),
        "matched_delays": river_delays(name, matched, p0, tau, horizon, reps, seed + 8),
        "seconds": time.perf_counter() - started,
    }
    return res


# --- 5. per-update cost ---------------------------------------------------------------------


def cost_table(n: int = 200_000) -> list[tuple[str, float]]:
    rng = np.random.default_rng(3)
    xs = (rng.random(n) < 0.1).astype(int).tolist()
    rows = []
    makers: list[tuple[str, Callable[[], Any]]] = [
        ("BernoulliCUSUM.update", lambda: BernoulliCUSUM(arl0=1e5, min_events=200)),
    ] + [(f"river {r}", river_factory(r, None)) for r in RIVER]
    for label, make in makers:
        d = make()
        start = time.perf_counter()
        for x in xs:
            d.update(x)
        rows.append((label, (time.perf_counter() - start) / n * 1e6))
    d = BernoulliCUSUM(arl0=1e5, min_events=200)
    arr = np.asarray(xs)
    start = time.perf_counter()
    d.update_many(arr)
    rows.append(("BernoulliCUSUM.update_many", (time.perf_counter() - start) / n * 1e6))
    return rows


# --- 6. many streams under a weekly page budget ---------------------------------------------


def fleet_task(args: tuple[int, int, bool, int]) -> dict[str, Any]:
    """``streams`` streams of log-normal traffic under one false page a week in all. Each runs a
    warm-up week, then ``weeks`` counted weeks; with ``inject``, ten busy streams change
    mid-way through the first counted week."""
    from detectors.cusum import advance

    streams, seed, inject, weeks = args
    rng = np.random.default_rng(seed)
    rates = np.exp(rng.normal(math.log(0.05), 1.3, streams))  # samples/s per stream
    base = rng.choice([0.01, 0.02, 0.05, 0.1, 0.2], streams)  # base rate per stream
    arl0 = calibrate.arl0_for_budget(1.0, rates.tolist())
    n_week = np.maximum(1, rng.poisson(rates * calibrate.WEEK))
    factor = np.ones(streams)
    at = np.zeros(streams, np.int64)
    changed = np.zeros(streams, bool)
    if inject:
        busy = np.flatnonzero(n_week * base > 4 * M)  # busy enough to be watched by then
        pick = rng.choice(busy, 10, replace=False)
        changed[pick] = True
        factor[pick] = rng.choice([1.5, 2.0, 0.5], 10)
        at[pick] = n_week[pick] + n_week[pick] // 2
    pages = np.zeros(weeks, np.int64)
    caught: dict[int, int] = {}
    watching = 0
    for i in range(streams):
        detector = BernoulliCUSUM(arl0=max(10.0, arl0[i]))
        size = int(n_week[i]) * (1 + weeks)
        p = np.full(size, base[i])
        if changed[i]:
            p[at[i] :] *= factor[i]
        for t in advance(detector, rng.random(size) < p).tolist():
            week = t // int(n_week[i]) - 1
            if week < 0:
                continue  # the warm-up week
            if changed[i] and t >= at[i]:
                caught.setdefault(i, int(t - at[i] + 1))
            else:
                pages[week] += 1
        watching += detector.state == "watching"
    return {
        "arl0": arl0,
        "base": base,
        "inject": inject,
        "pages": pages.tolist(),
        "caught": caught,
        "rates": rates,
        "changed": np.flatnonzero(changed),
        "factor": factor,
        "watching": watching,
        "weeks": weeks,
    }


# --- printing -------------------------------------------------------------------------------


def fmt(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, header))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def restricted_mean(delays: np.ndarray, early: np.ndarray, horizon: float) -> float:
    """Mean delay counting a miss as the whole horizon (so that missing is never rewarded)."""
    kept = delays[np.asarray(early) == 0]
    if kept.size == 0:
        return math.inf
    return float(np.where(np.isnan(kept), horizon, kept).mean())


def rel_se(delays: np.ndarray, early: np.ndarray | None = None) -> float:
    """Relative standard error of the mean delay over the detected runs."""
    if early is not None:
        delays = delays[np.asarray(early) == 0]
    hit = delays[~np.isnan(delays)]
    if hit.size < 2:
        return math.inf
    return float(hit.std(ddof=1) / math.sqrt(hit.size) / hit.mean())


def summary(delays: np.ndarray, early: np.ndarray | None = None) -> tuple[float, float, float]:
    """Mean and median delay and miss rate over the runs with no alarm before the change
    (conditional delay); NaN marks a miss."""
    if early is not None:
        delays = delays[np.asarray(early) == 0]
    hit = delays[~np.isnan(delays)]
    if hit.size == 0:
        return math.inf, math.inf, 1.0 if delays.size else math.nan
    return float(hit.mean()), float(np.median(hit)), 1.0 - hit.size / delays.size


def poisson_range(mean: float) -> tuple[int, int]:
    """Central 95% range of a Poisson count."""
    cdf, k, lo = 0.0, 0, None
    term = math.exp(-mean)
    while True:
        cdf += term
        if lo is None and cdf >= 0.025:
            lo = k
        if cdf >= 0.975:
            return lo or 0, k
        k += 1
        term *= mean / k


def print_calibration(cal: list[dict[str, Any]]) -> None:
    print("\n## 1. Calibration: measured ARL0 against the target (p0 from each stream's warm-up)\n")
    rows = []
    for c in cal:
        got = c["watched"] / max(c["alarms"], 1)
        ok = abs(got / c["arl0"] - 1) <= 0.25
        rows.append(
            [
                fmt(c["arl0"]),
                c["p0"],
                fmt(got),
                f"{got / c['arl0']:.2f}",
                c["alarms"],
                "ok" if ok else "OUT",
            ]
        )
    print(table(["target ARL0", "p0", "measured ARL0", "ratio", "false alarms", "±25%"], rows))


def print_delays(
    ours: list[dict[str, Any]], oracle: dict[tuple, dict[str, Any]], reps: int
) -> None:
    print("\n## 2. Detection delay: BernoulliCUSUM vs the oracle CUSUM at the same measured ARL0\n")
    print(
        "change after 1.25 expected warm-ups (min_events/p0 samples) and then "
        f"min(0.75 warm-ups, ARL0/5) watched samples; {reps} runs per cell "
        "(twice as many at p0 = 0.02 and 0.1, a third at p0 = 0.005); delay = post-change "
        "samples to the alarm, over the runs with "
        "no alarm before the change ('FA before' = share of runs with one); miss = no alarm "
        "within ARL0/2; oracle: 2,000 runs; ± is a 95% interval from the runs' spread"
    )
    rows, worst = [], {}
    for r in ours:
        key = (r["target"], r["p0"], r["scenario"])
        mean, med, miss = summary(r["delays"], r["early"])
        o = oracle[key]
        omean, _, _ = summary(o["delays"])
        ratio = mean / omean
        spread = 1.96 * ratio * math.hypot(rel_se(r["delays"], r["early"]), rel_se(o["delays"]))
        big = r["p0"] >= 0.02 and not r["scenario"].startswith("ramp")
        if big:
            worst[r["target"]] = max(worst.get(r["target"], 0.0), ratio)
        rows.append(
            [
                fmt(r["target"]),
                r["p0"],
                r["scenario"],
                fmt(mean),
                fmt(med),
                f"{miss:.0%}",
                f"{(r['early'] > 0).mean():.0%}",
                fmt(omean),
                f"{o['h']:.2f}",
                f"{ratio:.2f} ± {spread:.2f}" + (" *" if big and ratio > 1.5 else ""),
            ]
        )
    print(
        table(
            [
                "ARL0",
                "p0",
                "change",
                "mean delay",
                "median",
                "miss",
                "FA before",
                "oracle delay",
                "oracle h",
                "delay ratio",
            ],
            rows,
        )
    )
    for a, v in sorted(worst.items()):
        print(
            f"worst delay ratio at ARL0 {fmt(a)}, p0 >= 0.02, abrupt changes: {v:.2f} "
            "(target <= 1.5)"
        )


def print_river(
    river: list[dict[str, Any]],
    ours: list[dict[str, Any]],
    measured: dict[tuple, float],
    rates: Sequence[float],
) -> None:
    print("\n## 3. river at its defaults and matched to ARL0 = 100,000 (ours at 100,000)\n")
    print(
        "river sees min(change point, 20,000) samples before the change; mean delay (miss "
        "rate) over runs without an alarm before the change; 'all FA' = every run alarmed "
        "before the change; measured ARL0 on one no-change stream of 10^6 (HDDM), 4·10^6 "
        "(PageHinkley, DDM) or 5·10^7 (ADWIN) samples, apart from the streams the matching used"
    )
    ours_by = {
        (r["target"], r["p0"], r["scenario"]): restricted_mean(r["delays"], r["early"], 5e4)
        for r in ours
    }
    rows = []
    beaten = True
    for r in sorted(river, key=lambda v: (RIVER.index(v["name"]), v["p0"])):
        for label, null, res, value in (
            ("default", r["default_null"], r["default"], RIVER_DEFAULTS[r["name"]]),
            ("matched", r["matched_null"], r["matched_delays"], r["matched"]),
        ):
            n, a = null
            arl = f"{fmt(n / a)}" if a else f"> {fmt(n)}"
            cells = []
            for s in SCENARIOS:
                mean, _, miss = summary(res[s]["delays"], res[s]["early"])
                cells.append(f"{fmt(mean)} ({miss:.0%})" if math.isfinite(miss) else "all FA")
                river_mean = restricted_mean(res[s]["delays"], res[s]["early"], 5e4)
                key = (1e5, r["p0"], s)
                if label == "matched" and key in ours_by and not river_mean > ours_by[key]:
                    beaten = False
            rows.append([r["name"], label, f"{value:.3g}", r["p0"], arl, *cells])
    for p0 in rates:
        cells = []
        for s in SCENARIOS:
            res = next(
                (x for x in ours if x["target"] == 1e5 and x["p0"] == p0 and x["scenario"] == s),
                None,
            )
            if res is None:
                continue
            mean, _, miss = summary(res["delays"], res["early"])
            cells.append(f"{fmt(mean)} ({miss:.0%})")
        if cells:
            rows.append(["BernoulliCUSUM", "arl0=1e5", "-", p0, fmt(measured[(1e5, p0)]), *cells])
    print(
        table(
            ["detector", "setting", "parameter", "p0", "measured ARL0"]
            + [f"{s} mean (miss)" for s in SCENARIOS],
            rows,
        )
    )
    print(
        "\nper cell: BernoulliCUSUM's mean delay / the best matched river detector's (a miss "
        "counted as the 50,000-sample horizon; below 1 = ours is faster)\n"
    )
    rows = []
    for p0 in rates:
        cells = []
        for s in SCENARIOS:
            key = (1e5, p0, s)
            if key not in ours_by:
                continue
            runs = [
                (
                    restricted_mean(
                        r["matched_delays"][s]["delays"], r["matched_delays"][s]["early"], 5e4
                    ),
                    r["name"],
                )
                for r in river
                if r["p0"] == p0
            ]
            best = min(runs, default=(math.inf, "-"))
            cells.append(f"{ours_by[key] / best[0]:.2f} ({best[1]})")
        if cells:
            rows.append([p0, *cells])
    print(table(["p0", *SCENARIOS], rows))
    print(
        "BernoulliCUSUM has a shorter mean delay (a miss counted as the 50,000-sample "
        f"horizon) than every matched river detector in every cell: {'yes' if beaten else 'NO'}"
    )


def print_expected(ours: list[dict[str, Any]]) -> None:
    print("\n## 4. expected_delay (Siegmund) against the simulated mean delay\n")
    rows = []
    for r in ours:
        if r["scenario"].startswith("ramp"):
            continue
        ratio = SCENARIOS[r["scenario"]][0]
        mean, _, _ = summary(r["delays"], r["early"])
        est = calibrate.expected_delay(r["p0"], r["p0"] * ratio, r["target"])
        rows.append(
            [fmt(r["target"]), r["p0"], r["scenario"], fmt(est), fmt(mean), f"{est / mean:.2f}"]
        )
    print(table(["ARL0", "p0", "change", "expected_delay", "simulated", "ratio"], rows))


def print_fleet(fleet: list[dict[str, Any]]) -> None:
    print("\n## 6. 500 streams of unequal traffic, budget one false page per week in all\n")
    for f in fleet:
        rates_ = f["rates"]
        if not f["inject"]:
            lo, hi = poisson_range(1.0)
            weeks = f["weeks"]
            lo_n, hi_n = poisson_range(float(weeks))
            first, total = f["pages"][0], sum(f["pages"])
            print(
                f"traffic {rates_.sum():.1f} samples/s in all; per stream median "
                f"{np.median(rates_):.3f}/s, max {rates_.max():.2f}/s; per-stream ARL0 "
                f"{fmt(min(f['arl0']))} to {fmt(max(f['arl0']))} samples; after a warm-up "
                f"week, {f['watching']} of 500 streams were past their warm-up at the end"
            )
            print(
                f"no change, first counted week: {first} false pages (Poisson 95% range for "
                f"the budget: {lo}..{hi}) -> {'within' if lo <= first <= hi else 'OUTSIDE'}"
            )
            print(
                f"no change, {weeks} counted weeks: {total} false pages, per week {f['pages']} "
                f"(95% range {lo_n}..{hi_n}) -> "
                f"{'within' if lo_n <= total <= hi_n else 'OUTSIDE'}"
            )
        else:
            rows = []
            for i in f["changed"]:
                d = f["caught"].get(int(i))
                hours = "-" if d is None else f"{d / rates_[i] / 3600:.1f}"
                rows.append(
                    [
                        int(i),
                        f"{rates_[i]:.3f}",
                        f"{f['base'][i]:g}",
                        f"x{f['factor'][i]:g}",
                        "yes" if d is not None else "no",
                        fmt(d or math.nan),
                        hours,
                    ]
                )
            print(
                f"\nchanges injected mid-week in 10 streams: {len(f['caught'])} caught within "
                f"the rest of the week; {f['pages'][0]} false pages elsewhere"
            )
            print(
                table(
                    [
                        "stream",
                        "samples/s",
                        "p0",
                        "change",
                        "caught",
                        "delay (samples)",
                        "delay (hours)",
                    ],
                    rows,
                )
            )


SECTIONS = ("cal", "delay", "river", "cost", "fleet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast sanity run")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset")
    args = parser.parse_args()
    want = set(args.sections.split(","))
    if "delay" in want:
        want.add("cal")  # the oracle is matched to the measured ARL0
    q = args.quick
    seed = args.seed
    started = time.perf_counter()
    rates = (0.02, 0.1) if q else BASE_RATES
    cal_targets = (1e4, 1e5) if q else (1e4, 1e5, 1e6)
    targets = (1e5,) if q else (1e5, 1e6)
    reps = 40 if q else 300
    print(f"# BernoulliCUSUM benchmark ({'quick' if q else 'full'} run, seed {seed})")
    print(
        f"defaults: ratios {tuple(round(r, 3) for r in calibrate.DEFAULT_RATIOS)}, "
        f"min_events {M}, share {calibrate.SHARE}"
    )
    cal: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    oracle: dict[tuple, dict[str, Any]] = {}
    river: list[dict[str, Any]] = []
    fleet: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        pairs = sorted(
            ((n, p) for n in RIVER for p in rates),
            key=lambda v: (v[0].startswith("HDDM"), -1 / v[1]),
            reverse=True,
        )
        river_jobs = [
            pool.submit(
                river_task, (n, p0, 1e5, max(4, RIVER_REPS[n] // (5 if q else 1)), seed + 31 * i, q)
            )
            for i, (n, p0) in enumerate(pairs)
            if "river" in want
        ]
        cal_jobs = [
            pool.submit(calibration_task, (a, p0, 120 if q else 250, seed + 1000 + i))
            for i, (a, p0) in enumerate((a, p) for a in cal_targets for p in rates)
            if "cal" in want
        ]
        ours_jobs = [
            pool.submit(
                ours_task,
                (
                    p0,
                    targets,
                    reps * (2 if p0 in (0.02, 0.1) else 1) // (3 if p0 < 0.02 else 1),
                    seed + 2000 + i,
                ),
            )
            for i, p0 in enumerate(rates)
            if "delay" in want
        ]
        fleet_jobs = [
            pool.submit(fleet_task, (500, seed + 4000 + k, k == 1, 1 if k or q else 5))
            for k in (0, 1)
            if "fleet" in want
        ]
        cal = [j.result() for j in cal_jobs]
        measured = {(c["arl0"], c["p0"]): c["watched"] / max(c["alarms"], 1) for c in cal}
        oracle_jobs = [
            pool.submit(
                oracle_task, (p0, s, a, measured[(a, p0)], seed + 3000 + i, 100 if q else 200)
            )
            for i, (a, p0, s) in enumerate(
                (a, p, s) for a in targets for p in rates for s in SCENARIOS
            )
            if "delay" in want
        ]
        ours = [r for j in ours_jobs for r in j.result()]
        oracle = {
            (r["target"], r["p0"], r["scenario"]): r for r in (j.result() for j in oracle_jobs)
        }
        river = [j.result() for j in river_jobs]
        fleet = [j.result() for j in fleet_jobs]
    if cal:
        print_calibration(cal)
    if ours:
        print_delays(ours, oracle, reps)
    if river:
        print_river(river, ours, measured, rates)
    if ours:
        print_expected(ours)
    if "cost" in want:
        print("\n## 5. Per-update cost (µs, one core, p0 = 0.1)\n")
        print(table(["detector", "µs per update"], [[n, f"{v:.2f}"] for n, v in cost_table()]))
    if fleet:
        print_fleet(fleet)
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
