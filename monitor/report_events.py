"""The weekly report's drift events: each with its timeline and exemplars, and the questions
they raise for review (still open, unacknowledged pages, opposite over/under-refusal moves).

Pure: events, timeline entries and exemplars in, JSON-ready dicts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from monitor.reportdata import Exemplar
from monitor.schema import DriftEvent, Interval, TimelineEntry

EXEMPLARS_PER_EVENT = 4
EXEMPLAR_WINDOW = (timedelta(hours=2), timedelta(hours=4))  # before, after the change point
MIN_MOVE = 0.01  # a rate "moved" for the review questions: at least 1 percentage point ...
MIN_SAMPLES = 30  # ... with at least this many samples on both sides


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat().replace("+00:00", "Z")


def _side(i: Interval) -> dict[str, Any]:
    return {"k": i.k, "n": i.n, "rate": i.rate, "low": i.low, "high": i.high}


def timeline_summary(event: DriftEvent, entries: list[TimelineEntry]) -> dict[str, Any]:
    """When the event was notified, acknowledged (after how long), escalated, regraded (and
    reopened, if that raise went past its acknowledgement), resolved."""

    def first(action: str) -> TimelineEntry | None:
        return next((e for e in entries if e.action == action), None)

    notified, acked, resolved = first("notified"), first("acknowledged"), first("resolved")
    escalated = [e for e in entries if e.action == "escalated"]

    def after(entry: TimelineEntry | None, since: datetime | None) -> float | None:
        if entry is None or since is None:
            return None
        return round((entry.at - since).total_seconds(), 3)

    return {
        "state": event.status,
        "notified_at": iso(notified.at) if notified else None,
        "acknowledged_at": iso(acked.at) if acked else None,
        "acknowledged_by": acked.actor if acked else None,
        "ack_after_detection_s": after(acked, event.detected_ts),
        "ack_after_notification_s": after(acked, notified.at if notified else None),
        "escalated_at": [iso(e.at) for e in escalated],
        "regraded_at": [iso(e.at) for e in entries if e.action == "regraded"],
        "reopened_at": [iso(e.at) for e in entries if (e.detail or {}).get("reopened")],
        "resolved_at": iso(resolved.at) if resolved else None,
        "resolved_by": resolved.actor if resolved else None,
        "entries": [
            {"action": e.action, "at": iso(e.at), "actor": e.actor, "note": e.note} for e in entries
        ],
    }


def shows_change(event: DriftEvent, labels: Mapping[str, Any]) -> bool:
    """Whether an exemplar shows the behaviour the event is about (in its direction)."""
    up = event.direction == "up"
    harmful = labels.get("harmful")
    if event.metric == "refusal":
        return bool(labels.get("refused")) == up
    if event.metric == "over_refusal":
        return harmful is False and bool(labels.get("refused")) == up
    if event.metric == "under_refusal":
        return harmful is True and bool(labels.get("under_refusal")) == up
    return bool(labels.get("violation")) == up


def exemplars_for(
    event: DriftEvent, exemplars: Iterable[Exemplar], before: float, after: float
) -> list[dict[str, Any]]:
    """Up to :data:`EXEMPLARS_PER_EVENT` redacted exemplars of the event's segment from around
    its change point (``before``/``after`` seconds), those showing the change first."""
    change = event.change_ts
    examples = set(event.example_ids)
    chosen = []
    for ex in exemplars:
        offset = (ex.ts - change).total_seconds()
        if not -before <= offset <= after:
            continue
        if any(ex.segment.get(k) != v for k, v in event.segment.items()):
            continue
        telling = offset >= 0 and shows_change(event, ex.labels)
        chosen.append((not telling, abs(offset), ex.sample_id, ex))
    chosen.sort(key=lambda c: c[:3])
    picked = sorted((c[3] for c in chosen[:EXEMPLARS_PER_EVENT]), key=lambda e: e.ts)
    return [
        {
            "sample_id": ex.sample_id,
            "ts": iso(ex.ts),
            "side": "after" if ex.ts >= change else "before",
            "segment": ex.segment,
            "kind": ex.kind,
            "labels": ex.labels,
            "prompt": ex.prompt,
            "response": ex.response,
            "detector_example": ex.sample_id in examples,
        }
        for ex in picked
    ]


def dashboard_link(grafana_url: str | None, event: DriftEvent) -> str | None:
    """The policy-area dashboard for the event's segment, around its change point."""
    if not grafana_url:
        return None
    seg = event.segment
    query = {f"var-{d}": seg.get(d, "All") for d in ("policy_area", "model", "surface", "locale")}
    query["from"] = str(int(event.change_ts.timestamp() * 1000) - 6 * 3_600_000)
    query["to"] = str(int(event.detected_ts.timestamp() * 1000) + 6 * 3_600_000)
    return f"{grafana_url.rstrip('/')}/d/driftmon-policy-area/policy-area?{urlencode(query)}"


def event_entries(
    events: Iterable[DriftEvent],
    timeline: Iterable[TimelineEntry],
    exemplars: Iterable[Exemplar],
    window: tuple[float, float],
    grafana_url: str | None = None,
) -> list[dict[str, Any]]:
    """Every event, oldest detection first, with its numbers, timeline and exemplars."""
    by_event: dict[str, list[TimelineEntry]] = {}
    for entry in sorted(timeline, key=lambda e: e.at):
        by_event.setdefault(entry.event_id, []).append(entry)
    pool = list(exemplars)
    out = []
    for e in sorted(events, key=lambda e: (e.detected_ts, e.id)):
        out.append(
            {
                "id": e.id,
                "segment": dict(e.segment),
                "metric": e.metric,
                "direction": e.direction,
                "severity": e.severity,
                "owner": e.owner,
                "status": e.status,
                "detector": e.detector,
                "change_ts": iso(e.change_ts),
                "detected_ts": iso(e.detected_ts),
                "detection_delay_s": round((e.detected_ts - e.change_ts).total_seconds(), 3),
                "before": _side(e.before),
                "after": _side(e.after),
                "cause": e.attribution.cause if e.attribution else None,
                "reverses": e.reverses.event_id if e.reverses else None,
                "example_ids": list(e.example_ids),
                "timeline": timeline_summary(e, by_event.get(e.id, [])),
                "exemplars": exemplars_for(e, pool, *window),
                "dashboard": dashboard_link(grafana_url, e),
            }
        )
    return out


def _moved(row: Mapping[str, Any]) -> float | None:
    """The change vs the previous week, or vs the baseline, if both sides have the samples."""
    for then, change in (("previous", "change_vs_previous"), ("baseline", "change_vs_baseline")):
        if row[then]["n"] >= MIN_SAMPLES and row["week"]["n"] >= MIN_SAMPLES:
            return row[change]
    return None


def questions(
    headline: list[dict[str, Any]], events: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """What policy review should discuss, each item with the numbers behind it."""
    moves: dict[tuple[str, str], dict[str, float]] = {}
    for row in headline:
        if row["metric"] in ("over_refusal", "under_refusal"):
            change = _moved(row)
            if change is not None:
                moves.setdefault((row["model"], row["policy_area"]), {})[row["metric"]] = change
    opposite = [
        {"model": m, "policy_area": a, **ch}
        for (m, a), ch in sorted(moves.items())
        if len(ch) == 2
        and min(abs(ch["over_refusal"]), abs(ch["under_refusal"])) >= MIN_MOVE
        and ch["over_refusal"] * ch["under_refusal"] < 0
    ]
    still_open = [
        {
            "id": e["id"],
            "segment": e["segment"],
            "metric": e["metric"],
            "status": e["status"],
            "owner": e["owner"],
            "open_for_s": round((now - _parse(e["detected_ts"])).total_seconds(), 3),
        }
        for e in events
        if e["status"] != "resolved"
    ]
    owners: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["status"] != "open":
            continue
        who = owners.setdefault(
            e["owner"] or "-", {"owner": e["owner"] or "-", "events": [], "oldest": None}
        )
        who["events"].append(e["id"])
        if who["oldest"] is None or e["detected_ts"] < who["oldest"]:
            who["oldest"] = e["detected_ts"]
    return {
        "opposite_moves": opposite,
        "still_open": still_open,
        "unacknowledged": sorted(owners.values(), key=lambda o: (o["oldest"], o["owner"])),
    }


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
