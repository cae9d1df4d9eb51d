"""Many :class:`~detectors.bernoulli.BernoulliCUSUM` detectors advanced together with numpy.

One engine serves three callers: ``update_many`` (one detector, a long array), the calibration
that produced :data:`detectors.calibrate.CORRECTION`, and the benchmark (thousands of seeded
streams). It gives *the same results bit for bit* as calling ``update`` value by value, so what
the calibration measured is what the shipped detector does.

How: values are taken in blocks that end on the detector's refresh boundary (every
:data:`~detectors.bernoulli.REFRESH_EVERY` updates). Inside a block a watching stream's arms only
add integer increments and floor at zero, which has a closed form (Lindley's recursion:
``S_t = C_t - min(-S_0, min_{s<=t} C_s)`` with ``C`` the cumulative sum), so the whole block is a
few array operations. The rare streams whose block holds an event that changes the rules (an
alarm, the end of a warm-up, a pending restart) are replayed through the scalar ``update``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from detectors.bernoulli import REFRESH_EVERY, BernoulliCUSUM

_NEVER = np.int64(2**62)

IntArray = npt.NDArray[np.int64]


class Bank:
    """The state of ``len(detectors)`` detectors as arrays (one row each)."""

    def __init__(self, detectors: Sequence[BernoulliCUSUM]) -> None:
        self.detectors = list(detectors)
        if not self.detectors:
            raise ValueError("a Bank needs at least one detector")
        arms = {len(d.ratios) for d in self.detectors}
        phase = {d._t % REFRESH_EVERY for d in self.detectors}
        if len(arms) != 1 or len(phase) != 1:
            raise ValueError("detectors in one Bank need the same number of arms and t % 64")
        rows, k = len(self.detectors), arms.pop()
        self.t = np.zeros(rows, np.int64)
        self.n = np.zeros(rows, np.int64)
        self.k = np.zeros(rows, np.int64)
        self.refn = np.zeros(rows, np.int64)
        self.pending = np.full(rows, -1, np.int64)
        self.watching = np.zeros(rows, bool)
        self.s = np.zeros((rows, k), np.int64)
        self.zn = np.zeros((rows, k), np.int64)
        self.zk = np.zeros((rows, k), np.int64)
        self.inc0 = np.zeros((rows, k), np.int64)
        self.inc1 = np.zeros((rows, k), np.int64)
        self.hs = np.full((rows, k), _NEVER, np.int64)
        self.m = np.array([d.min_events for d in self.detectors], np.float64)
        self.w = np.array([d.prior_weight for d in self.detectors], np.float64)
        self.pk = np.array([d._pk for d in self.detectors], np.float64)
        self.warmup = np.array([d.warmup for d in self.detectors], np.int64)
        for r in range(rows):
            self._load(r)

    def _load(self, r: int) -> None:
        d = self.detectors[r]
        self.t[r], self.n[r], self.k[r], self.refn[r] = d._t, d._n, d._k, d._refn
        self.pending[r] = -1 if d._pending is None else d._pending
        self.watching[r] = d._watching
        self.s[r], self.zn[r], self.zk[r] = d._s, d._zn, d._zk
        if d._watching:
            self.inc0[r], self.inc1[r], self.hs[r] = d._inc0, d._inc1, d._hs
        else:
            self.inc0[r], self.inc1[r], self.hs[r] = 0, 0, _NEVER

    def _store(self, r: int) -> BernoulliCUSUM:
        d = self.detectors[r]
        d._t, d._n, d._k, d._refn = int(self.t[r]), int(self.n[r]), int(self.k[r]), int(self.refn[r])
        d._pending = None if self.pending[r] < 0 else int(self.pending[r])
        d.drift_detected = d._pending is not None
        d._watching = bool(self.watching[r])
        d._s, d._zn, d._zk = self.s[r].tolist(), self.zn[r].tolist(), self.zk[r].tolist()
        return d

    def write_back(self) -> list[BernoulliCUSUM]:
        """Copy every row back into its detector object (after :meth:`run`)."""
        return [self._store(r) for r in range(len(self.detectors))]

    def run(
        self,
        bits: npt.NDArray[np.bool_] | None = None,
        steps: int | None = None,
        draw: Callable[[int, int], npt.NDArray[np.bool_]] | None = None,
    ) -> list[tuple[int, int]]:
        """Advance every row; return ``(row, step)`` for each alarm, ``step`` 0-based.

        Either ``bits`` (rows × steps) or ``steps`` with ``draw(start, length)`` returning the
        rows × length block of values (so simulations need not hold all values at once).
        """
        if bits is not None:
            steps = bits.shape[1]
            source = bits

            def draw(start: int, length: int) -> npt.NDArray[np.bool_]:
                return source[:, start : start + length]

        if steps is None or draw is None:
            raise ValueError("run needs bits, or steps and draw")
        alarms: list[tuple[int, int]] = []
        done = 0
        while done < steps:
            phase = int(self.t[0] % REFRESH_EVERY)
            length = min(REFRESH_EVERY - phase, steps - done)
            block = np.asarray(draw(done, length), dtype=bool)
            for r, i in self._block(block):
                alarms.append((r, done + i))
            done += length
        return alarms

    def _block(self, x: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
        rows, length = x.shape
        xt = np.ascontiguousarray(x.T)  # steps × rows: the scans below run over the first axis
        kc = np.cumsum(xt, axis=0, dtype=np.int64)
        special = self.pending >= 0
        warming = np.flatnonzero(~self.watching)
        if warming.size:  # does a baseline become trusted inside this block?
            nt = self.n[warming] + np.arange(1, length + 1)[:, None]
            ek = (self.k[warming] + kc[:, warming]) + self.pk[warming]
            en = nt + self.w[warming]
            m = self.m[warming]
            ready = (ek >= m) & (en - ek >= m) & (nt >= self.warmup[warming])
            special[warming] |= ready.any(axis=0)
        # watching rows: Lindley's recursion, vectorised over rows and arms
        st = np.where(xt[:, :, None], self.inc1[None], self.inc0[None])
        prev = self.s
        for row in st:  # S_t = max(0, S_{t-1} + inc_t), one vector operation per step
            np.add(row, prev, out=row)
            np.maximum(row, 0, out=row)
            prev = row
        special |= (st.max(axis=0) >= self.hs).any(axis=1)
        fast = ~special
        live = fast & self.watching
        steps = np.arange(length, dtype=np.int64)[:, None, None]
        last = np.where(st == 0, steps, -1).max(axis=0)
        hit = (last >= 0) & live[:, None]
        last = np.maximum(last, 0)
        self.zn = np.where(hit, self.n[:, None] + last + 1, self.zn)
        self.zk = np.where(hit, self.k[:, None] + kc[last, np.arange(rows)[:, None]], self.zk)
        self.s = np.where(live[:, None], st[-1], self.s)
        self.n = np.where(fast, self.n + length, self.n)
        self.k = np.where(fast, self.k + kc[-1], self.k)
        self.t = np.where(fast, self.t + length, self.t)
        alarms = []
        for r in np.flatnonzero(special).tolist():
            d = self._store(r)
            for i, v in enumerate(x[r].tolist()):
                d.update(v)
                if d.drift_detected:
                    alarms.append((r, i))
            self._load(r)
        if self.t[0] % REFRESH_EVERY == 0:
            self._refresh(live)
        return alarms

    def _refresh(self, rows: npt.NDArray[np.bool_]) -> None:
        bn = self.zn.min(axis=1)
        due = rows & (bn - self.refn >= self.refn // REFRESH_EVERY) & (bn > self.refn)
        for r in np.flatnonzero(due).tolist():
            d = self._store(r)
            d._refresh()
            self._load(r)


def simulate(
    detectors: Sequence[BernoulliCUSUM],
    steps: int,
    rate: Callable[[int, int], npt.ArrayLike],
    seed: int,
) -> tuple[list[tuple[int, int]], IntArray]:
    """Run detectors on simulated Bernoulli streams, one per detector.

    ``rate(start, length)`` gives the event probability per row and step (anything that
    broadcasts to rows × length). Returns the alarms ``(row, step)`` and, per row, the number of
    samples it spent watching (the denominator of a measured ARL0).
    """
    rng = np.random.default_rng(seed)
    bank = Bank(detectors)
    rows = len(detectors)
    watched = np.zeros(rows, np.int64)

    def draw(start: int, length: int) -> npt.NDArray[np.bool_]:
        p = np.broadcast_to(np.asarray(rate(start, length), dtype=np.float64), (rows, length))
        watched[:] += np.where(bank.watching & (bank.pending < 0), length, 0)
        return rng.random((rows, length)) < p

    alarms = bank.run(steps=steps, draw=draw)
    bank.write_back()
    return alarms, watched
