"""RateWatch: one Bernoulli rate stream watched by any river-API detector, made fit for paging.

A bare detector says "something changed" and little else. A page must say *what* changed: the
rate before and after with intervals, from when, in which direction. RateWatch adds that around
any detector:

- a warm-up: alarms before ``warmup`` values are ignored (state ``insufficient_data``);
- a bounded history of recent values, from which the change point is located by maximum
  likelihood once the detector alarms;
- confirmation: an alarm becomes a change only when at least ``min_samples`` values follow the
  change point and the 95% Wilson intervals before and after do not overlap;
- re-baselining: after a confirmed change the detector restarts on the post-change values.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from detectors.registry import DriftDetector
from detectors.stats import change_point, onset, wilson

_FIRST_CAPACITY = 512


@dataclass(frozen=True)
class Rate:
    """k events in n values, with the 95% Wilson interval."""

    k: int
    n: int
    low: float
    high: float

    @classmethod
    def of(cls, k: int, n: int) -> Rate:
        low, high = wilson(k, n)
        return cls(k, n, low, high)

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else 0.0


@dataclass(frozen=True)
class Change:
    """A confirmed change: where it started (stream offset and timestamp) and the two rates."""

    offset: int
    ts: float
    before: Rate
    after: Rate
    statistic: float | None = None
    threshold: float | None = None

    @property
    def direction(self) -> str:
        return "up" if self.after.rate > self.before.rate else "down"

    @property
    def rates(self) -> tuple[Rate, Rate]:
        return self.before, self.after


class RateWatch:
    """Watch a 0/1 stream; after ``update``, ``drift_detected`` is True on a confirmed change.

    >>> import random
    >>> rng = random.Random(1)
    >>> watch = RateWatch(lambda: __import__("river").drift.ADWIN(delta=0.001), warmup=200)
    >>> for i in range(6000):
    ...     watch.update(rng.random() < (0.1 if i < 3000 else 0.4), ts=float(i))
    ...     if watch.drift_detected:
    ...         change = watch.last_change
    >>> change.direction, 2900 < change.offset < 3100, change.after.low < 0.4 < change.after.high
    ('up', True, True)
    """

    def __init__(
        self,
        factory: Callable[[], DriftDetector],
        warmup: int = 200,
        min_samples: int = 50,
        history: int = 20_000,
    ) -> None:
        if history < 2 * min_samples:
            raise ValueError(f"history ({history}) must hold at least 2 × min_samples")
        self.factory = factory
        self.warmup = warmup
        self.min_samples = min_samples
        self.history = history
        self.drift_detected = False
        self.last_change: Change | None = None
        self.changes = 0
        self.offset = 0  # values seen over the stream's life
        self._detector = factory()
        # A detector that locates its own change (calibrated, with a minimum count before it
        # can alarm) is trusted as it is: no second test that would change its false-alarm rate.
        self._trusted = hasattr(self._detector, "change_point")
        # The ring starts small and doubles up to ``history``: a quiet stream (most segments
        # of a large fleet) then holds kilobytes, not the 180 kB of a full history.
        self._cap = min(history, _FIRST_CAPACITY)
        self._bits = np.zeros(self._cap, dtype=np.uint8)
        self._ts = np.zeros(self._cap, dtype=np.float64)
        self._size = 0  # values held, up to history
        self._since_baseline = 0
        self._check_at: int | None = None

    @property
    def state(self) -> str:
        """``insufficient_data`` during warm-up, ``pending`` while an alarm awaits confirmation."""
        own = getattr(self._detector, "state", None)
        if self._trusted and isinstance(own, str):
            return own
        if self._since_baseline < self.warmup:
            return "insufficient_data"
        return "pending" if self._check_at is not None else "watching"

    @property
    def evidence(self) -> float | None:
        """The detector's statistic over its alarm threshold (it alarms at 1), for a detector
        that reports both (the calibrated ones); None otherwise or before it has a threshold."""
        stat = getattr(self._detector, "statistic", None)
        limit = getattr(self._detector, "threshold", None)
        if stat is None or limit is None or not limit > 0:
            return None
        return float(stat) / float(limit)

    def update(self, x: bool | int, ts: float = 0.0) -> None:
        self.drift_detected = False
        if self._size == self._cap < self.history:
            self._grow(self._size + 1)
        slot = self.offset % self._cap
        self._bits[slot] = 1 if x else 0
        self._ts[slot] = ts
        self.offset += 1
        self._size = min(self._size + 1, self.history)
        self._since_baseline += 1
        self._detector.update(1 if x else 0)
        if self._trusted:
            if self._detector.drift_detected:
                self._confirm(trusted=True)
            return
        alarm = self._detector.drift_detected and self._since_baseline >= self.warmup
        if alarm and self._check_at is None:
            self._check_at = self.offset + self.min_samples // 2
        if self._check_at is not None and self.offset >= self._check_at:
            self._check_at = None
            self._confirm()

    def retarget(self, arl0: float) -> bool:
        """Move a calibrated detector to another ARL0 (see ``BernoulliCUSUM.retarget``);
        False if the detector has no such knob or already runs it."""
        move = getattr(self._detector, "retarget", None)
        if move is None or getattr(self._detector, "arl0", None) == arl0:
            return False
        move(arl0)
        return True

    def update_many(self, bits: np.ndarray, ts: np.ndarray) -> int:
        """Feed values in order up to and including the first confirmed change; return how many
        were used (all, if none confirmed). Same result as :meth:`update` on each value; a
        trusted detector with a vectorised ``update_many`` runs in bulk (the backtest's path).
        """
        self.drift_detected = False
        if not (self._trusted and hasattr(self._detector, "update_many")):
            for i in range(bits.size):
                self.update(bits[i], float(ts[i]))
                if self.drift_detected:
                    return i + 1
            return int(bits.size)
        alarms = self._detector.update_many(bits, first=True)
        used = int(alarms[0]) + 1 if alarms.size else int(bits.size)
        self._hold(bits[:used], ts[:used])
        if alarms.size:
            self._confirm(trusted=True)
        return used

    def _hold(self, bits: np.ndarray, ts: np.ndarray) -> None:
        """Append values to the history ring in bulk (only the last ``history`` can stay)."""
        n, keep = int(bits.size), min(int(bits.size), self.history)
        if self._size + n > self._cap < self.history:
            self._grow(self._size + n)
        slots = np.arange(self.offset + n - keep, self.offset + n) % self._cap
        self._bits[slots] = bits[n - keep :] != 0
        self._ts[slots] = ts[n - keep :]
        self.offset += n
        self._size = min(self._size + n, self.history)
        self._since_baseline += n

    def _grow(self, needed: int) -> None:
        """Re-lay the ring into a larger one (doubling, at most ``history``) holding ``needed``."""
        cap = self._cap
        while cap < min(needed, self.history):
            cap = min(cap * 2, self.history)
        if cap == self._cap:
            return
        span = np.arange(self.offset - self._size, self.offset)
        bits, ts = np.zeros(cap, dtype=np.uint8), np.zeros(cap, dtype=np.float64)
        bits[span % cap], ts[span % cap] = self._bits[span % self._cap], self._ts[span % self._cap]
        self._bits, self._ts, self._cap = bits, ts, cap

    def recent(self, n: int | None = None) -> np.ndarray:
        """The last ``n`` values since the baseline (oldest first)."""
        held = min(self._size, self._since_baseline)
        n = held if n is None else min(n, held)
        idx = (np.arange(self.offset - n, self.offset)) % self._cap
        return self._bits[idx]

    def between(self, start: int, stop: int) -> np.ndarray:
        """Values at stream offsets [start, stop), clipped to what the history still holds."""
        start = max(start, self.offset - self._size)
        stop = min(stop, self.offset)
        return self._bits[np.arange(start, max(start, stop)) % self._cap]

    def baseline(self) -> Rate:
        bits = self.recent()
        return Rate.of(int(bits.sum()), int(bits.size))

    def estimate(self, window: int = 500) -> Rate:
        bits = self.recent(window)
        return Rate.of(int(bits.sum()), int(bits.size))

    def to_state(self) -> dict[str, Any]:
        """Parameters and summary statistics as JSON-able data (no pickles).

        The values since the baseline (up to ``history``) are kept bit-packed with their
        timestamps (microsecond deltas, compressed); a detector that can describe its own
        state (``to_state``) is saved as such, any other (river's) is rebuilt on restore by
        replaying those values, which gives it the same state as long as the baseline fits in
        the history.
        """
        held = min(self._size, self._since_baseline)
        idx = np.arange(self.offset - held, self.offset) % self._cap
        micros = np.round(self._ts[idx] * 1e6).astype(np.int64)
        deltas = np.diff(micros, prepend=np.int64(0))
        detector = getattr(self._detector, "to_state", None)
        return {
            "version": 1,
            "warmup": self.warmup,
            "min_samples": self.min_samples,
            "history": self.history,
            "offset": self.offset,
            "since_baseline": self._since_baseline,
            "changes": self.changes,
            "check_at": self._check_at,
            "held": held,
            "bits": _pack(np.packbits(self._bits[idx]).tobytes()),
            "ts_us": _pack(deltas.tobytes()),
            "last_change": _change_state(self.last_change),
            "detector": detector() if callable(detector) else None,
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        factory: Callable[[], DriftDetector],
        restore: Callable[[dict[str, Any]], DriftDetector] | None = None,
    ) -> RateWatch:
        """Rebuild a watch saved by :meth:`to_state`; it continues exactly where it stopped."""
        if state.get("version") != 1:
            raise ValueError(f"unknown RateWatch state version {state.get('version')!r}")
        watch = cls(factory, state["warmup"], state["min_samples"], state["history"])
        held = int(state["held"])
        bits = np.unpackbits(np.frombuffer(_unpack(state["bits"]), dtype=np.uint8))[:held]
        micros = np.cumsum(np.frombuffer(_unpack(state["ts_us"]), dtype=np.int64))
        watch.offset = int(state["offset"])
        watch._grow(held)
        idx = np.arange(watch.offset - held, watch.offset) % watch._cap
        watch._bits[idx] = bits
        watch._ts[idx] = micros / 1e6
        watch._size = held
        watch._since_baseline = int(state["since_baseline"])
        watch.changes = int(state["changes"])
        watch._check_at = state["check_at"]
        watch.last_change = _change_from(state["last_change"])
        if state["detector"] is not None and restore is not None:
            watch._detector = restore(state["detector"])
        else:
            for value in bits:
                watch._detector.update(int(value))
        return watch

    def _confirm(self, trusted: bool = False) -> None:
        bits = self.recent()
        if trusted:
            cut = self._onset(bits)
        else:
            cut = change_point(bits, min_side=min(10, max(1, bits.size // 4)))
        after_n = bits.size - cut
        if not trusted and after_n < self.min_samples:
            self._check_at = self.offset + (self.min_samples - after_n)
            return
        before = Rate.of(int(bits[:cut].sum()), cut)
        after = Rate.of(int(bits[cut:].sum()), after_n)
        if not trusted and before.high >= after.low and after.high >= before.low:
            return  # intervals overlap: not a change a human should be paged for
        offset = self.offset - after_n
        stat = getattr(self._detector, "statistic", None)
        limit = getattr(self._detector, "threshold", None)
        self.last_change = Change(
            offset, float(self._ts[offset % self._cap]), before, after, stat, limit
        )
        self.drift_detected = True
        self.changes += 1
        self._rebaseline(bits[cut:])

    def _onset(self, bits: np.ndarray) -> int:
        """Where the change a trusted detector alarmed on began, as an index into ``bits``."""
        age = min(int(getattr(self._detector, "change_point", None) or 1), bits.size - 1)
        cut = max(1, bits.size - age)
        p0, direction = (getattr(self._detector, a, None) for a in ("p0", "direction"))
        if p0 is not None and direction is not None:
            cut += min(onset(bits[cut:], p0, direction == "up"), age - 1)
        return cut

    def _rebaseline(self, post: np.ndarray) -> None:
        self._detector = self.factory()
        for value in post:
            self._detector.update(int(value))
        if self._trusted and self._detector.drift_detected:
            self._detector = self.factory()  # the post-change values alone must not re-alarm
            for value in post:
                self._detector.update(int(value))
        self._since_baseline = int(post.size)


def _pack(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def _change_state(change: Change | None) -> dict[str, Any] | None:
    return None if change is None else asdict(change)


def _change_from(data: dict[str, Any] | None) -> Change | None:
    if data is None:
        return None
    before, after = Rate(**data["before"]), Rate(**data["after"])
    stat, limit = data.get("statistic"), data.get("threshold")
    return Change(int(data["offset"]), float(data["ts"]), before, after, stat, limit)
