"""BernoulliCUSUM: a two-sided, calibrated detector for a 0/1 rate, configured by its ARL0.

Why a bank of CUSUMs. Knowing the rate before (p0) and after (p1) a change, Page's CUSUM has the
shortest worst-case delay at a given false-alarm rate. In production neither is known, nor the
direction. So we estimate p0 from the stream and run one CUSUM per plausible p1 — rises and falls
by ×0.5 … ×2 — with exact Bernoulli log-likelihood ratios; the arm nearest the truth wins. Each
arm costs one integer addition and one comparison per sample.

Why thresholds come from a number of samples. ``arl0`` is the expected number of samples between
false alarms, a figure a person can accept or refuse (and :func:`detectors.calibrate.
arl0_for_budget` derives it from a weekly page budget). The thresholds follow from it and from
p0 by :func:`detectors.calibrate.level`: an approximation corrected by simulation, including the
noise of the estimated p0.

Baseline. Until ``min_events`` events *and* ``min_events`` non-events (and ``warmup`` samples)
have been seen the state is ``insufficient_data`` and nothing can alarm. Afterwards the baseline
keeps learning, but only from samples that every arm has already judged unremarkable: those
before the oldest "last time at zero" over the arms. A change therefore does not leak into its
own baseline. After an alarm the next update restarts the baseline from the estimated change
point (the post-change samples so far), as river's detectors reset after a drift.

State is plain numbers (:meth:`to_state`, :meth:`from_state`), never a pickle.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors import calibrate
from detectors.calibrate import DEFAULT_MIN_EVENTS, DEFAULT_RATIOS

REFRESH_EVERY = 64
"""Updates between checks of whether the baseline grew enough (1/64) to re-derive the arms."""


def _check_arl0(arl0: Any) -> None:
    if not (isinstance(arl0, numbers.Real) and math.isfinite(arl0) and arl0 >= 10):
        raise ValueError(f"arl0 must be a finite number of samples >= 10, got {arl0!r}")


class BernoulliCUSUM:
    """Two-sided bank of Bernoulli CUSUMs with a learned baseline, calibrated by ``arl0``.

    Parameters
    ----------
    arl0
        Expected number of samples between false alarms (while watching).
    min_events
        Events (1s) and non-events (0s) the baseline needs before anything can alarm.
    warmup
        Samples the baseline needs before anything can alarm.
    ratios
        Post-change rates to watch for, relative to the baseline; below 1 for falls, above 1
        for rises. Thresholds are calibrated for the default.
    prior_rate
        Rate of a parent segment to pool toward (small segments), or None.
    prior_weight
        How many samples the prior is worth; they count toward ``min_events`` too.
    h
        Fixed common threshold in nats, instead of the one derived from ``arl0``.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(7)
    >>> detector = BernoulliCUSUM(arl0=100_000, min_events=200)
    >>> for i in range(40_000):
    ...     detector.update(rng.random() < (0.05 if i < 20_000 else 0.08))
    ...     if detector.drift_detected:
    ...         break
    >>> detector.direction, 20_000 < i < 24_000, 17_000 < i - detector.change_point < 21_000
    ('up', True, True)
    """

    def __init__(
        self,
        arl0: float = 100_000.0,
        min_events: int = DEFAULT_MIN_EVENTS,
        warmup: int = 500,
        ratios: Sequence[float] = DEFAULT_RATIOS,
        prior_rate: float | None = None,
        prior_weight: float = 0.0,
        h: float | None = None,
    ) -> None:
        _check_arl0(arl0)
        if not (isinstance(min_events, numbers.Integral) and min_events >= 1):
            raise ValueError(f"min_events must be an integer >= 1, got {min_events!r}")
        if not (isinstance(warmup, numbers.Integral) and warmup >= 0):
            raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
        ratios = tuple(float(r) for r in ratios)
        if not ratios or any(not (0 < r <= 10) or r == 1 for r in ratios):
            raise ValueError(f"ratios must be non-empty, each in (0, 10] and not 1, got {ratios}")
        if len(set(ratios)) != len(ratios):
            raise ValueError(f"ratios must be distinct, got {ratios}")
        if prior_rate is not None and not (0 < prior_rate < 1):
            raise ValueError(f"prior_rate must be in (0, 1) or None, got {prior_rate!r}")
        if not (math.isfinite(prior_weight) and prior_weight >= 0):
            raise ValueError(f"prior_weight must be >= 0, got {prior_weight!r}")
        if prior_weight > 0 and prior_rate is None:
            raise ValueError("prior_weight > 0 needs a prior_rate to pool toward")
        if h is not None and not (math.isfinite(h) and h > 0):
            raise ValueError(f"h must be a positive number of nats or None, got {h!r}")
        self.arl0 = float(arl0)  # plain Python numbers, so that to_state() is JSON-able
        self.min_events = int(min_events)
        self.warmup = int(warmup)
        self.ratios = ratios
        self.prior_rate = None if prior_rate is None else float(prior_rate)
        self.prior_weight = float(prior_weight)
        self.h = None if h is None else float(h)
        self._pk = prior_weight * (prior_rate or 0.0)  # pseudo-events from the prior
        self._correction: float | None = None  # set only by the calibration (see calibrate.py)
        self.drift_detected = False
        self._t = 0  # updates over the detector's life (refresh checks are aligned on it)
        self._n = 0  # samples in the current baseline window
        self._k = 0  # events among them
        self._watching = False
        self._pending: int | None = None  # alarming arm, restarted at the next update
        self._p0: float | None = None
        self._level = math.nan
        self._refn = 0
        k = len(ratios)
        self._s = [0] * k
        self._zn = [0] * k  # _n when each arm was last at zero
        self._zk = [0] * k  # _k at that moment
        self._inc0 = [0] * k
        self._inc1 = [0] * k
        self._hs = [0] * k
        self._up = [False] * k

    # --- the river contract -------------------------------------------------------------------

    def update(self, x: bool | float) -> None:
        """Feed one value (nonzero counts as an event); then read ``drift_detected``."""
        if self._pending is not None:
            self._restart()
        self.drift_detected = False
        self._t += 1
        n = self._n = self._n + 1
        if x:
            self._k += 1
        k = self._k
        if not self._watching:
            if self._ready():
                self._start()
            return
        s, zn, zk, hs = self._s, self._zn, self._zk, self._hs
        inc = self._inc1 if x else self._inc0
        alarm, best = -1, 0
        for j in range(len(s)):
            v = s[j] + inc[j]
            if v <= 0:
                s[j] = 0
                zn[j] = n
                zk[j] = k
            else:
                s[j] = v
                if v >= hs[j] and (alarm < 0 or v - hs[j] > best):
                    alarm, best = j, v - hs[j]
        if alarm >= 0:
            self.drift_detected = True
            self._pending = alarm
        elif self._t % REFRESH_EVERY == 0:
            self._refresh()

    def update_many(
        self, xs: Iterable[bool | float] | npt.ArrayLike, first: bool = False
    ) -> npt.NDArray[np.int64]:
        """Feed many values at once (vectorised); return the indices at which it alarmed.

        Leaves the detector exactly as the same calls to :meth:`update` would. With ``first``
        it stops after the first alarm, leaving the rest unread.
        """
        from detectors.cusum import advance

        values = xs if isinstance(xs, np.ndarray) else np.asarray(list(xs))  # type: ignore[arg-type]
        return advance(self, np.asarray(values) != 0, first=first)

    def retarget(self, arl0: float) -> None:
        """Run at another ARL0 from now on (a re-tuned budget share): the evidence gathered so
        far stays, the thresholds move."""
        _check_arl0(arl0)
        self.arl0 = float(arl0)
        if self._p0 is not None and self.h is None:
            self._set_arms(self._p0)

    # --- what a page or a dashboard shows -----------------------------------------------------

    @property
    def state(self) -> str:
        """``insufficient_data`` until the baseline is trusted, then ``watching``."""
        return "watching" if self._watching else "insufficient_data"

    @property
    def n(self) -> int:
        """Samples in the current baseline window (since the start or the last restart)."""
        return self._n

    @property
    def p0(self) -> float | None:
        """The baseline rate the arms compare against (None before the baseline is trusted)."""
        return self._p0

    @property
    def threshold(self) -> float:
        """The common level H in nats (``statistic`` alarms at it); NaN before watching."""
        return self._level

    @property
    def statistic(self) -> float:
        """Evidence of the arm nearest its threshold, scaled to the common level (nats)."""
        j = self._leader()
        if j is None:
            return 0.0
        return self._s[j] / self._hs[j] * self._level

    @property
    def direction(self) -> str | None:
        """``up`` or ``down``: the alarming arm's, else the leading arm's (None if none)."""
        j = self._leader()
        return None if j is None else ("up" if self._up[j] else "down")

    @property
    def change_point(self) -> int | None:
        """Samples since the alarming (else leading) arm was last at zero: the change's age."""
        j = self._leader()
        return None if j is None else self._n - self._zn[j]

    def _leader(self) -> int | None:
        if self._pending is not None:
            return self._pending
        if not self._watching:
            return None
        best, lead = 0.0, None
        for j, v in enumerate(self._s):
            if v > 0 and v / self._hs[j] > best:
                best, lead = v / self._hs[j], j
        return lead

    # --- baseline -----------------------------------------------------------------------------

    def _rate(self, n: int, k: int) -> float:
        return (k + self._pk) / (n + self.prior_weight)

    def _ready(self) -> bool:
        ek, en = self._k + self._pk, self._n + self.prior_weight
        return ek >= self.min_events and en - ek >= self.min_events and self._n >= self.warmup

    def _set_arms(self, p0: float) -> None:
        self._p0 = p0
        if self.h is not None:
            self._level = self.h
        else:
            self._level = calibrate.level(self.arl0, p0, self.ratios, self._correction)
        arms = calibrate.arms(p0, self.ratios, self._level)
        self._inc0, self._inc1, self._hs, self._up = arms.inc0, arms.inc1, arms.h, arms.up

    def _start(self) -> None:
        k = len(self.ratios)
        self._watching = True
        self._s = [0] * k
        self._zn = [self._n] * k
        self._zk = [self._k] * k
        self._refn = self._n
        self._set_arms(self._rate(self._n, self._k))

    def _refresh(self) -> None:
        bn = min(self._zn)
        if bn - self._refn >= self._refn // REFRESH_EVERY and bn > self._refn:
            self._refn = bn
            self._set_arms(self._rate(bn, min(self._zk)))

    def _restart(self) -> None:
        j = self._pending
        assert j is not None
        k = len(self.ratios)
        self._n -= self._zn[j]
        self._k -= self._zk[j]
        self._pending = None
        self._watching = False
        self._p0 = None
        self._level = math.nan
        self._s = [0] * k
        self._zn = [self._n] * k
        self._zk = [self._k] * k

    # --- state as numbers ---------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        return {
            "arl0": self.arl0,
            "min_events": self.min_events,
            "warmup": self.warmup,
            "ratios": list(self.ratios),
            "prior_rate": self.prior_rate,
            "prior_weight": self.prior_weight,
            "h": self.h,
        }

    def to_state(self) -> dict[str, Any]:
        """Parameters and summary statistics, JSON-able; :meth:`from_state` restores them."""
        return {
            "kind": "bernoulli_cusum",
            "version": 1,
            "params": self.params(),
            "drift_detected": self.drift_detected,
            "t": self._t,
            "n": self._n,
            "k": self._k,
            "watching": self._watching,
            "pending": self._pending,
            "p0": self._p0,
            "refn": self._refn,
            "s": list(self._s),
            "zn": list(self._zn),
            "zk": list(self._zk),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> BernoulliCUSUM:
        """A detector that continues exactly where the one that wrote ``state`` stopped."""
        if state.get("kind") != "bernoulli_cusum" or state.get("version") != 1:
            raise ValueError(
                f"not a version-1 bernoulli_cusum state: kind={state.get('kind')!r}, "
                f"version={state.get('version')!r}"
            )
        self = cls(**state["params"])
        k = len(self.ratios)
        lists = [state["s"], state["zn"], state["zk"]]
        if any(len(v) != k for v in lists):
            raise ValueError(f"state has arms of the wrong length; expected {k} per list")
        self.drift_detected = bool(state["drift_detected"])
        self._t, self._n, self._k = int(state["t"]), int(state["n"]), int(state["k"])
        self._watching = bool(state["watching"])
        self._pending = None if state["pending"] is None else int(state["pending"])
        self._refn = int(state["refn"])
        self._s, self._zn, self._zk = ([int(v) for v in vals] for vals in lists)
        if state["p0"] is not None:
            self._set_arms(float(state["p0"]))
        return self

    def __repr__(self) -> str:
        return (
            f"BernoulliCUSUM(arl0={self.arl0!r}, state={self.state!r}, n={self._n}, "
            f"p0={self._p0!r}, statistic={self.statistic:.3f}, threshold={self._level:.3f})"
        )
