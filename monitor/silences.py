"""Alertmanager silences, over its v2 HTTP API: the one outbound call an acknowledgement makes.

All I/O goes through an ``httpx.Client`` whose transport can be swapped (tests pass
``httpx.MockTransport``). Every failure — unreachable, timeout, a non-2xx answer, a reply that
is not what the API documents — leaves this module as :class:`SilenceError`, whose message says
which Alertmanager and what went wrong; the httpx error is its ``__cause__``.

A silence matches one drift event by its ``event_id`` label and the severities its
acknowledgement covers (the one acknowledged and milder), so it silences that event's drift alert
and its escalation alert and nothing else; if a regrade raises the event, the graver alert pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from monitor.schema import SEVERITIES, Severity


class SilenceError(RuntimeError):
    """Alertmanager could not be asked, or refused; the message says which and why."""


@dataclass(frozen=True)
class Silence:
    id: str
    ends_at: datetime
    severity: Severity  # it holds while the event stays at this severity (or milder)


def event_silence(
    event_id: str, severity: Severity, by: str, comment: str, starts: datetime, ends: datetime
) -> dict[str, Any]:
    """The v2 ``PostableSilence`` for one event's alerts at ``severity`` or milder.

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> body = event_silence("e1", "warning", "alice", "ack", t, t + timedelta(hours=4))
    >>> [(m["name"], m["value"], m["isRegex"]) for m in body["matchers"]]
    [('event_id', 'e1', False), ('severity', 'warning|info', True)]
    """
    if ends <= starts:
        raise ValueError(f"a silence must end after it starts: {starts} .. {ends}")
    covered = "|".join(SEVERITIES[SEVERITIES.index(severity) :])
    return {
        "matchers": [
            {"name": "event_id", "value": event_id, "isRegex": False, "isEqual": True},
            {"name": "severity", "value": covered, "isRegex": True, "isEqual": True},
        ],
        "startsAt": starts.isoformat(),
        "endsAt": ends.isoformat(),
        "createdBy": by,
        "comment": comment,
    }


class Alertmanager:
    """The silences part of one Alertmanager's API at ``url`` (e.g. http://127.0.0.1:9093)."""

    def __init__(
        self, url: str, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    def __enter__(self) -> Alertmanager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
            response.raise_for_status()
            return response.json() if response.content else None
        except httpx.HTTPStatusError as exc:
            body = exc.response.text.strip()[:300]
            raise SilenceError(
                f"Alertmanager at {self.url} refused {what}: HTTP {exc.response.status_code} {body}"
            ) from exc
        except httpx.HTTPError as exc:
            raise SilenceError(
                f"cannot reach Alertmanager at {self.url} for {what}: {exc!r}; "
                "is alerting.alertmanager_url right and Alertmanager running?"
            ) from exc
        except ValueError as exc:
            raise SilenceError(f"Alertmanager at {self.url} answered {what} with no JSON") from exc

    def silence_event(
        self,
        event_id: str,
        severity: Severity,
        by: str,
        comment: str,
        starts: datetime,
        ends: datetime,
    ) -> Silence:
        """Create a silence for ``event_id``'s alerts at ``severity`` or milder until ``ends``."""
        body = event_silence(event_id, severity, by, comment, starts, ends)
        reply = self._call("POST", "/api/v2/silences", "a silence", json=body)
        if not isinstance(reply, dict) or not isinstance(reply.get("silenceID"), str):
            raise SilenceError(f"Alertmanager at {self.url} returned no silenceID: {reply!r}")
        return Silence(reply["silenceID"], ends, severity)

    def silences(self) -> list[dict[str, Any]]:
        """Every silence Alertmanager knows (active, pending and expired)."""
        reply = self._call("GET", "/api/v2/silences", "the list of silences")
        if not isinstance(reply, list):
            raise SilenceError(f"Alertmanager at {self.url} returned no list of silences")
        return reply
