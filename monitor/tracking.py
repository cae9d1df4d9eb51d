"""The worker follows its open drift events: a refresh timer, auto-resolve (of recovered
events, and of info events open ``lifecycle.close_info_after``), the regrade of events that
more evidence makes graver, and the HTTP endpoints that show an event, change its status or
record what Alertmanager did with it.

Wired onto the Faust app by :func:`mount` (called from :func:`monitor.app.build_app`). The
decisions live in pure modules — :mod:`monitor.lifecycle` (metrics, recovery, regrade, expiry) and
:mod:`monitor.webapi` (auth, request bodies, webhook payloads); this module only moves data
between them, the store (in a thread, never on the event loop) and Faust's web server.

    GET  /events                Authorization: Bearer <alerting.api_token>
                                ?resolved=true&since=7d&team=cyber&limit=100: the queue
    GET  /events/{id}           same: the event as ``driftmon events show --json`` prints it
    POST /events/{id}/ack       same, with the body {"by", "note"}
    POST /events/{id}/resolve   same
    POST /alerts/webhook        Alertmanager's webhook payload (records notified/escalated)

The webhook wants the same bearer token when one is configured (the generated Alertmanager
config sends it); without a token it is open, but it only ever adds ``notified``/``escalated``
steps, once each, to events the store already has.
Client mistakes get 400/401/403/404 with a JSON ``{"error": ...}``; a store that cannot be
reached gets 503 (Alertmanager retries a webhook on 5xx, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import faust
from faust.web import View

from monitor.config import Config, duration_seconds
from monitor.detect import interval
from monitor.event_view import load, queue
from monitor.lifecycle import (
    EventCollector,
    Expiry,
    Lapsed,
    Recovered,
    Recovery,
    Regraded,
    Snapshot,
    after_regrade,
    regraded,
    stream_rates,
)
from monitor.owners import team_for
from monitor.respond import Outcome, acknowledge, resolve
from monitor.schema import DriftEvent
from monitor.silences import Alertmanager
from monitor.store import StoreError, UnknownEventError
from monitor.webapi import (
    ActionRequest,
    ApiError,
    Step,
    authorize,
    parse_action,
    parse_queue,
    parse_webhook,
)

if TYPE_CHECKING:
    from monitor.app import Pipeline

log = logging.getLogger("driftmon.events")
AUTO = "driftmon"  # the actor of automatic steps


class Tracker:
    """Open events as last read from the store, their metrics, and their recovery."""

    def __init__(self, p: Pipeline, clock: Callable[[], float] = time.time) -> None:
        self.p = p
        self.cfg: Config = p.cfg
        self.clock = clock
        life = self.cfg.lifecycle
        self.collector = EventCollector(clock)
        p.metrics.registry.register(self.collector)
        self.recovery = Recovery(
            duration_seconds(life.resolve_after), self.cfg.detectors.min_samples
        )
        self.silence_for = timedelta(seconds=duration_seconds(life.silence_for))
        after = life.close_info_after
        self.expiry = None if after is None else Expiry(duration_seconds(after))
        self._lock = asyncio.Lock()

    def team(self, event: DriftEvent) -> str:
        """The owning team by the owners config: the ``team`` label Alertmanager routes on."""
        return team_for(self.cfg.owners, event.segment)

    async def refresh(self) -> None:
        """Reload open events; resolve the recovered ones, raise the ones more evidence makes
        graver, close the lapsed info ones; publish the rest as metrics."""
        async with self._lock:
            try:
                events = await asyncio.to_thread(self.p.store.open_events)
            except StoreError as exc:
                self.p.metrics.store_up.set(0)
                log.error("open events not refreshed, metrics keep the last snapshot: %s", exc)
                return
            self.p.metrics.store_up.set(1)
            life = self.cfg.lifecycle
            now = self.clock()
            watches = {key: stream.watch for key, stream in self.p.detection.streams.items()}
            rates = stream_rates(events, watches)
            if life.auto_resolve:
                back = self.recovery.update(events, rates, now)
                events = await self._resolve(events, back, now)
            events = await self._regrade(events, regraded(events, rates, self.cfg.severity), now)
            if self.expiry is not None:  # after the regrade: a raised info event stays open
                events = await self._resolve(events, self.expiry.update(events, now), now)
            self.collector.snapshot = Snapshot([(e, self.team(e)) for e in events])

    async def _resolve(
        self, events: list[DriftEvent], closing: Sequence[Recovered | Lapsed], now: float
    ) -> list[DriftEvent]:
        """Resolve ``closing`` as driftmon, with its note; the events left open."""
        at = datetime.fromtimestamp(now, UTC)
        done = set()
        for c in closing:
            try:
                moved = await asyncio.to_thread(
                    self.p.store.resolve, c.event.id, AUTO, c.note, at, c.detail
                )
            except (StoreError, UnknownEventError) as exc:
                log.error("could not auto-resolve event %s: %s", c.event.id, exc)
                continue
            if moved.changed:  # another worker may have been first: it said so already
                log.warning("drift event %s resolved: %s", c.event.id, c.note)
            done.add(c.event.id)
        return [e for e in events if e.id not in done]

    async def _regrade(
        self, events: list[DriftEvent], graver: Sequence[Regraded], now: float
    ) -> list[DriftEvent]:
        """Store each raised severity with the evidence behind it; the events as they now are."""
        at = datetime.fromtimestamp(now, UTC)
        raised = {}
        for r in graver:
            after = interval(r.rate)
            try:
                done = await asyncio.to_thread(
                    self.p.store.regrade, r.event.id, r.severity, after, at, r.note, r.detail
                )
            except StoreError as exc:
                log.error("could not regrade event %s: %s", r.event.id, exc)
                continue
            raised[r.event.id] = after_regrade(r.event, r.severity, after, at)
            if done:  # another worker may have been first: it said so and counted it
                log.warning("drift event %s regraded: %s", r.event.id, r.note)
                self.p.metrics.regraded(r.event, raised[r.event.id])
        return [raised.get(e.id, e) for e in events]

    def act(self, verb: str, event_id: str, body: ActionRequest) -> Outcome:
        """Acknowledge or resolve, in a worker thread (store and Alertmanager calls block)."""
        now = datetime.now(UTC)
        store = self.p.store
        if verb == "resolve":
            return resolve(store, event_id, body.by, body.note, now)
        url = self.cfg.alerting.alertmanager_url
        if url is None:
            return acknowledge(store, event_id, body.by, body.note, now, self.silence_for)
        with Alertmanager(url) as am:
            return acknowledge(store, event_id, body.by, body.note, now, self.silence_for, am)

    def record(self, steps: list[Step]) -> int:
        """Write webhook steps for stored events (others are ignored), each once."""
        known = {event.id for event, _ in self.collector.snapshot.events}
        written = 0
        store = self.p.store
        for step in steps:
            if step.event_id not in known:
                if store.event(step.event_id) is None:
                    continue
                known.add(step.event_id)
            if store.add_timeline(
                step.event_id, step.action, step.at, step.actor, None, step.detail, once=True
            ):
                written += 1
        return written


def _error(view: View, status: int, message: str) -> Any:
    return view.json({"error": message}, status=status)


def mount(app: faust.App, p: Pipeline) -> Tracker:
    """Add the refresh timer and the event endpoints to ``app``."""
    tracker = Tracker(p)
    token = p.cfg.alerting.api_token

    @app.timer(duration_seconds(p.cfg.lifecycle.refresh_interval))
    async def refresh_events() -> None:
        await tracker.refresh()

    @app.task
    async def first_refresh() -> None:
        await tracker.refresh()

    async def answer(view: View, what: str, work: Callable[[], Awaitable[Any]]) -> Any:
        """``work()``'s answer as JSON, or the status its exception calls for."""
        try:
            return view.json(await work())
        except ApiError as exc:
            return _error(view, exc.status, exc.message)
        except UnknownEventError as exc:
            return _error(view, 404, str(exc))
        except StoreError as exc:
            log.error("%s, store unavailable: %s", what, exc)
            return _error(view, 503, "the store is unavailable; try again")

    def reader(request: Any) -> None:
        authorize(request.headers.get("Authorization"), token, "event reads")

    class EventQueue(View):
        async def get(self, request: Any) -> Any:
            async def listed() -> dict[str, Any]:
                reader(request)
                q = parse_queue(request.query, datetime.now(UTC))
                found = await asyncio.to_thread(
                    queue, p.store, resolved=q.resolved, team=q.team, since=q.since
                )
                shown = [e.model_dump(mode="json") for e in found[: q.limit]]
                return {"events": shown, "total": len(found)}

            return await answer(self, "event queue not read", listed)

    class EventDetail(View):
        async def get(self, request: Any, event_id: str) -> Any:
            async def shown() -> dict[str, Any]:
                reader(request)
                return (await asyncio.to_thread(load, p.store, event_id, p.cfg)).as_json()

            return await answer(self, f"event {event_id} not read", shown)

    class EventAction(View):
        verb = "ack"

        async def post(self, request: Any, event_id: str) -> Any:
            async def act() -> dict[str, Any]:
                authorize(request.headers.get("Authorization"), token)
                body = parse_action(await request.read())
                outcome = await asyncio.to_thread(tracker.act, self.verb, event_id, body)
                await tracker.refresh()
                return outcome.as_json()

            return await answer(self, f"event {event_id} not changed", act)

    class ResolveAction(EventAction):
        verb = "resolve"

    class AlertWebhook(View):
        async def post(self, request: Any) -> Any:
            try:
                if token:
                    authorize(request.headers.get("Authorization"), token)
                steps = parse_webhook(await request.read(), datetime.now(UTC), p.cfg.owners)
                written = await asyncio.to_thread(tracker.record, steps)
            except ApiError as exc:
                return _error(self, exc.status, exc.message)
            except StoreError as exc:
                log.error("webhook not recorded, store unavailable: %s", exc)
                return _error(self, 503, "the store is unavailable; Alertmanager will retry")
            return self.json({"recorded": written, "alerts": len(steps)})

    app.page("/events", name="event_queue")(EventQueue)
    app.page("/events/{event_id}", name="event_detail")(EventDetail)
    app.page("/events/{event_id}/ack", name="ack_event")(EventAction)
    app.page("/events/{event_id}/resolve", name="resolve_event")(ResolveAction)
    app.page("/alerts/webhook", name="alert_webhook")(AlertWebhook)
    return tracker
