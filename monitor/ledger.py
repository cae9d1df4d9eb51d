"""Exactly-once bookkeeping for the detect stage: which verdicts each partition has applied.

Kafka delivers at least once: after a crash or a rebalance, verdicts come again, and a
restarted classify stage sends the verdicts of re-read samples a second time. The store's
hourly counts are additive and the detectors are stateful, so a verdict applied twice would be
counted twice. The ledger prevents that with two positions per verdict partition:

- the *offset* of the last verdict applied, written to the store in the same transaction as
  the counts (a counts *cut*) or as the detector states (a states cut). A worker that takes the
  partition over resumes from those cuts and skips what they already hold;
- per source (samples) partition, the highest source offset applied. One classify worker at a
  time reads a samples partition, in order, and sends its verdicts in order, so a verdict whose
  source offset is not above the highest one applied is a re-sent duplicate.

Pure: no Kafka, no store. :mod:`monitor.app` feeds it offsets and writes its cuts.

>>> ledger = Ledger()
>>> ledger.resume(0, counts=Cut(9, {1: 40}), states=Cut(4, {1: 35}))
>>> ledger.admit(0, 3, (1, 30)).apply                 # before both cuts: already applied
False
>>> a = ledger.admit(0, 5, (1, 36))                   # after the states cut only
>>> (a.count, a.detect)
(False, True)
>>> ledger.admit(0, 10, (1, 36)).reason               # source already applied: a re-send
'duplicate'
>>> a = ledger.admit(0, 11, (1, 41))
>>> (a.count, a.detect)
(True, True)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

SOURCE_HEADER = "driftmon-source"
"""Kafka header on a verdict: ``<samples partition>:<samples offset>`` it was made from."""

UNPARTITIONED = -1
"""Partition of verdicts that did not come from Kafka (tests, backtests)."""

Kind = Literal["counts", "states"]


@dataclass(frozen=True)
class Cut:
    """A consistent position of one verdict partition: everything up to ``offset`` applied,
    and the highest source offset applied per samples partition."""

    offset: int
    sources: Mapping[int, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, int]:
        return {str(k): v for k, v in sorted(self.sources.items())}

    @classmethod
    def from_json(cls, offset: int, sources: Mapping[str, int] | None) -> Cut:
        return cls(int(offset), {int(k): int(v) for k, v in (sources or {}).items()})


@dataclass(frozen=True)
class Admission:
    """What to do with one verdict: apply it to the counts, the detectors, both or neither."""

    count: bool
    detect: bool
    reason: Literal["new", "replayed", "duplicate"] = "new"

    @property
    def apply(self) -> bool:
        return self.count or self.detect


REPLAYED = Admission(False, False, "replayed")
DUPLICATE = Admission(False, False, "duplicate")


def source_header(partition: int, offset: int) -> bytes:
    """The :data:`SOURCE_HEADER` value for a verdict made from this samples message."""
    return f"{partition}:{offset}".encode()


def parse_source(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None,
) -> tuple[int, int] | None:
    """The (partition, offset) of a verdict's :data:`SOURCE_HEADER`; None if absent or garbled.

    >>> parse_source([("driftmon-source", b"2:17")])
    (2, 17)
    >>> parse_source({"driftmon-source": b"x"}) is None
    True
    """
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name == SOURCE_HEADER and value:
            partition, _, offset = bytes(value).partition(b":")
            try:
                return int(partition), int(offset)
            except ValueError:
                return None
    return None


class RecentIds:
    """The last ``size`` sample ids seen (0: none), so a producer's re-send of a sample goes to
    the DLQ as a duplicate instead of being counted twice. Best effort: the window is this
    worker's memory, so a re-send after a restart or to another worker is not recognised.

    >>> recent = RecentIds(2)
    >>> [recent.seen(i) for i in ("a", "b", "a", "c", "a")]
    [False, False, True, False, False]
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, sample_id: str) -> bool:
        if self.size <= 0:
            return False
        if sample_id in self._ids:
            return True
        self._ids[sample_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False


def position_key(app_id: str, topic: str, partition: int, kind: Kind) -> str:
    """Key of a cut among the store's checkpoints (next to the detector streams' keys).

    >>> position_key("driftmon", "verdicts", 3, "counts")
    '@position:driftmon:verdicts:3:counts'
    """
    return f"@position:{app_id}:{topic}:{partition}:{kind}"


class _Partition:
    __slots__ = ("applied", "counted", "detected", "sources")

    def __init__(self, counted: Cut | None, detected: Cut | None) -> None:
        self.counted = counted.offset if counted else -1
        self.detected = detected.offset if detected else -1
        first = counted if _offset(counted) <= _offset(detected) else detected
        self.applied = _offset(first)
        self.sources = dict(first.sources) if first else {}


def _offset(cut: Cut | None) -> int:
    return cut.offset if cut is not None else -1


class Ledger:
    """Per verdict partition: the stored cuts and what has been applied since."""

    def __init__(self) -> None:
        self._parts: dict[int, _Partition] = {}

    def __contains__(self, partition: int) -> bool:
        return partition in self._parts

    @property
    def partitions(self) -> frozenset[int]:
        return frozenset(self._parts)

    def resume(self, partition: int, counts: Cut | None, states: Cut | None) -> None:
        """Start (or restart) a partition from the cuts the store holds (None: nothing yet)."""
        self._parts[partition] = _Partition(counts, states)

    def forget(self, partition: int) -> None:
        """The partition went to another worker: its positions are the store's now."""
        self._parts.pop(partition, None)

    def admit(self, partition: int, offset: int, source: tuple[int, int] | None) -> Admission:
        """Decide about the verdict at ``offset`` and note it as seen."""
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition(None, None)
        if offset <= part.applied:
            return REPLAYED
        part.applied = offset
        if source is not None:
            src_partition, src_offset = source
            if src_offset <= part.sources.get(src_partition, -1):
                return DUPLICATE
            part.sources[src_partition] = src_offset
        return Admission(offset > part.counted, offset > part.detected)

    def cut(self, kind: Kind) -> dict[int, Cut]:
        """The current position of each partition that moved past its stored ``kind`` cut,
        to store with a write of that kind."""
        return {
            p: Cut(part.applied, dict(part.sources))
            for p, part in self._parts.items()
            if p != UNPARTITIONED
            and part.applied > (part.counted if kind == "counts" else part.detected)
        }

    def stored(self, kind: Kind, cuts: Mapping[int, Cut]) -> None:
        """Cuts of ``kind`` reached the store: later re-deliveries up to them are skipped."""
        for p, c in cuts.items():
            part = self._parts.get(p)
            if part is None:
                continue
            if kind == "counts":
                part.counted = max(part.counted, c.offset)
            else:
                part.detected = max(part.detected, c.offset)

    def committable(self) -> dict[int, int]:
        """Per partition, the Kafka offset to commit: the first verdict some cut does not hold.

        Nothing for a partition whose counts or states were never stored, so a restart
        replays it from the start (skipping what the other cut holds).
        """
        return {
            p: min(part.counted, part.detected) + 1
            for p, part in self._parts.items()
            if p != UNPARTITIONED and part.counted >= 0 and part.detected >= 0
        }
