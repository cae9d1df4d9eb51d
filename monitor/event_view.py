"""What `driftmon events` prints: the drift events an on-call engineer is asked about.

A page names an event id; ``events show`` answers "what changed?" from the store without SQL:
the rates before and after with their intervals, when the change began, how sure the
detector was, how much the traffic mix explains, every step of its timeline and the redacted
examples around the change. ``driftmon events`` is the queue: what is not resolved, gravest
first.

Pure but for :func:`queue` and :func:`load`, the store reads shared by the command and the
worker's ``GET /events`` API: events, timeline entries and exemplars in, lines or dicts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import Config, Owners, duration_seconds
from monitor.owners import receiver_name, team_for
from monitor.report_events import EXEMPLAR_WINDOW, dashboard_link, exemplars_for, iso
from monitor.report_render import duration, pct, pp, segment
from monitor.reportdata import Exemplar
from monitor.schema import CONTROLS, SEVERITIES, DriftEvent, Interval, TimelineEntry
from monitor.store import UnknownEventError
from monitor.webapi import receiver_for

TEXT_CHARS = 120  # of a redacted exemplar's prompt or response, on one line
MIN_PREFIX = 6  # characters of an event id that ``events show`` accepts for the whole
NO_EXEMPLARS = (
    "exemplars  none stored around the change yet (a worker stores an hour's exemplars when the "
    "hour is over, or when it stops)"
)
FLAGS = ("refused", "over_refusal", "under_refusal", "violation")  # an exemplar's true ones


def choose(
    events: Iterable[DriftEvent],
    *,
    resolved: bool = False,
    team: str | None = None,
) -> list[DriftEvent]:
    """The events to list (by default those not resolved; resolved ones come after them),
    gravest first, then the longest waiting."""
    kept = [
        e
        for e in events
        if (resolved or e.status != "resolved") and (team is None or e.owner == team)
    ]
    return sorted(
        kept,
        key=lambda e: (e.status == "resolved", SEVERITIES.index(e.severity), e.detected_ts, e.id),
    )


def list_line(event: DriftEvent, now: datetime) -> str:
    """Status and age, then the event's own one-line description."""
    age = duration((now - event.detected_ts).total_seconds())
    return printable(f"{event.status:<12} {age + ' ago':>14}  {event.describe()}")


def when(ts: datetime) -> str:
    return f"{ts.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"


def _side(i: Interval) -> str:
    return f"{pct(i.rate)} [{pct(i.low)}–{pct(i.high)}], {i.k:,} of {i.n:,}"


def _moved(e: DriftEvent) -> str:
    change = pp(e.after.rate - e.before.rate)
    if e.before.rate <= 0:
        return change
    return f"{change}, ×{e.after.rate / e.before.rate:.2f}"


def _detector(e: DriftEvent) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(e.detector_params.items()))
    name = f"{e.detector} ({params})" if params else e.detector
    if e.statistic is None or e.threshold is None:
        return name
    return f"{name}: statistic {e.statistic:.4g} against threshold {e.threshold:.4g}"


def _attribution(e: DriftEvent) -> list[str]:
    a = e.attribution
    if a is None:
        return []

    def pair(values: tuple[float, float]) -> str:
        return f"{pct(values[0])} → {pct(values[1])}"

    return [
        f"cause      {a.cause}: {pp(a.behaviour)} from behaviour, {pp(a.mix)} from the traffic mix",
        f"           harmful share {pair(a.harmful_share)}; refused on harmful prompts "
        f"{pair(a.refusal_harmful)}, on benign ones {pair(a.refusal_benign)}",
    ]


def _reverses(e: DriftEvent) -> list[str]:
    r = e.reverses
    if r is None:
        return []
    earlier = f"event {r.event_id}" if r.event_id else "an earlier change"
    return [
        f"goes back  on {earlier} detected {when(r.detected_ts)}, "
        f"rate before it {pct(r.before.rate)} [{pct(r.before.low)}–{pct(r.before.high)}]"
    ]


def _step(entry: TimelineEntry) -> str:
    detail = entry.detail or {}
    facts = [f"{k}={v}" for k, v in sorted(detail.items()) if v not in (None, "", [], {})]
    parts = [f"  {when(entry.at)}  {entry.action}"]
    if entry.actor:
        parts.append(f"by {entry.actor}")
    if facts:
        parts.append(f"({', '.join(facts)})")
    if entry.note:
        parts.append(f"— {entry.note}")
    return " ".join(parts)


@dataclass(frozen=True)
class Routing:
    """Where the owners config sends the event's alert now, and when an unacknowledged page
    escalates (None: it does not, or no longer)."""

    team: str
    receiver: str | None  # None: this severity is recorded but sent to nobody
    pages: bool
    escalates_at: datetime | None

    @property
    def escalates_to(self) -> str | None:
        return None if self.escalates_at is None else receiver_name(self.team, "secondary")

    def as_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "receiver": self.receiver,
            "pages": self.pages,
            "escalates_at": iso(self.escalates_at),
            "escalates_to": self.escalates_to,
        }

    def line(self, now: datetime) -> str:
        if self.receiver is None:
            return f"alerting   team {self.team}: this severity is recorded, sent to nobody"
        text = f"alerting   team {self.team}: {'pages' if self.pages else 'notifies'} "
        text += self.receiver
        if self.escalates_at is not None:
            verb = "escalated" if self.escalates_at <= now else "escalates"
            text += f"; unacknowledged, it {verb} to {self.escalates_to} at "
            text += when(self.escalates_at)
        return text


def routing(event: DriftEvent, owners: Owners) -> Routing | None:
    """The alert's route by the team owning the segment (None once resolved): the severity's
    receiver, and for an open page of an escalating team, when it goes to the secondary
    (``escalate_after`` from detection, or from the regrade that reopened it)."""
    if event.status == "resolved":
        return None
    name = team_for(owners, event.segment)
    team = owners.teams[name]
    labels = {"alertname": "DriftmonDrift", "team": name, "severity": event.severity}
    pages = event.severity in team.escalation.page
    at = None
    if pages and team.escalates and event.status == "open":
        after = timedelta(seconds=duration_seconds(team.escalation.escalate_after))
        at = (event.reopened_ts or event.detected_ts) + after
    return Routing(name, receiver_for(owners, labels), pages, at)


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences, line breaks) and bidirectional
    overrides as spaces: segment values, notes and exemplars are untrusted, and a terminal
    would obey an escape sequence in them."""
    return CONTROLS.sub(" ", text)


def one_line(text: str) -> str:
    """Untrusted text on one line of at most :data:`TEXT_CHARS` (cut with an ellipsis)."""
    flat = " ".join(printable(text).split())
    return flat if len(flat) <= TEXT_CHARS else flat[: TEXT_CHARS - 1] + "…"


def _example(x: Mapping[str, Any]) -> list[str]:
    labels = x["labels"]
    harm = {True: "harmful prompt", False: "benign prompt"}.get(
        labels.get("harmful"), "harm unknown"
    )
    flags = [k for k in FLAGS if labels.get(k)]
    cats = labels.get("categories") or []
    star = " *" if x["detector_example"] else ""
    return [
        f"  {when(datetime.fromisoformat(x['ts']))}  {x['side']:<6} {x['sample_id']}{star}  "
        + " · ".join([x["kind"], harm, ", ".join(flags) or "complied"])
        + (f" ({', '.join(cats)})" if cats else ""),
        f"      prompt:   {one_line(x['prompt'])}",
        f"      response: {one_line(x['response'])}",
    ]


@dataclass(frozen=True)
class Shown:
    """One event as ``events show`` prints it: the stored event, its timeline in order, the
    redacted exemplars around its change point and the dashboard link."""

    event: DriftEvent
    steps: list[TimelineEntry]
    exemplars: list[dict[str, Any]]
    dashboard: str | None
    routing: Routing | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            **self.event.model_dump(mode="json"),
            "timeline": [
                {
                    "at": iso(t.at),
                    "action": t.action,
                    "actor": t.actor,
                    "note": t.note,
                    "detail": t.detail,
                }
                for t in self.steps
            ],
            "exemplars": self.exemplars,
            "dashboard": self.dashboard,
            "alerting": None if self.routing is None else self.routing.as_json(),
        }

    def lines(self, now: datetime) -> list[str]:
        """The numbers first, then the timeline, then the examples."""
        e = self.event
        arrow = "↑" if e.direction == "up" else "↓"
        delay = (e.detected_ts - e.change_ts).total_seconds()
        lines = [
            f"event      {e.id}",
            f"what       {e.metric} {arrow} {segment(e.segment)}",
            f"state      {e.status}, {e.severity}, owner {e.owner or '-'}"
            + (f", reopened {when(e.reopened_ts)}" if e.reopened_ts else ""),
            f"before     {_side(e.before)}",
            f"after      {_side(e.after)}  ({_moved(e)})",
            f"change     since {when(e.change_ts)} (sample {e.change_offset:,} of the stream); "
            f"detected {when(e.detected_ts)}, {duration(delay)} later, "
            f"{duration((now - e.detected_ts).total_seconds())} ago",
            f"detector   {_detector(e)}",
            *_attribution(e),
            *_reverses(e),
        ]
        if e.example_ids:
            lines.append(f"examples   {', '.join(e.example_ids)} (sample ids after the change)")
        if self.routing is not None:
            lines.append(self.routing.line(now))
        if self.dashboard:
            lines.append(f"dashboard  {self.dashboard}")
        lines += ["timeline", *map(_step, self.steps)] if self.steps else ["timeline   (empty)"]
        if self.exemplars:
            lines.append("exemplars  (redacted; * = one of the detector's examples)")
            for x in self.exemplars:
                lines += _example(x)
        else:
            lines.append(NO_EXEMPLARS)
        return [printable(line) for line in lines]


def gather(
    event: DriftEvent,
    timeline: Iterable[TimelineEntry],
    exemplars: Iterable[Exemplar],
    cfg: Config | None = None,
) -> Shown:
    """The event with its own timeline steps, the exemplars around its change point, picked
    as the weekly report picks them (:data:`EXEMPLAR_WINDOW`), and with a config, its
    route and dashboard link."""
    steps = sorted((t for t in timeline if t.event_id == event.id), key=lambda t: t.at)
    window = tuple(w.total_seconds() for w in EXEMPLAR_WINDOW)
    picked = exemplars_for(event, exemplars, *window)
    if cfg is None:
        return Shown(event, steps, picked, None)
    link = dashboard_link(cfg.alerting.grafana_url, event)
    return Shown(event, steps, picked, link, routing(event, cfg.owners))


def queue(
    store: Any,
    *,
    resolved: bool = False,
    team: str | None = None,
    since: datetime | None = None,
) -> list[DriftEvent]:
    """The stored events :func:`choose` lists, detected at or after ``since`` if given; the
    default reads only the unresolved ones, however long the history."""
    found = store.events(since=since) if resolved or since else store.open_events()
    return choose(found, resolved=resolved, team=team)


def load(store: Any, event_id: str, cfg: Config | None = None) -> Shown:
    """One stored event as ``events show`` prints it, by its id or the first
    :data:`MIN_PREFIX` or more characters of it (as from a page read on a phone);
    UnknownEventError when none or several match."""
    event = store.event(event_id)
    if event is None and len(event_id) >= MIN_PREFIX:
        found = store.event_ids(event_id)
        if len(found) > 1:
            raise UnknownEventError(
                f"{event_id!r} starts several drift event ids ({found[0]}, {found[1]}, …); "
                "give more of it"
            )
        event = store.event(found[0]) if found else None
    if event is None:
        raise UnknownEventError(f"no drift event with id {event_id!r}")
    before, after = EXEMPLAR_WINDOW
    exemplars = store.exemplars(event.change_ts - before, event.change_ts + after)
    return gather(event, store.timeline([event.id]), exemplars, cfg)
