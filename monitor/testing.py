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
from datetime import UTC, datetime
from typing import Any, TypeVar

from kafka import KafkaConsumer

from monitor.counts import CountRow, combine
from monitor.lifecycle import after_regrade
from monitor.reportdata import ReportRows
from monitor.run import WorkerProcess, scrape
from monitor.schema import (
    DriftEvent,
    EventStatus,
    Interval,
    Severity,
    TimelineAction,
    TimelineEntry,
    graver,
)
from monitor.store import Transition, UnknownEventError, regrade_entry

__all__ = ["ListStore", "WorkerProcess", "consume", "metric_value", "wait_until"]

T = TypeVar("T")


class ListStore:
    """In-memory stand-in for :class:`monitor.store.Store` (same methods, same idempotence)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.saved: dict[str, DriftEvent] = {}
        self.cells: dict[tuple, CountRow] = {}
        self.states: dict[str, dict] = {}
        self.entries: list[TimelineEntry] = []
        self.report_rows: list[ReportRows] = []
        self.runs: dict[str, dict[str, Any]] = {}

    def add_events(self, events: Iterable[DriftEvent]) -> int:
        new = 0
        for event in events:
            if event.id not in self.saved:
                self.saved[event.id] = event
                self.add_timeline(event.id, "detected", event.detected_ts, event.detector)
                new += 1
        return new

    def open_events(self) -> list[DriftEvent]:
        return [e for e in self.saved.values() if e.status != "resolved"]

    def add_timeline(
        self,
        event_id: str,
        action: TimelineAction,
        at: datetime,
        actor: str | None = None,
        note: str | None = None,
        detail: dict[str, Any] | None = None,
        *,
        once: bool = False,
    ) -> bool:
        entry = TimelineEntry(
            event_id=event_id, action=action, at=at, actor=actor, note=note, detail=detail
        )
        same = (event_id, action, actor, detail)
        if once and any((e.event_id, e.action, e.actor, e.detail) == same for e in self.entries):
            return False
        self.entries.append(entry)
        return True

    def timeline(
        self, event_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> list[TimelineEntry]:
        ids = None if event_ids is None else set(event_ids)
        return sorted(
            (
                e
                for e in self.entries
                if (ids is None or e.event_id in ids) and (since is None or e.at >= since)
            ),
            key=lambda e: e.at,
        )

    def event(self, event_id: str) -> DriftEvent | None:
        return self.saved.get(event_id)

    def event_ids(self, prefix: str, limit: int = 2) -> list[str]:
        return sorted(i for i in self.saved if i.startswith(prefix))[:limit]

    def acknowledge(
        self,
        event_id: str,
        by: str,
        note: str | None = None,
        at: datetime | None = None,
        detail: dict[str, Any] | None = None,
        severity: Severity | None = None,
    ) -> Transition:
        return self._move(event_id, ("open",), "acknowledged", by, note, at, detail, severity)

    def resolve(
        self,
        event_id: str,
        by: str,
        note: str | None = None,
        at: datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Transition:
        return self._move(event_id, ("open", "acknowledged"), "resolved", by, note, at, detail)

    def regrade(
        self,
        event_id: str,
        severity: Severity,
        after: Interval,
        at: datetime,
        note: str,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        event = self.saved.get(event_id)
        if event is None or event.status == "resolved" or not graver(severity, event.severity):
            return False
        raised = self.saved[event_id] = after_regrade(event, severity, after, at)
        reopened = raised.status != event.status
        self.entries.append(regrade_entry(event_id, at, note, detail, reopened))
        return True

    def _move(
        self,
        event_id: str,
        sources: tuple[str, ...],
        target: EventStatus,
        by: str,
        note: str | None,
        at: datetime | None,
        detail: dict[str, Any] | None = None,
        severity: Severity | None = None,
    ) -> Transition:
        event = self.saved.get(event_id)
        if event is None:
            raise UnknownEventError(f"no drift event with id {event_id!r}")
        if event.status not in sources or severity not in (None, event.severity):
            return Transition(event_id, event.status, event.status)
        self.saved[event_id] = event.model_copy(update={"status": target})
        self.add_timeline(event_id, target, at or datetime.now(UTC), by, note, detail)
        return Transition(event_id, event.status, target)

    def add_counts(
        self, rows: Iterable[CountRow], checkpoints: dict | None = None, at: object = None
    ) -> None:
        for row in rows:
            old = self.cells.get(row.key)
            self.cells[row.key] = row if old is None else combine(old, row)
        self.states.update(checkpoints or {})

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

    def add_report_rows(self, rows: ReportRows) -> None:
        if rows:
            self.report_rows.append(rows)

    def exemplars(self, start: datetime | None = None, end: datetime | None = None) -> list:
        unique = {e.sample_id: e for rows in reversed(self.report_rows) for e in rows.exemplars}
        return [
            e
            for _, e in sorted(unique.items())
            if (start is None or e.ts >= start) and (end is None or e.ts < end)
        ]

    def dlq_counts(self, start: datetime | None = None, end: datetime | None = None) -> list:
        return [
            d
            for rows in self.report_rows
            for d in rows.dlq
            if (start is None or d.hour >= start) and (end is None or d.hour < end)
        ]

    def classifier_counts(self, start: datetime | None = None, end: datetime | None = None) -> list:
        return [
            c
            for rows in self.report_rows
            for c in rows.classifiers
            if (start is None or c.hour >= start) and (end is None or c.hour < end)
        ]

    def claim_report(self, week: str, at: datetime) -> bool:
        if week in self.runs:
            return False
        self.runs[week] = {"claimed_at": at, "finished_at": None, "location": None}
        return True

    def finish_report(self, week: str, at: datetime, location: str) -> None:
        self.runs[week].update(finished_at=at, location=location)

    def release_report(self, week: str) -> None:
        if self.runs.get(week, {}).get("finished_at") is None:
            self.runs.pop(week, None)

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


def hour_of_traffic(hour: datetime, locale: str, n: int) -> CountRow:
    """One stored hour of atlas-2/chat in ``locale``: n benign prompts, a quarter of the
    samples refused, 4% over-refused; no harmful prompts, so no under-refusal stream."""
    return CountRow(
        hour,
        "atlas-2",
        "chat",
        locale,
        "none",
        samples=n,
        classified=n,
        refusals=n // 4,
        benign=n,
        over_refusals=n // 25,
    )
