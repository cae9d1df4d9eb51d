"""A testing toolkit shipped with driftmon, so a whole-pipeline test reads in a few lines.

- :class:`ListStore`: an in-memory store with the real store's interface (a fake sink);
- :class:`~monitor.run.WorkerProcess`: a real ``driftmon worker`` subprocess with its own
  config, stopped (process group and all) when the ``with`` block ends;
- :func:`wait_until`: a bounded wait that says what it was waiting for when it gives up;
- :func:`metric_value`: one series' value from a /metrics endpoint;
- :func:`consume`: a topic's records from the beginning, with a bounded wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from kafka import KafkaConsumer

from monitor.counts import CountRow, combine
from monitor.run import WorkerProcess, scrape
from monitor.schema import DriftEvent, EventStatus

__all__ = ["ListStore", "WorkerProcess", "consume", "metric_value", "wait_until"]

T = TypeVar("T")


class ListStore:
    """In-memory stand-in for :class:`monitor.store.Store` (same methods, same idempotence)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.saved: dict[str, DriftEvent] = {}
        self.cells: dict[tuple, CountRow] = {}
        self.states: dict[str, dict] = {}

    def add_events(self, events: Iterable[DriftEvent]) -> int:
        new = 0
        for event in events:
            if event.id not in self.saved:
                self.saved[event.id] = event
                new += 1
        return new

    def add_counts(self, rows: Iterable[CountRow]) -> None:
        for row in rows:
            old = self.cells.get(row.key)
            self.cells[row.key] = row if old is None else combine(old, row)

    def counts(self, start: datetime | None = None, end: datetime | None = None) -> list[CountRow]:
        return [
            row
            for key, row in sorted(self.cells.items())
            if (start is None or row.hour >= start) and (end is None or row.hour < end)
        ]

    def events(self, since: datetime | None = None) -> list[DriftEvent]:
        return [e for e in self.saved.values() if since is None or e.detected_ts >= since]

    def save_states(self, states: dict[str, dict], at: datetime) -> None:
        self.states.update(states)

    def load_states(self) -> dict[str, dict]:
        return dict(self.states)

    def set_status(self, event_id: str, status: EventStatus) -> bool:
        event = self.saved.get(event_id)
        if event is None:
            return False
        self.saved[event_id] = event.model_copy(update={"status": status})
        return True

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call ``check`` until it returns something truthy; TimeoutError naming ``what`` if never."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what} (last: {last!r})")


def metric_value(url: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        s.value
        for s in scrape(url)
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[bytes]:
    """Read a topic from the beginning until ``expected`` records came (bounded wait)."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    got: list[bytes] = []

    def poll() -> bool:
        for batch in consumer.poll(timeout_ms=500).values():
            got.extend(r.value for r in batch)
        return len(got) >= expected

    try:
        wait_until(poll, timeout, f"{expected} record(s) on {topic}")
    finally:
        consumer.close()
    return got
