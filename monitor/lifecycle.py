"""The life of a drift event after detection: what its metrics say, and when it recovers.

The store is the source of truth for an event's status (an ack can come from the CLI of another
machine), so the worker reloads the open events on a timer and this module turns that snapshot
into Prometheus series (:class:`EventCollector`) and decides which events have recovered
(:class:`Recovery`). Nothing here does I/O or reads a clock: the worker passes ``now`` in.

An event *recovers* when its stream's rate, measured only over values seen since the event's
change point, is back within the event's pre-change interval (the test behind
``driftmon_drift_active``, :func:`monitor.detect.within`) and stays there for ``hold`` seconds
without interruption. An ``info`` event *lapses* once it has been open a while (:class:`Expiry`).
An event is *regraded* when the same rate grades it graver than it was at detection
(:func:`regraded`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from detectors.rate import Rate, RateWatch
from monitor.config import SeverityPolicy
from monitor.detect import regrade, within
from monitor.metrics import segment_labels
from monitor.schema import DriftEvent, Interval, Severity, graver, segment_key

RECENT = 500  # values behind "the rate now", as for driftmon_detector_current_rate
EXAMPLES_IN_LABEL = 3  # sample ids in the examples_info label: enough to start, bounded
OPEN_LABELS = (
    "event_id",
    "model",
    "surface",
    "locale",
    "policy_area",
    "metric",
    "direction",
    "severity",
    "team",
    "status",
)


def since_change(watch: RateWatch, change_offset: int, window: int = RECENT) -> Rate | None:
    """The rate over the last ``window`` values after ``change_offset``; None if none are left
    (the stream restarted cold, or nothing came since the change)."""
    start = max(change_offset, watch.offset - window)
    bits = watch.between(start, watch.offset)
    if bits.size == 0:
        return None
    return Rate.of(int(bits.sum()), int(bits.size))


@dataclass(frozen=True)
class Recovered:
    """An event whose rate is back: what to write on its timeline."""

    event: DriftEvent
    rate: Rate
    since: float

    @property
    def note(self) -> str:
        b = self.event.before
        return (
            f"rate back within its pre-change interval [{b.low:.2%}, {b.high:.2%}]: "
            f"{self.rate.rate:.2%} over the last {self.rate.n} values"
        )

    @property
    def detail(self) -> dict[str, float | int]:
        return {"rate": self.rate.rate, "n": self.rate.n, "back_since": self.since}


@dataclass(frozen=True)
class Lapsed:
    """An info event open long enough to close: what to write on its timeline."""

    event: DriftEvent
    age: float

    @property
    def note(self) -> str:
        return f"info event closed after {self.age / 3600:.3g} h open: recorded only"

    @property
    def detail(self) -> dict[str, float]:
        return {"open_seconds": self.age}


class Expiry:
    """Which info events have been open ``after`` seconds, by this worker's clock.

    By default nobody is told of an info event (a traffic-mix shift, an improvement, a
    rollback, a change on thin traffic), so nobody would resolve it: it would stay open, and
    alerting, for ever. Its age runs from when this worker first saw it open, not from its
    ``detected_ts``: that is the samples' time, which a replay of old traffic puts in the past.
    A restarted worker starts counting again.

    >>> from datetime import UTC, datetime
    >>> from monitor.schema import Interval
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rate = Interval(rate=0.1, low=0.08, high=0.12, n=900, k=90)
    >>> e = DriftEvent(id="e1", segment={}, metric="violation", direction="down",
    ...     detector="adwin", change_offset=0, change_ts=at, detected_ts=at, before=rate,
    ...     after=rate, severity="info")
    >>> x = Expiry(after=86400)
    >>> x.update([e], now=1000.0), [c.note for c in x.update([e], now=1000.0 + 86400)]
    ([], ['info event closed after 24 h open: recorded only'])
    """

    def __init__(self, after: float) -> None:
        self.after = after
        self._seen: dict[str, float] = {}

    def update(self, events: Iterable[DriftEvent], now: float) -> list[Lapsed]:
        """Feed the open events; returns the info ones open ``after`` seconds (events no
        longer passed in are forgotten)."""
        seen = {e.id: self._seen.get(e.id, now) for e in events if e.severity == "info"}
        self._seen = seen
        by_id = {e.id: e for e in events}
        return [Lapsed(by_id[i], now - t) for i, t in seen.items() if now - t >= self.after]


class Recovery:
    """Which open events have been back within their pre-change interval for ``hold`` seconds.

    ``min_samples`` values since the change point are needed before a rate counts as back, so
    an event is never resolved on the handful of values that triggered it.

    >>> from datetime import UTC, datetime
    >>> from monitor.schema import Interval
    >>> e = DriftEvent(id="e1", segment={"model": "m"}, metric="refusal", direction="up",
    ...     detector="adwin", change_offset=0, change_ts=datetime(2026, 1, 1, tzinfo=UTC),
    ...     detected_ts=datetime(2026, 1, 1, tzinfo=UTC),
    ...     before=Interval(rate=0.1, low=0.08, high=0.12, n=900, k=90),
    ...     after=Interval(rate=0.3, low=0.25, high=0.35, n=200, k=60))
    >>> r = Recovery(hold=60, min_samples=50)
    >>> r.update([e], {"e1": Rate.of(10, 100)}, now=1000.0)
    []
    >>> [x.event.id for x in r.update([e], {"e1": Rate.of(11, 100)}, now=1060.0)]
    ['e1']
    """

    def __init__(self, hold: float, min_samples: int = 50) -> None:
        if hold < 0:
            raise ValueError(f"hold must be >= 0 seconds, got {hold}")
        if min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, got {min_samples}")
        self.hold = hold
        self.min_samples = min_samples
        self._back_since: dict[str, float] = {}

    def update(
        self, events: Iterable[DriftEvent], rates: Mapping[str, Rate | None], now: float
    ) -> list[Recovered]:
        """Feed each open event's current rate (by event id; None or missing: unknown here).

        Returns the events that have recovered; an event that is out again starts over, and
        events no longer passed in are forgotten.
        """
        done: list[Recovered] = []
        seen: dict[str, float] = {}
        for event in events:
            rate = rates.get(event.id)
            if rate is None or rate.n < self.min_samples or not within(event.before, rate.rate):
                continue
            since = seen[event.id] = self._back_since.get(event.id, now)
            if now - since >= self.hold:
                done.append(Recovered(event, rate, since))
        self._back_since = seen
        return done


@dataclass(frozen=True)
class Regraded:
    """An open event that the values since its change grade graver: what to store and say."""

    event: DriftEvent
    severity: Severity
    rate: Rate

    @property
    def note(self) -> str:
        a = self.event.after
        return (
            f"{self.event.severity} → {self.severity}: {self.rate.rate:.2%} over "
            f"{self.rate.n} values since the change (detected at {a.rate:.2%} over {a.n})"
        )

    @property
    def detail(self) -> dict[str, Any]:
        a = self.event.after
        return {
            "from": self.event.severity,
            "rate": self.rate.rate,
            "n": self.rate.n,
            "detected_after": {"rate": a.rate, "n": a.n, "k": a.k},
        }


def regraded(
    events: Iterable[DriftEvent], rates: Mapping[str, Rate | None], policy: SeverityPolicy
) -> list[Regraded]:
    """The open events that their current rate (by event id, as for :class:`Recovery`) grades
    graver than they are (:func:`monitor.detect.regrade`); never milder: a page once sent
    stands until the event is resolved."""
    out = []
    for event in events:
        rate = rates.get(event.id)
        if rate is None:
            continue
        level = regrade(event, rate, policy)
        if graver(level, event.severity):
            out.append(Regraded(event, level, rate))
    return out


def after_regrade(
    event: DriftEvent, severity: Severity, after: Interval, at: datetime
) -> DriftEvent:
    """The event as a regrade at ``at`` leaves it (what :meth:`Store.regrade` writes): an
    acknowledged one is reopened, since its acknowledgement covered the milder severity."""
    update: dict[str, Any] = {"severity": severity, "after": after}
    if event.status == "acknowledged":
        update |= {"status": "open", "reopened_ts": at}
    return event.model_copy(update=update)


@dataclass(frozen=True)
class Snapshot:
    """The open events as last read from the store, each with its owning team."""

    events: Sequence[tuple[DriftEvent, str]] = ()


class EventCollector(Collector):
    """One set of ``driftmon_drift_event_*`` series per open event, from the last snapshot.

    Resolved events are simply absent from the snapshot, so their series disappear; the
    unacknowledged age is computed at scrape time so it grows between refreshes.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        families = {
            "open": GaugeMetricFamily(
                "driftmon_drift_event_open",
                "1 per drift event not resolved yet (status open or acknowledged).",
                labels=list(OPEN_LABELS),
            ),
            "rate": GaugeMetricFamily(
                "driftmon_drift_event_rate",
                "Rate before and after the change, with the 95% interval bounds; for a change "
                "back (see driftmon_drift_event_reverses_info), side earlier: the rate before "
                "the change it goes back on.",
                labels=["event_id", "side", "bound"],
            ),
            "samples": GaugeMetricFamily(
                "driftmon_drift_event_samples",
                "Samples behind the rate before and after the change (and earlier).",
                labels=["event_id", "side"],
            ),
            "change": GaugeMetricFamily(
                "driftmon_drift_event_change_timestamp_seconds",
                "Unix time of the estimated change point.",
                labels=["event_id"],
            ),
            "reopened": GaugeMetricFamily(
                "driftmon_drift_event_reopened_timestamp_seconds",
                "Unix time a regrade raised the event past its acknowledgement (reopening it).",
                labels=["event_id"],
            ),
            "reverses": GaugeMetricFamily(
                "driftmon_drift_event_reverses_info",
                "1 per open event that goes back on an earlier change of its stream (a "
                "rollback): that change's event id, empty if unknown.",
                labels=["event_id", "reverses"],
            ),
            "examples": GaugeMetricFamily(
                "driftmon_drift_event_examples_info",
                "Ids of example samples (ids only, never text) of an open event.",
                labels=["event_id", "examples"],
            ),
            "unacked": GaugeMetricFamily(
                "driftmon_drift_event_unacknowledged_seconds",
                "Seconds since detection (or since a regrade reopened it) of an event nobody "
                "has acknowledged at its severity.",
                labels=["event_id", "team"],
            ),
        }
        for event, team in self.snapshot.events:
            _add(families, event, team, now)
        yield from families.values()


def _add(families: dict[str, GaugeMetricFamily], e: DriftEvent, team: str, now: float) -> None:
    model, surface, locale, area = segment_labels(e.segment)
    open_values = [e.id, model, surface, locale, area, e.metric, e.direction, e.severity]
    families["open"].add_metric([*open_values, team, e.status], 1.0)
    sides = [("before", e.before), ("after", e.after)]
    if e.reverses is not None:
        sides.append(("earlier", e.reverses.before))
        families["reverses"].add_metric([e.id, e.reverses.event_id or ""], 1.0)
    for side, interval in sides:
        for bound in ("rate", "low", "high"):
            families["rate"].add_metric([e.id, side, bound], getattr(interval, bound))
        families["samples"].add_metric([e.id, side], interval.n)
    families["change"].add_metric([e.id], e.change_ts.timestamp())
    if e.reopened_ts is not None:
        families["reopened"].add_metric([e.id], e.reopened_ts.timestamp())
    if e.example_ids:
        examples = ",".join(e.example_ids[:EXAMPLES_IN_LABEL])
        families["examples"].add_metric([e.id, examples], 1.0)
    if e.status == "open":
        since = e.reopened_ts or e.detected_ts
        families["unacked"].add_metric([e.id, team], max(0.0, now - since.timestamp()))


def stream_rates(
    events: Iterable[DriftEvent], watches: Mapping[tuple[str, str], RateWatch]
) -> dict[str, Rate]:
    """Each event's rate since its change point, for the events whose stream is watched here
    (``watches`` keyed like :attr:`monitor.detect.DriftDetection.streams`)."""
    rates: dict[str, Rate] = {}
    for event in events:
        watch = watches.get((segment_key(event.segment), event.metric))
        rate = None if watch is None else since_change(watch, event.change_offset)
        if rate is not None:
            rates[event.id] = rate
    return rates
