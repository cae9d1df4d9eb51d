"""What a person's acknowledgement or resolution of a drift event does, for the CLI and the
worker's HTTP API alike.

An acknowledgement is recorded in the store (status and timeline, one transaction, with the
severity it covers) and, when ``alerting.alertmanager_url`` is set, silences the event's alerts
at that severity or milder in Alertmanager until its expiry, which stops the page repeating and
its escalation. A regrade past that severity reopens the event (:meth:`Store.regrade`), so the
graver alert pages and can be acknowledged in turn. The silence is asked for first so
its id and expiry go on the timeline with the ack; if Alertmanager cannot be reached the ack
still lands (the store is the record, and the escalation alert stops on its own once the store
says "acknowledged") and the outcome says the silence failed, with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.schema import DriftEvent
from monitor.silences import Alertmanager, Silence, SilenceError
from monitor.store import Store, Transition, UnknownEventError


@dataclass(frozen=True)
class Outcome:
    transition: Transition
    silence: Silence | None = None
    silence_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The HTTP API's answer."""
        t = self.transition
        body: dict[str, Any] = {"event_id": t.event_id, "status": t.after, "changed": t.changed}
        if self.silence is not None:
            body["silence"] = {
                "id": self.silence.id,
                "ends_at": self.silence.ends_at.isoformat(),
                "severity": self.silence.severity,
            }
        if self.silence_error is not None:
            body["silence_error"] = self.silence_error
        return body

    def describe(self, verb: str) -> str:
        """One line for the CLI."""
        t = self.transition
        line = (
            f"event {t.event_id} {verb}"
            if t.changed
            else f"event {t.event_id} was already {t.before}: nothing changed"
        )
        if self.silence is not None:
            line += f"; alerts silenced until {self.silence.ends_at:%Y-%m-%d %H:%M:%S}Z"
            line += f" (silence {self.silence.id}) while it stays {self.silence.severity}"
        return line


def acknowledge(
    store: Store,
    event_id: str,
    by: str,
    note: str | None,
    now: datetime,
    silence_for: timedelta,
    alertmanager: Alertmanager | None = None,
) -> Outcome:
    """Acknowledge an open event at its severity and silence its alerts for ``silence_for``.

    Raises :class:`~monitor.store.UnknownEventError` for an unknown id; an event that is not
    open any more is left alone (no second ack, no second silence).
    """
    for _attempt in range(2):  # a regrade between our read and our write: ack what it is now
        event = store.event(event_id)
        if event is None:
            raise UnknownEventError(f"no drift event with id {event_id!r}")
        if event.status != "open":
            return Outcome(Transition(event_id, event.status, event.status))
        silence, error, detail = _silence(alertmanager, event, by, note, now, silence_for)
        done = store.acknowledge(event_id, by, note, now, detail, severity=event.severity)
        if done.after != "open":
            break
    return Outcome(done, silence, error)


def _silence(
    alertmanager: Alertmanager | None,
    event: DriftEvent,
    by: str,
    note: str | None,
    now: datetime,
    silence_for: timedelta,
) -> tuple[Silence | None, str | None, dict[str, Any]]:
    """The ack's silence (or why it failed) and the timeline detail that records it."""
    detail: dict[str, Any] = {"severity": event.severity}
    if alertmanager is None:
        return None, None, detail
    comment = f"acknowledged in driftmon: {note}" if note else "acknowledged in driftmon"
    try:
        silence = alertmanager.silence_event(
            event.id, event.severity, by, comment, now, now + silence_for
        )
    except SilenceError as exc:
        return None, str(exc), {"silence_error": str(exc)[:500], **detail}
    ends = silence.ends_at.isoformat()
    return silence, None, {"silence_id": silence.id, "silence_ends_at": ends, **detail}


def resolve(store: Store, event_id: str, by: str, note: str | None, now: datetime) -> Outcome:
    """Resolve an event by hand; raises UnknownEventError for an unknown id (idempotent)."""
    return Outcome(store.resolve(event_id, by, note, at=now))
