"""BernoulliCUSUM detectors advanced with numpy, bit for bit as ``update`` would.

Two paths, both exact (the statistics are integers, so sums do not depend on their order):

- :class:`Bank` advances many detectors together, one row per stream: the calibration that
  produced :data:`detectors.calibrate.CORRECTION` and the benchmark run thousands of seeded
  streams through it, so what they measured is what the shipped detector does. Values come in
  blocks that end on the refresh boundary (every :data:`~detectors.bernoulli.REFRESH_EVERY`
  updates); inside a block the arms of watching streams only add integer increments and floor
  at zero, one vector operation per step over all streams and arms. The rare rows whose block
  holds an event that changes the rules (an alarm, the end of a warm-up, a pending restart)
  are replayed through the scalar ``update``.
- :func:`advance` takes one detector over a long array (``update_many``), vectorised over time:
  Lindley's recursion has the closed form ``S_t = C_t - min(-S_0, min_{s<=t} C_s)`` with ``C``
  the cumulative sum of the increments.
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
        self._buf: IntArray | None = None
        self._flag: npt.NDArray[np.bool_] = np.empty(0, bool)
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
        d._t, d._n, d._k, d._refn = (
            int(self.t[r]),
            int(self.n[r]),
            int(self.k[r]),
            int(self.refn[r]),
        )
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
        # watching rows: Lindley's recursion, vectorised over rows and arms (in reused buffers:
        # fresh multi-megabyte arrays per block would cost more in page faults than in sums)
        if self._buf is None or self._buf.shape[1] != rows:
            self._buf = np.empty((REFRESH_EVERY, rows, self.s.shape[1]), np.int64)
            self._flag = np.empty(self._buf.shape, bool)
        st, flag = self._buf[:length], self._flag[:length]
        np.multiply(xt[:, :, None], (self.inc1 - self.inc0)[None], out=st)
        np.add(st, self.inc0[None], out=st)
        prev = self.s
        for row in st:  # S_t = max(0, S_{t-1} + inc_t), one vector operation per step
            np.add(row, prev, out=row)
            np.maximum(row, 0, out=row)
            prev = row
        special |= (st.max(axis=0) >= self.hs).any(axis=1)
        fast = ~special
        live = fast & self.watching
        np.equal(st, 0, out=flag)
        last = (flag * np.arange(1, length + 1)[:, None, None]).max(axis=0) - 1  # -1: no zero
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


def advance(
    detector: BernoulliCUSUM, bits: npt.NDArray[np.bool_], chunk: int = 4096, first: bool = False
) -> IntArray:
    """Feed one detector a 1-D array of values; return the indices at which it alarmed.

    With ``first`` it stops right after the first alarm (``drift_detected`` still set), for a
    caller that must act on an alarm before the next value, as :class:`~detectors.rate.
    RateWatch` does.

    The single-stream counterpart of :class:`Bank`: vectorised over *time* instead of streams.
    While watching, a chunk's statistics are ``C_t - min(-S_0, min_{s<=t} C_s)`` with ``C``
    the cumulative sum of the increments; the chunk is cut short at the first step that would
    change the rules (an alarm, a due refresh), which the scalar ``update`` then takes.
    """
    d = detector
    x = np.asarray(bits, dtype=bool)
    alarms: list[int] = []
    i, total = 0, x.size
    size = REFRESH_EVERY  # grows while chunks run through, shrinks when one is cut short
    while i < total:
        if first and alarms:
            break
        if d._pending is not None:
            d.update(bool(x[i]))
            alarms.extend([i] if d.drift_detected else [])
            i += 1
            continue
        if not d._watching:
            i += _warm(d, x[i : i + chunk])
            continue
        phase = d._t % REFRESH_EVERY
        part = x[i : i + min(size - phase, total - i)]
        done = _watch(d, part, phase)
        i += done
        size = min(chunk, size * 2) if done == part.size else max(REFRESH_EVERY, size // 4)
        if done < part.size:  # the next value alarms: let the scalar path take it
            d.update(bool(x[i]))
            alarms.extend([i] if d.drift_detected else [])
            i += 1
    return np.asarray(alarms, dtype=np.int64)


def _warm(d: BernoulliCUSUM, x: npt.NDArray[np.bool_]) -> int:
    """Count warm-up values in bulk; the value that makes the baseline trusted goes through
    ``update`` (which starts watching). Returns how many values were used."""
    kc = np.cumsum(x, dtype=np.int64)
    nt = d._n + np.arange(1, x.size + 1)
    ek = (d._k + kc) + d._pk
    ready = (ek >= d.min_events) & ((nt + d.prior_weight) - ek >= d.min_events)
    ready &= nt >= d.warmup
    first = int(np.argmax(ready)) if ready.any() else x.size
    if first:
        d._n += first
        d._k += int(kc[first - 1])
        d._t += first
    if first < x.size:
        d.update(bool(x[first]))
        return first + 1
    return first


def _watch(d: BernoulliCUSUM, x: npt.NDArray[np.bool_], phase: int) -> int:
    """Advance a watching detector over ``x`` in bulk, stopping before an alarm or right after
    a refresh. Returns how many values were used."""
    inc1, inc0 = np.asarray(d._inc1), np.asarray(d._inc0)
    c = np.cumsum(np.where(x[:, None], inc1[None], inc0[None]), axis=0)
    low = np.minimum(np.minimum.accumulate(c, axis=0), -np.asarray(d._s)[None])
    st = c - low
    over = (st >= np.asarray(d._hs)[None]).any(axis=1)
    stop = int(np.argmax(over)) if over.any() else x.size  # values usable in bulk
    steps = np.arange(1, x.size + 1)
    last = np.maximum.accumulate(np.where(st == 0, steps[:, None], 0), axis=0)  # 1-based
    zn0 = np.asarray(d._zn)
    # refresh checks fall after the values that bring _t to a multiple of REFRESH_EVERY
    checks = np.arange(REFRESH_EVERY - 1 - phase, stop, REFRESH_EVERY)
    if checks.size:
        bn = np.where(last[checks] > 0, d._n + last[checks], zn0[None]).min(axis=1)
        due = (bn - d._refn >= d._refn // REFRESH_EVERY) & (bn > d._refn)
        if due.any():
            stop = int(checks[int(np.argmax(due))]) + 1
    if stop == 0:
        return 0
    kc = np.cumsum(x[:stop], dtype=np.int64)
    lz = last[stop - 1]
    d._s = st[stop - 1].tolist()
    d._zn = np.where(lz > 0, d._n + lz, zn0).tolist()
    d._zk = np.where(lz > 0, d._k + kc[np.maximum(lz, 1) - 1], np.asarray(d._zk)).tolist()
    d._n += stop
    d._k += int(kc[-1])
    d._t += stop
    d.drift_detected = False
    if d._t % REFRESH_EVERY == 0:
        d._refresh()
    return stop
