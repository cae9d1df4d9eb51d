"""The detect stage: verdicts in, confirmed drift events out. Pure; no Kafka, no clock.

Each verdict feeds up to four Bernoulli streams of its segment:

- ``refusal``: refused (partly or fully), over every classified sample;
- ``over_refusal``: refused, over benign prompts only (the conditional rate);
- ``under_refusal``: complied, over harmful prompts only;
- ``violation``: the response violates policy, per segment *and policy area*.

Unclassified verdicts feed nothing: they are never counted as compliance.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from detectors import registry
from detectors.rate import Change, Rate, RateWatch
from detectors.registry import DriftDetector
from monitor.config import Detectors, Owners, SeverityPolicy, duration_seconds
from monitor.owners import team_for
from monitor.plan import Tuning
from monitor.schema import (
    SEVERITIES,
    Attribution,
    DriftEvent,
    Interval,
    Metric,
    Reversal,
    Severity,
    Verdict,
    event_id,
    segment_key,
)

StreamKey = tuple[str, Metric]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def observations(verdict: Verdict) -> list[tuple[dict[str, str], Metric, bool]]:
    """The (segment, metric, value) triples one verdict contributes."""
    if not verdict.classified or verdict.refusal is None:
        return []
    base = {k: v for k, v in verdict.segment.items() if k != "policy_area"}
    refused = verdict.refused
    out: list[tuple[dict[str, str], Metric, bool]] = [(base, "refusal", refused)]
    if verdict.prompt_harm is not None:
        if verdict.prompt_harm.harmful:
            out.append((base, "under_refusal", verdict.refusal.label == "compliance"))
        else:
            out.append((base, "over_refusal", refused))
    out.append((verdict.segment, "violation", verdict.violation))
    return out


def severity(
    before: Rate, after: Rate, policy: SeverityPolicy | None = None, area: str | None = None
) -> Severity:
    """The first level (critical, then warning) whose ratio the change reaches, up or down,
    with its traffic after the change; else info: a small change or thin traffic notifies.

    >>> severity(Rate.of(50, 1000), Rate.of(150, 1000))
    'critical'
    >>> severity(Rate.of(50, 1000), Rate.of(30, 100))  # six times, but on 100 samples
    'warning'
    >>> severity(Rate.of(100, 1000), Rate.of(110, 1000))
    'info'
    """
    ratio = (after.rate + 1e-9) / (before.rate + 1e-9)
    ratio = max(ratio, 1 / ratio)
    critical, warning = (policy or SeverityPolicy()).levels(area)
    if ratio >= critical.min_ratio and after.n >= critical.min_samples:
        return "critical"
    if ratio >= warning.min_ratio and after.n >= warning.min_samples:
        return "warning"
    return "info"


def milder(*levels: Severity) -> Severity:
    """The mildest of ``levels`` (critical, then warning, then info)."""
    return max(levels, key=SEVERITIES.index)


IMPROVES_DOWN: frozenset[Metric] = frozenset({"over_refusal", "under_refusal", "violation"})
"""The metrics that only harm when they rise. The refusal rate harms either way: a fall can
be under-refusal, which its own stream then shows going up."""


def graded(level: Severity, metric: Metric, direction: str, policy: SeverityPolicy) -> Severity:
    """``level``, or milder for an improvement: at most ``policy.improvements``, so that
    fewer violations do not page the way more do.

    >>> graded("critical", "violation", "down", SeverityPolicy())
    'info'
    >>> graded("critical", "refusal", "down", SeverityPolicy())
    'critical'
    """
    if metric not in IMPROVES_DOWN or direction != "down":
        return level
    return milder(level, policy.improvements)


@dataclass(frozen=True)
class Departure:
    """Where a stream's last change took it from (the rate before it, the direction), when it
    was confirmed (epoch seconds) and its event: what a later change the other way returns to."""

    before: Rate
    direction: str
    at: float
    event_id: str | None = None

    def to_state(self) -> dict[str, Any]:
        b = self.before
        return {
            "k": b.k,
            "n": b.n,
            "direction": self.direction,
            "at": self.at,
            "event": self.event_id,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Departure:
        before = Rate.of(state["k"], state["n"])
        return cls(before, state["direction"], state["at"], state.get("event"))  # older: no id

    def reversal(self) -> Reversal:
        """What an event that goes back on this departure says of it."""
        return Reversal(
            event_id=self.event_id,
            before=interval(self.before),
            detected_ts=datetime.fromtimestamp(self.at, UTC),
        )


def returning(
    departure: Departure | None, change: Change, at: float, policy: SeverityPolicy
) -> Departure | None:
    """The departure ``change`` (confirmed at ``at``) goes back on: the stream's previous
    change, if this one goes the other way within ``policy.returns_within`` of it."""
    d = _live(departure, at, policy)
    return d if d is not None and d.direction != change.direction else None


def grade(
    change: Change,
    metric: Metric,
    returns_to: Rate | None,
    cause: str | None,
    policy: SeverityPolicy,
    area: str | None = None,
) -> Severity:
    """The severity of a confirmed change, by its size and traffic (:func:`severity`), made
    milder by three rules: a return (to ``returns_to``, the rate before the change it goes
    back on, :func:`returning`) is graded by where it lands too, so a rollback is info, a
    partial one is graded by what it left and an overshoot by how far past the old rate it
    lands; a pure traffic-mix shift is info; an improvement is at most
    ``policy.improvements`` (:func:`graded`).

    >>> was, policy = Rate.of(100, 1000), SeverityPolicy()  # 10% before the stream went up
    >>> def back_to(k):
    ...     return Change(offset=0, ts=0.0, before=Rate.of(300, 1000), after=Rate.of(k, 200))
    >>> [grade(back_to(k), "refusal", was, None, policy) for k in (21, 40, 8)]
    ['info', 'warning', 'critical']
    >>> grade(back_to(21), "refusal", None, None, policy)  # not a return: 30% to 10.5%
    'critical'
    >>> grade(back_to(40), "refusal", None, "mix", policy)
    'info'
    """
    level = severity(*change.rates, policy, area)
    if returns_to is not None:
        level = milder(level, severity(returns_to, change.after, policy, area))
    if cause == "mix":
        level = "info"
    return graded(level, metric, change.direction, policy)


def regrade(event: DriftEvent, since: Rate, policy: SeverityPolicy) -> Severity:
    """``event``'s severity on the evidence ``since`` its change point, by the rules it was
    graded by when detected (:func:`grade`). A change is graded on the values that confirmed
    it, and the bigger it is the fewer they are: too few for ``critical`` (200 by default), so
    a tripled refusal rate caught on 60 values is a warning that only more values can raise.

    It is graded at the end of the 95% interval of ``since`` nearest the old rate, not at the
    estimate: the worker regrades at every refresh and never lowers, and the values since the
    change point start with the extreme ones that set off the alarm, so the estimate would
    raise changes just short of a level (with it, a 1.8× rise became critical in 13 of 16
    runs; with the interval's end, in 2). A rate whose interval reaches back to the old rate
    earns nothing above info, and so does a return (``event.reverses``), which was graded by
    where it lands: regraded, a rollback would be raised for overshooting on its own alarm.

    >>> from monitor.schema import Interval
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> e = DriftEvent(id="e1", segment={}, metric="refusal", direction="up", detector="x",
    ...     change_offset=0, change_ts=at, detected_ts=at, severity="warning",
    ...     before=interval(Rate.of(100, 1000)), after=interval(Rate.of(18, 60)))
    >>> [regrade(e, Rate.of(k, n), SeverityPolicy()) for k, n in ((90, 300), (15, 300))]
    ['critical', 'info']
    """
    before = Rate.of(event.before.k, event.before.n)
    up = since.rate > before.rate
    if ("up" if up else "down") != event.direction or event.reverses is not None:
        return "info"
    near = since.low if up else since.high  # the end of its 95% interval nearest the old rate
    if (near <= before.rate) if up else (near >= before.rate):
        return "info"  # not even sure it moved
    after = Rate.of(round(near * since.n), since.n)
    change = Change(event.change_offset, event.change_ts.timestamp(), before, after)
    cause = event.attribution.cause if event.attribution is not None else None
    area = event.segment.get("policy_area")
    return grade(change, event.metric, None, cause, policy, area)


def departed(
    departure: Departure | None,
    change: Change,
    at: float,
    policy: SeverityPolicy,
    event: str | None = None,
) -> Departure | None:
    """The stream's departure once ``change`` (of ``event``) is confirmed. Changes one way keep
    the first (a rollback lands where the trouble began); a change the other way ends the round
    trip, so that the next one is graded against its own baseline only: the same regression
    deployed again after a rollback must not pass for one."""
    d = _live(departure, at, policy)
    if d is None:
        return Departure(change.before, change.direction, at, event)
    return d if d.direction == change.direction else None


def _live(departure: Departure | None, at: float, policy: SeverityPolicy) -> Departure | None:
    """``departure`` while a change at ``at`` can still return to it, else None."""
    window = policy.returns_within
    if departure is None or window is None or at - departure.at > duration_seconds(window):
        return None
    return departure


class Bounds(Protocol):
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...


def within(bounds: Bounds, rate: float) -> bool:
    """True while ``rate`` lies in ``[low, high]``: a drift is active while its rate is *not*
    within the pre-change interval, and an event recovers once it is again.

    >>> within(Interval(rate=0.1, low=0.08, high=0.12, n=900, k=90), 0.125)
    False
    """
    return bounds.low <= rate <= bounds.high


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def interval(rate: Rate) -> Interval:
    """``rate`` as an event carries it: the rate, its 95% interval and the counts."""
    return Interval(rate=rate.rate, low=rate.low, high=rate.high, n=rate.n, k=rate.k)


def attribute(
    refused: tuple[np.ndarray, np.ndarray], harmful: tuple[np.ndarray, np.ndarray]
) -> Attribution | None:
    """Split a refusal-rate change into traffic mix and behaviour (see schema.Attribution).

    >>> b = np.array([1, 0, 0, 0] * 50, dtype=np.uint8)   # harmful prompts: all refused
    >>> a = np.array([1, 1, 0, 0] * 50, dtype=np.uint8)   # twice the harmful share
    >>> attribute((b, a), (b, a)).cause
    'mix'
    """
    shares, on_harmful, on_benign = [], [], []
    for r, h in zip(refused, harmful, strict=True):
        if h.size == 0 or h.all() or not h.any():
            return None
        shares.append(float(h.mean()))
        on_harmful.append(float(r[h == 1].mean()))
        on_benign.append(float(r[h == 0].mean()))
    dh = shares[1] - shares[0]
    mean_h = (shares[0] + shares[1]) / 2
    mix = dh * ((on_harmful[0] + on_harmful[1]) / 2 - (on_benign[0] + on_benign[1]) / 2)
    behaviour = mean_h * (on_harmful[1] - on_harmful[0]) + (1 - mean_h) * (
        on_benign[1] - on_benign[0]
    )
    total = abs(mix) + abs(behaviour)
    cause = "both"
    if abs(behaviour) < 0.25 * total:
        cause = "mix"
    elif abs(mix) < 0.25 * total:
        cause = "behaviour"
    return Attribution(
        harmful_share=(shares[0], shares[1]),
        refusal_harmful=(on_harmful[0], on_harmful[1]),
        refusal_benign=(on_benign[0], on_benign[1]),
        mix=mix,
        behaviour=behaviour,
        cause=cause,
    )


class Stream:
    """One watched (segment, metric) stream with the ids of its recent positive samples.

    Refusal streams also remember which prompts were harmful, for :func:`attribute`.
    """

    def __init__(self, segment: dict[str, str], metric: Metric, watch: RateWatch, keep: int):
        self.segment = segment
        self.metric = metric
        self.watch = watch
        self.examples: deque[tuple[int, str]] = deque(maxlen=max(keep * 4, 1))
        self.harmful = np.zeros(watch.history if metric == "refusal" else 0, dtype=np.uint8)
        self.departure: Departure | None = None

    @property
    def key(self) -> StreamKey:
        return segment_key(self.segment), self.metric

    def note_harm(self, verdict: Verdict) -> None:
        if self.harmful.size and verdict.prompt_harm is not None:
            self.harmful[(self.watch.offset - 1) % self.watch.history] = verdict.prompt_harm.harmful

    def to_state(self) -> dict[str, Any]:
        w = self.watch
        held = min(w.offset, w.history) if self.harmful.size else 0
        idx = np.arange(w.offset - held, w.offset) % w.history
        return {
            "segment": self.segment,
            "metric": self.metric,
            "watch": w.to_state(),
            "harmful": np.packbits(self.harmful[idx]).tobytes().hex() if held else "",
            "examples": list(self.examples),
            "departure": self.departure.to_state() if self.departure else None,
        }

    def restore(self, state: dict[str, Any]) -> None:
        w = self.watch
        if self.harmful.size and state["harmful"]:
            held = min(w.offset, w.history)
            bits = np.unpackbits(np.frombuffer(bytes.fromhex(state["harmful"]), np.uint8))
            self.harmful[np.arange(w.offset - held, w.offset) % w.history] = bits[:held]
        self.examples.extend((int(off), str(sid)) for off, sid in state["examples"])
        if state.get("departure"):  # absent from checkpoints written before it existed
            self.departure = Departure.from_state(state["departure"])

    def feed(
        self, values: np.ndarray, ts: np.ndarray, ids: list[str], harmful: np.ndarray | None
    ) -> Iterator[tuple[int, Change]]:
        """Many values of this stream at once (the backtest's columnar path): yields the index
        of each value that confirmed a change, with the change, as per-value updates would."""
        w, i = self.watch, 0
        while i < values.size:
            start = w.offset
            used = w.update_many(values[i:], ts[i:])
            if self.harmful.size and harmful is not None:
                keep = min(used, w.history)
                slots = np.arange(start + used - keep, start + used) % w.history
                self.harmful[slots] = harmful[i + used - keep : i + used]
            tail = self.examples.maxlen or 0
            positive = np.flatnonzero(values[i : i + used])[-tail:] if tail else []
            self.examples.extend((start + int(j), ids[i + int(j)]) for j in positive)
            i += used
            if w.drift_detected and w.last_change is not None:
                yield i - 1, w.last_change

    def attribution(self, change: Change) -> Attribution | None:
        if not self.harmful.size:
            return None
        w, h = self.watch, self.watch.history
        spans = ((change.offset - change.before.n, change.offset), (change.offset, w.offset))
        refused = tuple(w.between(a, b) for a, b in spans)
        harmful = tuple(
            self.harmful[np.arange(a, b)[-len(r) :] % h] if len(r) else r
            for (a, b), r in zip(spans, refused, strict=True)
        )
        return attribute(refused, harmful)  # type: ignore[arg-type]


class DriftDetection:
    """All streams of the segments this worker owns; ``observe`` returns new drift events."""

    def __init__(
        self,
        cfg: Detectors,
        owners: Owners | None = None,
        policy: SeverityPolicy | None = None,
    ) -> None:
        registry.check_params(cfg.name, cfg.params)
        self.cfg = cfg
        self.owners = owners or Owners()
        self.policy = policy or SeverityPolicy()
        self.metrics = frozenset(cfg.metrics)
        self.streams: dict[StreamKey, Stream] = {}
        self.dirty: set[StreamKey] = set()
        self.tuning = Tuning()  # per-stream ARL0 and priors (monitor.plan), set by the worker

    def params(self, key: StreamKey | None = None) -> dict[str, Any]:
        """The parameters of stream ``key``'s detector: the configured ones under the tuning
        in force (none for ``None``)."""
        return {**self.cfg.params, **(self.tuning.params(key) if key is not None else {})}

    def _factory(self, key: StreamKey | None = None) -> Callable[[], DriftDetector]:
        """Builds the detector of stream ``key``: the configured one, with the tuning in force
        when it is built (a new stream, or a restart after a confirmed change)."""

        def build() -> DriftDetector:
            return registry.build(self.cfg.name, self.params(key))

        return build

    def _stream(self, segment: dict[str, str], metric: Metric) -> Stream:
        key = (segment_key(segment), metric)
        stream = self.streams.get(key)
        if stream is None:
            cfg = self.cfg
            watch = RateWatch(
                self._factory(key),
                warmup=cfg.warmup,
                min_samples=cfg.min_samples,
                history=cfg.history,
            )
            stream = self.streams[key] = Stream(segment, metric, watch, cfg.examples)
        self.dirty.add(key)
        return stream

    def retune(self, tuning: Tuning) -> int:
        """Take a new tuning: detectors built from now on use it, and running ones move to
        their new ARL0 (priors apply only to new baselines). Returns how many moved."""
        self.tuning = tuning
        moved = 0
        for key, stream in self.streams.items():
            arl0 = self.params(key).get("arl0")
            if arl0 is not None and stream.watch.retarget(float(arl0)):
                self.dirty.add(key)
                moved += 1
        return moved

    def snapshot(self, only_dirty: bool = True) -> dict[str, dict[str, Any]]:
        """Checkpoints of the streams updated since the last snapshot (or all), by stream key."""
        keys = self.dirty if only_dirty else set(self.streams)
        detector = {"name": self.cfg.name, "params": dict(self.cfg.params)}
        states = {
            f"{seg}#{metric}": {**self.streams[(seg, metric)].to_state(), "detector": detector}
            for seg, metric in keys
        }
        self.dirty = set()
        return states

    def restore(self, states: dict[str, dict[str, Any]]) -> int:
        """Continue the baselines saved by :meth:`snapshot`; states of other detectors are
        skipped (a changed detector config starts cold rather than misreading old state)."""
        restored = 0
        mine = {"name": self.cfg.name, "params": dict(self.cfg.params)}
        rebuild = getattr(type(self._factory()()), "from_state", None)
        for state in states.values():
            if state.get("detector") != mine:
                continue
            key = (segment_key(state["segment"]), state["metric"])
            watch = RateWatch.from_state(state["watch"], self._factory(key), rebuild)
            stream = Stream(state["segment"], state["metric"], watch, self.cfg.examples)
            stream.restore(state)
            self.streams[(segment_key(stream.segment), stream.metric)] = stream
            restored += 1
        return restored

    def drop(self, belongs: Callable[[dict[str, str]], bool]) -> int:
        """Forget the streams whose segment ``belongs`` (their partition moved to another
        worker, which continues them from the store); returns how many went."""
        gone = [key for key, stream in self.streams.items() if belongs(stream.segment)]
        for key in gone:
            del self.streams[key]
            self.dirty.discard(key)
        return len(gone)

    def observe(self, verdict: Verdict) -> list[DriftEvent]:
        events = []
        ts = verdict.ts.timestamp()
        for segment, metric, value in observations(verdict):
            if metric not in self.metrics:
                continue
            stream = self._stream(segment, metric)
            stream.watch.update(value, ts)
            stream.note_harm(verdict)
            if value:
                stream.examples.append((stream.watch.offset - 1, verdict.sample_id))
            if stream.watch.drift_detected and stream.watch.last_change is not None:
                change = stream.watch.last_change
                events.append(self._event(stream, change, verdict.sample_id, verdict.ts))
        return events

    def observe_stream(
        self,
        segment: dict[str, str],
        metric: Metric,
        values: np.ndarray,
        ts_us: np.ndarray,
        ids: list[str],
        harmful: np.ndarray | None = None,
    ) -> list[tuple[int, DriftEvent]]:
        """One stream's values in bulk (timestamps in epoch microseconds): the events with the
        index of the value that raised each. Same events as :meth:`observe` would give."""
        stream = self._stream(segment, metric)
        found = []
        for i, change in stream.feed(values, ts_us / 1e6, ids, harmful):
            detected = _EPOCH + timedelta(microseconds=int(ts_us[i]))
            found.append((i, self._event(stream, change, ids[i], detected)))
        return found

    def _event(
        self, stream: Stream, change: Change, sample_id: str, detected_ts: datetime
    ) -> DriftEvent:
        examples = [sid for off, sid in stream.examples if off >= change.offset]
        area = stream.segment.get("policy_area")
        why = stream.attribution(change)
        at, eid = detected_ts.timestamp(), event_id(stream.segment, stream.metric, sample_id)
        back_to = returning(stream.departure, change, at, self.policy)
        cause = why.cause if why is not None else None
        returns_to = back_to.before if back_to is not None else None
        level = grade(change, stream.metric, returns_to, cause, self.policy, area)
        stream.departure = departed(stream.departure, change, at, self.policy, eid)
        return DriftEvent(
            id=eid,
            segment=stream.segment,
            metric=stream.metric,
            direction="up" if change.direction == "up" else "down",
            detector=self.cfg.name,
            detector_params=self.params(stream.key),
            change_offset=change.offset,
            change_ts=datetime.fromtimestamp(change.ts, UTC),
            detected_ts=detected_ts,
            before=interval(change.before),
            after=interval(change.after),
            statistic=_finite(change.statistic),
            threshold=_finite(change.threshold),
            severity=level,
            attribution=why,
            reverses=back_to.reversal() if back_to is not None else None,
            owner=team_for(self.owners, stream.segment),
            example_ids=examples[-self.cfg.examples :] if self.cfg.examples else [],
        )

    def __iter__(self) -> Iterator[Stream]:
        return iter(list(self.streams.values()))
