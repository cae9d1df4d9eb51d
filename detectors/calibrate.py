"""From a false-alarm rate a human accepts to the thresholds of a bank of Bernoulli CUSUMs.

A person says "one false page per week across these streams"; a detector needs thresholds in
nats. This module does the conversion, in three steps that can each be checked:

1. :func:`arl0_for_budget` turns a weekly page budget over streams with known traffic into a
   per-stream ARL0: the expected number of samples between false alarms.
2. :func:`approx_level` finds the common level ``H`` (nats) at which the bank reaches that
   ARL0, by Siegmund's approximation of each arm's ARL0 and a union bound over the arms. Arm
   ``j`` alarms at ``h_j = H + SHARE · log(KL_j / min KL)``, so arms for big changes (large
   Kullback-Leibler divergence, short false excursions) get more headroom.
3. :data:`CORRECTION` adds what simulation says the approximation misses: the arms' overshoot,
   their correlation, and the noise of a baseline rate estimated from ``min_events`` events.
   The table was produced by ``python -m detectors.calibrate`` (see :func:`main`), which
   simulates the shipped detector (:mod:`detectors.cusum`) and prints this table.

:func:`expected_delay` runs the same arithmetic forward, for plans: how many samples until a
given change is caught at a given ARL0.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

UNIT = 1_000_000_000
"""Statistics are integers in units of 1e-9 nats: sums are exact, so a restored or vectorised
detector reproduces the scalar one bit for bit."""

DEFAULT_RATIOS = (0.5, 2 / 3, 0.8, 1.25, 1.5, 2.0)
"""Post-change rates the arms are tuned to, relative to the baseline (two-sided)."""

SHARE = 1.25
"""How threshold headroom grows with an arm's KL divergence (1 = equal false-alarm shares)."""

DEFAULT_MIN_EVENTS = 1000
WEEK = 7 * 24 * 3600.0

# Correction (nats) added to approx_level, by the minority rate q = min(p0, 1 - p0) and
# log10 of the expected number of minority events between false alarms, a = ARL0 · q.
# Produced by `python -m detectors.calibrate` for DEFAULT_RATIOS, SHARE and
# DEFAULT_MIN_EVENTS; see docs/detection.md for the method and the check.
CORRECTION_Q = (0.005, 0.02, 0.1, 0.3, 0.5)
CORRECTION_LOG_A = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5)
CORRECTION: tuple[tuple[float, ...], ...] = (
    (-0.453, -0.532, -0.499, -0.388, -0.237, -0.237, -0.237, -0.237, -0.237),  # q = 0.005
    (-0.391, -0.484, -0.464, -0.367, -0.229, -0.086, -0.086, -0.086, -0.086),  # q = 0.02
    (-0.406, -0.514, -0.510, -0.428, -0.306, -0.179, -0.082, -0.052, -0.052),  # q = 0.1
    (-0.588, -0.588, -0.594, -0.523, -0.412, -0.295, -0.209, -0.190, -0.274),  # q = 0.3
    (-0.648, -0.648, -0.648, -0.582, -0.475, -0.364, -0.283, -0.269, -0.357),  # q = 0.5
)


class Arms(NamedTuple):
    """Integer LLR increments (for x = 0 and x = 1) and thresholds per arm; ``up`` per arm."""

    inc0: list[int]
    inc1: list[int]
    h: list[int]
    up: list[bool]


def kl(a: float, b: float) -> float:
    """Kullback-Leibler divergence of Bernoulli(a) from Bernoulli(b), in nats."""
    out = 0.0
    if a > 0:
        out += a * math.log(a / b)
    if a < 1:
        out += (1 - a) * math.log((1 - a) / (1 - b))
    return out


def post_rates(p0: float, ratios: Sequence[float]) -> list[float]:
    """The rate each arm watches for: ``ratio · p0`` on the minority side of 0.5.

    Above 0.5 the ratios apply to the complement (``1 - p0``), so that ×2 stays possible.
    """
    q0 = min(p0, 1.0 - p0)
    out = []
    for r in ratios:
        q1 = min(r * q0, 1.0 - 1e-6)
        out.append(1.0 - q1 if p0 > 0.5 else q1)
    return out


def offsets(p0: float, rates: Sequence[float]) -> list[float]:
    """Each arm's threshold above the common level (nats): the split of the false-alarm budget
    (``benchmarks/frontier.py`` maps what other splits would do)."""
    kls = [kl(p0, p1) for p1 in rates]
    low = min(kls)
    return [SHARE * math.log(v / low) for v in kls]


def arms(p0: float, ratios: Sequence[float], level: float) -> Arms:
    """The bank for baseline ``p0`` at common level ``level`` (nats), in integer units."""
    rates = post_rates(p0, ratios)
    inc0 = [round(math.log((1 - p1) / (1 - p0)) * UNIT) for p1 in rates]
    inc1 = [round(math.log(p1 / p0) * UNIT) for p1 in rates]
    h = [round((level + off) * UNIT) for off in offsets(p0, rates)]
    return Arms(inc0, inc1, h, [p1 > p0 for p1 in rates])


def siegmund(mu: float, theta: float, h: float) -> float:
    """Siegmund's approximation of a CUSUM's average run length to threshold ``h``.

    ``mu`` is the drift per step and ``theta`` the non-zero root of ``E[exp(-theta·Z)] = 1``
    for the increments ``Z`` (same sign as ``mu``). For an arm's own log-likelihood ratio
    ``theta`` is exactly -1 before the change, which gives ``(e^h - h - 1) / KL``.
    """
    a = theta * h
    if -a > 700:
        return math.inf
    return (math.exp(-a) + a - 1.0) / (theta * mu)


def _root(p: float, up: float, down: float) -> float:
    """The positive root theta of p·e^(-theta·up) + (1-p)·e^(-theta·down) = 1 (drift > 0)."""

    def f(t: float) -> float:  # log E[exp(-t·Z)], computed without overflow
        terms = [(w, -t * z) for w, z in ((p, up), (1 - p, down)) if w > 0]
        top = max(e for _, e in terms)
        return top + math.log(sum(w * math.exp(e - top) for w, e in terms))

    hi = 1.0
    while f(hi) < 0 and hi < 1e6:
        hi *= 2
    lo = 0.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _steps(p0: float, p1: float) -> tuple[float, float]:
    return math.log(p1 / p0), math.log((1 - p1) / (1 - p0))


def _arm_terms(p0: float, ratios: Sequence[float]) -> tuple[list[float], list[float]]:
    """Per arm: its KL divergence from the baseline, and how far its threshold sits above the
    common level plus half its upward step (the mean overshoot of a walk that jumps over it)."""
    rates = post_rates(p0, ratios)
    lifts = [
        off + 0.5 * max(_steps(p0, p1)) for p1, off in zip(rates, offsets(p0, rates), strict=True)
    ]
    return [kl(p0, p1) for p1 in rates], lifts


def approx_levels(arl0: float, p0s: Sequence[float], ratios: Sequence[float]) -> np.ndarray:
    """For each baseline in ``p0s``, the level H at which the bank's ARL0 is ``arl0`` by
    Siegmund's approximation per arm, ``(e^h - h - 1) / KL``, and a union bound over the arms:
    one bisection over all baselines at once."""
    terms = [_arm_terms(p0, ratios) for p0 in p0s]
    div = np.array([t[0] for t in terms])
    lift = np.array([t[1] for t in terms])
    lo, hi = np.zeros(len(p0s)), np.full(len(p0s), 60.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        h = np.minimum(mid[:, None] + lift, 700.0)
        short = (div / (np.exp(h) - h - 1.0)).sum(axis=1) > 1.0 / arl0  # ARL0 below target
        lo, hi = np.where(short, mid, lo), np.where(short, hi, mid)
    return 0.5 * (lo + hi)


def approx_level(arl0: float, p0: float, ratios: Sequence[float] = DEFAULT_RATIOS) -> float:
    """:func:`approx_levels` for one baseline."""
    return float(approx_levels(arl0, [p0], ratios)[0])


def _interp(grid: Sequence[float], v: float) -> tuple[int, float]:
    if v <= grid[0]:
        return 0, 0.0
    if v >= grid[-1]:
        return len(grid) - 2, 1.0
    i = bisect.bisect_right(grid, v) - 1
    return i, (v - grid[i]) / (grid[i + 1] - grid[i])


def correction(arl0: float, p0: float) -> float:
    """The simulated correction to :func:`approx_level`, bilinear in (log q, log10 a)."""
    q = min(p0, 1.0 - p0)
    i, u = _interp([math.log(v) for v in CORRECTION_Q], math.log(q))
    j, w = _interp(CORRECTION_LOG_A, math.log10(arl0 * q))
    c = CORRECTION
    low = c[i][j] * (1 - w) + c[i][j + 1] * w
    high = c[i + 1][j] * (1 - w) + c[i + 1][j + 1] * w
    return low * (1 - u) + high * u


@lru_cache(maxsize=256)
def _approx_curve(arl0: float, ratios: tuple[float, ...]) -> tuple[float, ...]:
    """:func:`approx_level` at every q of ``_LOG_Q``: a budget gives every stream its own
    ARL0, each worth a curve."""
    return tuple(approx_levels(arl0, [math.exp(v) for v in _LOG_Q], ratios).tolist())


_LOG_Q = tuple(math.log(0.5) - i * 0.05 for i in range(300))[::-1]  # q from ~1.5e-7 to 0.5


def level(
    arl0: float,
    p0: float,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    corrected: float | None = None,
) -> float:
    """The calibrated common level H (nats) for target ``arl0`` at baseline ``p0``.

    :func:`approx_level` (tabulated over log q once per ``arl0`` and ``ratios``, then
    interpolated, so that re-deriving the arms as the baseline grows costs microseconds) plus
    the simulated :func:`correction` (or ``corrected``, which the calibration itself uses).

    >>> round(level(1e5, 0.02), 2) > round(level(1e4, 0.02), 2)
    True
    """
    q = min(p0, 1.0 - p0)
    i, u = _interp(_LOG_Q, math.log(q))
    curve = _approx_curve(float(arl0), tuple(ratios))
    extra = correction(arl0, p0) if corrected is None else corrected
    return curve[i] * (1 - u) + curve[i + 1] * u + extra


def expected_delay(
    p0: float, p1: float, arl0: float, ratios: Sequence[float] = DEFAULT_RATIOS
) -> float:
    """Expected samples from a change ``p0 → p1`` to the alarm, at target ``arl0``.

    Siegmund's approximation for each arm at its calibrated threshold; the bank is as fast as
    its fastest arm. Checked against simulation in ``benchmarks/detectors.py``.

    >>> round(expected_delay(0.1, 0.2, 1e5)) < round(expected_delay(0.1, 0.125, 1e5))
    True
    """
    if not (0 < p0 < 1 and 0 <= p1 <= 1):
        raise ValueError(f"rates must satisfy 0 < p0 < 1 and 0 <= p1 <= 1, got {p0=}, {p1=}")
    if p1 == p0:
        return arl0
    lv = level(arl0, p0, ratios)
    rates = post_rates(p0, ratios)
    best = math.inf
    for q1, off in zip(rates, offsets(p0, rates), strict=True):
        up, down = _steps(p0, q1)
        mean = p1 * up + (1 - p1) * down
        if mean > 0:
            hp = lv + off + 0.5 * max(up, down)
            best = min(best, siegmund(mean, _root(p1, up, down), hp))
    return best


def arl0_for_budget(pages_per_week: float, samples_per_second: Sequence[float]) -> list[float]:
    """Per-stream ARL0 (in samples) so that all streams together page falsely at most
    ``pages_per_week`` times a week on average.

    The budget is shared equally: every stream gets the same expected time between false
    pages (``len(streams) / pages_per_week`` weeks), so a busy stream gets a larger ARL0 in
    samples and a quiet one a smaller.

    >>> [round(v) for v in arl0_for_budget(1.0, [1.0, 0.1])]
    [1209600, 120960]
    """
    if pages_per_week <= 0:
        raise ValueError(f"pages_per_week must be > 0, got {pages_per_week}")
    if any(r < 0 for r in samples_per_second):
        raise ValueError("samples_per_second must be >= 0 for every stream")
    weeks_between = len(samples_per_second) / pages_per_week
    return [r * WEEK * weeks_between for r in samples_per_second]


# --- measuring by simulation, and regenerating the table -----------------------------------


def measure_arl0(
    arl0: float,
    p0: float,
    streams: int,
    seed: int,
    corrections: Sequence[float | None] = (None,),
    min_events: int = DEFAULT_MIN_EVENTS,
) -> list[tuple[int, int]]:
    """Simulate ``streams`` no-change streams per entry of ``corrections`` (None: the shipped
    table); return ``(watched samples, false alarms)`` per entry.

    Each stream starts empty, warms up, and is then watched for about ``arl0`` samples,
    restarting its baseline after each alarm as the detector does. The measured ARL0 is
    watched samples / false alarms (a ratio estimator; its relative standard error is about
    ``1/sqrt(alarms)``).
    """
    from detectors.bernoulli import BernoulliCUSUM
    from detectors.cusum import simulate

    detectors = []
    for extra in corrections:
        for _ in range(streams):
            detector = BernoulliCUSUM(arl0=arl0, min_events=min_events)
            detector._correction = extra
            detectors.append(detector)
    q = min(p0, 1 - p0)
    steps = int(1.2 * min_events / q + 4 * math.sqrt(min_events) / q + arl0) + 500
    alarms, watched = simulate(detectors, steps, lambda start, length: p0, seed)
    counts = [0] * len(detectors)
    for row, _ in alarms:
        counts[row] += 1
    out = []
    for i in range(len(corrections)):
        rows = slice(i * streams, (i + 1) * streams)
        out.append((int(watched[rows].sum()), sum(counts[rows])))
    return out


def _fit(arl0: float, points: Sequence[tuple[float, int, int]]) -> float:
    """The correction at which log(ARL0) meets the target: weighted least squares in c."""
    xs = [c for c, _, a in points if a > 0]
    ys = [math.log(w / a) for c, w, a in points if a > 0]
    ws = [float(a) for _, _, a in points if a > 0]
    sw = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs, strict=True)) / sw
    my = sum(w * y for w, y in zip(ws, ys, strict=True)) / sw
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs, strict=True))
    sxy = sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys, strict=True))
    slope = sxy / sxx if sxx > 0 else 1.0
    slope = min(max(slope, 0.5), 2.0)
    return mx + (math.log(arl0) - my) / slope


Point = tuple[float, float, float, int, int]  # q, target ARL0, correction, watched, alarms


def _calibrate_row(args: tuple[float, int, int, float]) -> list[Point]:
    """All trial measurements for one minority rate q, each target's trials centred on a
    local fit (starting from the previous target's)."""
    q, streams, seed, max_arl0 = args
    out: list[Point] = []
    guess = 0.0
    for log_a in CORRECTION_LOG_A:
        arl0 = 10**log_a / q
        if arl0 < 300 or arl0 > max_arl0:
            continue
        local: list[tuple[float, int, int]] = []
        center = guess
        for attempt in range(3):
            cs = [center - 0.2, center, center + 0.2]
            got = measure_arl0(arl0, q, streams, seed + int(log_a * 10) + attempt, corrections=cs)
            local += [(c, w, a) for c, (w, a) in zip(cs, got, strict=True)]
            out += [(q, arl0, c, w, a) for c, (w, a) in zip(cs, got, strict=True)]
            guess = _fit(arl0, [p for p in local if abs(p[0] - center) <= 0.5])
            if abs(guess - center) <= 0.15:
                break
            center = guess
    return out


def _terms(log_a: float, log_q: float) -> list[float]:
    return [1.0, log_a, log_a**2, log_a**3, log_q, log_q * log_a, log_q**2]


def fit_surface(points: Sequence[Point]) -> tuple[float, list[float], float]:
    """Fit log(measured / target) = slope · c + terms · coef over every trial (weighted by
    alarms); the correction meeting the target is then -terms · coef / slope, a smooth
    surface that pools the noise of all trials. Returns slope, coef and the residual s.d."""
    import numpy as np

    rows = [(q, a, c, w, n) for q, a, c, w, n in points if n > 0]
    x = np.array([[c, *_terms(math.log10(a * q), math.log(q))] for q, a, c, _, _ in rows])
    y = np.array([math.log(w / n / a) for q, a, _, w, n in rows])
    wt = np.sqrt(np.array([n for *_, n in rows], dtype=float))
    beta = np.linalg.lstsq(x * wt[:, None], y * wt, rcond=None)[0]
    resid = y - x @ beta
    sd = float(np.sqrt(np.average(resid**2, weights=wt**2)))
    return float(beta[0]), [float(v) for v in beta[1:]], sd


def main(argv: Sequence[str] | None = None) -> None:
    """Regenerate :data:`CORRECTION`: ``python -m detectors.calibrate [--streams N]``.

    For every minority rate in :data:`CORRECTION_Q` and every ``log10(ARL0 · q)`` in
    :data:`CORRECTION_LOG_A` whose ARL0 lies in [300, max-arl0], simulate ``streams`` streams
    at three trial corrections (re-centred up to twice). :func:`fit_surface` then fits one
    smooth surface through all trials, and the table is read off it; cells outside the
    simulated ARL0 range take the value at the nearest simulated one. Prints the table.
    """
    import argparse
    from multiprocessing import Pool

    parser = argparse.ArgumentParser(prog="python -m detectors.calibrate")
    parser.add_argument("--streams", type=int, default=200, help="streams per trial correction")
    parser.add_argument("--max-arl0", type=float, default=1.3e6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    tasks = [
        (q, args.streams, args.seed + i * 1000, args.max_arl0) for i, q in enumerate(CORRECTION_Q)
    ]
    with Pool(args.jobs) as pool:
        rows = pool.map(_calibrate_row, tasks, chunksize=1)
    points = [p for row in rows for p in row]
    for q, a, c, w, n in points:
        print(f"q={q} ARL0={a:.4g} c={c:+.3f}: measured {w / max(n, 1):.4g} ({n} alarms)")
    slope, coef, sd = fit_surface(points)
    print(f"surface: slope {slope:.3f}, residual s.d. {sd:.3f} in log ARL0, {len(points)} trials")
    print("CORRECTION: tuple[tuple[float, ...], ...] = (")
    for i, q in enumerate(CORRECTION_Q):
        done = [math.log10(a * q) for qq, a, *_ in points if qq == q]
        values = []
        for log_a in CORRECTION_LOG_A:
            la = min(max(log_a, min(done)), max(done))
            terms = _terms(la, math.log(q))
            values.append(-sum(t * c for t, c in zip(terms, coef, strict=True)) / slope)
        print("    (" + ", ".join(f"{v:.3f}" for v in values) + f"),  # q = {rows[i][0][0]}")
    print(")")


if __name__ == "__main__":
    main()
