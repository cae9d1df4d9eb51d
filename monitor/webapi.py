"""The worker's event API as pure functions: who may read or write, and what a request says.

The HTTP handlers in :mod:`monitor.app` only move bytes; every decision is here so it can be
tested without a server. Each refusal is an :class:`ApiError` carrying the HTTP status to
answer with, and a message that says what was wrong and what to do:

- 403: the API is switched off (no ``alerting.api_token`` configured): no token, no read or
  write (a read shows redacted exemplars, still more than a metric label);
- 401: the ``Authorization: Bearer ...`` header is missing, malformed or has the wrong token;
- 400: the body is not the JSON the endpoint expects, or a query parameter is malformed;
- 404: (raised by the handler) no stored event has that id.

Alertmanager's webhook payload (version 4) becomes timeline entries: an alert carrying an
``event_id`` label was ``notified`` to its team's receiver, or ``escalated`` when it is the
unacknowledged-page escalation alert. The payload comes to driftmon's own receiver (a
``continue`` route that sees every drift alert), so the team receiver is worked out from the
alert's labels with the same rules the generated routing tree uses (:func:`receiver_for`).
Alerts without an ``event_id`` (pipeline alerts, the Watchdog), alerts routed to nobody and
resolved notifications are ignored.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.config import Owners, ago
from monitor.owners import notify_role, receiver_name
from monitor.schema import TimelineAction

M = TypeVar("M", bound=BaseModel)

ESCALATION = "DriftmonDriftUnacknowledged"
CATCH_ALL = "catch-all"
MAX_BODY = 1 << 20  # bytes; a webhook batch of a few hundred alerts fits comfortably
MAX_LABEL = 256
QUEUE_LIMIT = 1000  # events in one answer of GET /events, at most and by default


class ApiError(Exception):
    """A request refused with ``status``; ``message`` is safe to send back."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def authorize(header: str | None, token: str | None, what: str = "writes") -> None:
    """Raise unless ``header`` is ``Bearer <token>``; with no token configured, refuse all.

    >>> authorize("Bearer s3cret", "s3cret")
    >>> authorize("Bearer nope", "s3cret")
    Traceback (most recent call last):
    ...
    monitor.webapi.ApiError: 401: wrong bearer token
    """
    if not token:
        raise ApiError(403, f"{what} are disabled: set alerting.api_token in the worker's config")
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "send the header 'Authorization: Bearer <alerting.api_token>'")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(401, "wrong bearer token")


class ActionRequest(BaseModel):
    """Body of ``POST /events/{id}/ack`` and ``/resolve``: who, and optionally why."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    by: str = Field(min_length=1, max_length=MAX_LABEL)
    note: str | None = Field(default=None, max_length=2000)


@dataclass(frozen=True)
class QueueQuery:
    """``GET /events?resolved=true&since=7d&team=cyber&limit=100``: which events to list, and
    at most how many (the answer says when there were more)."""

    resolved: bool = False
    since: datetime | None = None
    team: str | None = None
    limit: int = QUEUE_LIMIT


_TRUTH = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def parse_queue(query: Mapping[str, str], now: datetime) -> QueueQuery:
    """The query string of ``GET /events``, or a 400 that names the bad parameter.

    >>> parse_queue({"since": "1h"}, datetime(2026, 1, 1, 12)).since
    datetime.datetime(2026, 1, 1, 11, 0)
    """
    unknown = sorted(set(query) - {"resolved", "since", "team", "limit"})
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)[:200]}")
    flag = query.get("resolved", "false").lower()
    if flag not in _TRUTH:
        raise ApiError(400, f"resolved: expected true or false, got {flag[:20]!r}")
    since = None
    if "since" in query:
        try:
            since = ago(query["since"], now)
        except ValueError as exc:
            raise ApiError(400, f"since: {str(exc)[:200]}") from None
    team = query.get("team") or None
    if team is not None and len(team) > MAX_LABEL:
        raise ApiError(400, f"team: longer than {MAX_LABEL} characters")
    limit = query.get("limit", str(QUEUE_LIMIT))
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= QUEUE_LIMIT):
        raise ApiError(400, f"limit: expected a whole number from 1 to {QUEUE_LIMIT}")
    return QueueQuery(_TRUTH[flag], since, team, int(limit))


def _validated(model: type[M], data: Any, message: str) -> M:
    """``data`` as ``model``, or a 400 whose ``message`` gets the first problem ("where: what")."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, message.format(f"{where}: {first['msg']}")) from None


def _json(body: bytes) -> Any:
    if len(body) > MAX_BODY:
        raise ApiError(400, f"body is {len(body)} bytes, more than the limit of {MAX_BODY}")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, f"body is not JSON: {str(exc)[:200]}") from None


def parse_action(body: bytes) -> ActionRequest:
    """The ack/resolve body, or a 400 that names the bad field.

    >>> parse_action(b'{"by": "alice", "note": "on it"}').by
    'alice'
    >>> parse_action(b'{"note": "x"}')
    Traceback (most recent call last):
    ...
    monitor.webapi.ApiError: 400: by: Field required; expected {"by": "<name>", "note": "..."}
    """
    data = _json(body)
    if not isinstance(data, dict):
        raise ApiError(400, 'expected a JSON object like {"by": "<name>", "note": "..."}')
    request = _validated(ActionRequest, data, '{}; expected {{"by": "<name>", "note": "..."}}')
    if not request.by.strip():
        raise ApiError(400, "by: must name who acts, not be blank")
    return request


@dataclass(frozen=True)
class Step:
    """One timeline entry a webhook asks for (written with ``once``: repeats record once)."""

    event_id: str
    action: TimelineAction
    at: datetime
    actor: str
    detail: dict[str, str]


class _Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: str
    labels: dict[str, str]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    receiver: str = Field(min_length=1, max_length=MAX_LABEL)
    alerts: list[_Alert]


def receiver_for(owners: Owners, labels: dict[str, str]) -> str | None:
    """The receiver Alertmanager's generated routes send an alert to (None: nobody).

    >>> own = Owners(teams={"cyber": {"primary": {"webhook": {"url": "http://p"}},
    ...                               "secondary": {"webhook": {"url": "http://s"}}}},
    ...              default="cyber")
    >>> receiver_for(own, {"alertname": "DriftmonDrift", "team": "cyber", "severity": "critical"})
    'cyber-primary'
    >>> receiver_for(own, {"alertname": ESCALATION, "team": "cyber", "severity": "critical"})
    'cyber-secondary'
    >>> receiver_for(own, {"alertname": "DriftmonDrift", "team": "cyber", "severity": "info"})
    """
    team = owners.teams.get(labels.get("team", ""))
    if team is None:
        return CATCH_ALL
    name, severity = labels["team"], labels.get("severity", "")
    if labels.get("alertname") == ESCALATION:
        return receiver_name(name, "secondary") if team.escalates and team.secondary else None
    if severity in team.escalation.page:
        return receiver_name(name, "primary")
    if severity in team.escalation.notify:
        return receiver_name(name, notify_role(team))
    return None


def parse_webhook(body: bytes, at: datetime, owners: Owners) -> list[Step]:
    """The timeline steps an Alertmanager webhook notification stands for, in payload order.

    >>> from datetime import UTC
    >>> own = Owners(default="cyber")
    >>> body = {"receiver": "driftmon", "status": "firing", "alerts": [
    ...     {"status": "firing", "labels": {"alertname": "DriftmonDrift", "event_id": "e1",
    ...                                     "team": "cyber", "severity": "warning"}},
    ...     {"status": "firing", "labels": {"alertname": "DriftmonWatchdog"}}]}
    >>> [(s.event_id, s.action, s.detail["receiver"]) for s in
    ...  parse_webhook(json.dumps(body).encode(), datetime(2026, 1, 1, tzinfo=UTC), own)]
    [('e1', 'notified', 'cyber-primary')]
    """
    data = _json(body)
    payload = _validated(_Payload, data, "not an Alertmanager webhook payload: {}")
    steps: list[Step] = []
    for alert in payload.alerts:
        event_id = alert.labels.get("event_id", "")
        if alert.status != "firing" or not event_id or len(event_id) > 128:
            continue
        receiver = receiver_for(owners, alert.labels)
        if receiver is None:
            continue
        name = alert.labels.get("alertname", "")[:MAX_LABEL]
        action: TimelineAction = "escalated" if name == ESCALATION else "notified"
        severity = alert.labels.get("severity", "")[:MAX_LABEL]  # a raise notifies afresh
        detail = {
            "receiver": receiver,
            "alertname": name,
            "severity": severity,
            "via": payload.receiver,
        }
        steps.append(Step(event_id, action, at, "alertmanager", detail))
    return steps
