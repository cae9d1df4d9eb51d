"""Statistics helpers for Bernoulli rates: confidence intervals and change-point location."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials; honest near 0 and 1, unlike Wald.

    >>> tuple(round(v, 4) for v in wilson(10, 100))
    (0.0552, 0.1744)
    >>> wilson(0, 0)
    (0.0, 1.0)
    """
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _bernoulli_loglik(k: npt.NDArray[np.float64], n: npt.NDArray[np.float64]) -> npt.NDArray:
    p = np.divide(k, n, out=np.zeros_like(k), where=n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(k > 0, k * np.log(np.where(p > 0, p, 1.0)), 0.0)
        b = np.where(n - k > 0, (n - k) * np.log(np.where(p < 1, 1 - p, 1.0)), 0.0)
    return a + b


def change_point(bits: npt.ArrayLike, min_side: int = 10) -> int:
    """Most likely single change point of a 0/1 sequence (maximum-likelihood split).

    Returns the index of the first value after the change; ``min_side`` values at least on
    each side. Used after an alarm, so its cost (one cumulative sum) is paid rarely.

    >>> change_point([0] * 50 + [1] * 30)
    50
    """
    x = np.asarray(bits, dtype=np.float64)
    m = x.size
    if m < 2 * min_side:
        return m // 2
    cum = np.cumsum(x)
    split = np.arange(min_side, m - min_side + 1, dtype=np.float64)
    left_k = cum[min_side - 1 : m - min_side]
    total = cum[-1]
    ll = _bernoulli_loglik(left_k, split) + _bernoulli_loglik(total - left_k, m - split)
    return int(min_side + int(np.argmax(ll)))


def onset(tail: npt.ArrayLike, p0: float, up: bool) -> int:
    """Where in ``tail`` (the values since a CUSUM arm last stood at zero) a change against the
    baseline ``p0`` most likely began: the start of the suffix whose own rate, in the alarm's
    direction, has the largest log-likelihood ratio against ``p0``.

    An arm's last zero dates the change well only when the arm matches it: an arm for a small
    rise that had drifted up by chance before a large one dates it too early, and the "after"
    rate then mixes in the old one.

    >>> onset([0, 1, 0, 0, 0, 0, 1, 0, 0, 0] + [1, 1, 0, 1, 1, 0, 1, 1], 0.2, up=True)
    10
    """
    x = np.asarray(tail, dtype=np.float64)
    if x.size == 0 or not 0 < p0 < 1:
        return 0
    n = np.arange(x.size, 0, -1, dtype=np.float64)  # length of the suffix starting at i
    k = np.cumsum(x[::-1])[::-1]
    p = np.clip(k / n, 1e-12, 1 - 1e-12)
    llr = k * np.log(p / p0) + (n - k) * np.log((1 - p) / (1 - p0))
    llr[(p < p0) if up else (p > p0)] = -np.inf
    return int(np.argmax(llr))
