"""`driftmon events` and `driftmon events show`: the queue an on-call engineer works from and
one event in full, from the pure view (monitor/event_view.py) to the command on a real SQLite
and PostgreSQL store."""

from __future__ import annotations

import io
import json
import queue
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from monitor import migrate, up
from monitor.cli import app as cli
from monitor.config import parse_config
from monitor.event_view import (
    NO_EXEMPLARS,
    TEXT_CHARS,
    choose,
    gather,
    list_line,
    one_line,
    routing,
    when,
)
from monitor.reportdata import Exemplar, ReportRows
from monitor.schema import Attribution, DriftEvent, Interval, Reversal, TimelineEntry
from monitor.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
SEGMENT = {"model": "atlas-2", "surface": "chat", "locale": "en-US", "policy_area": "all"}
HOOK = {"webhook": {"url": "http://hooks"}}
OWNERS: dict[str, Any] = {
    "default": "oncall",
    "teams": {
        "oncall": {
            "primary": HOOK,
            "secondary": HOOK,
            "notify": HOOK,
            "escalation": {"page": ["critical"], "notify": ["info"], "escalate_after": "20m"},
        },
        "quiet": {"primary": HOOK, "escalation": {"enabled": False, "page": [], "notify": []}},
        "pd": {"primary": {"pagerduty": {"routing_key": "k"}, "own_escalation": True}},
    },
    "routes": [{"team": "quiet", "locale": "de-DE"}, {"team": "pd", "surface": "api"}],
}


def event(event_id: str, **more: Any) -> DriftEvent:
    fields: dict[str, Any] = {
        "id": event_id,
        "segment": SEGMENT,
        "metric": "refusal",
        "direction": "up",
        "detector": "bernoulli_cusum",
        "detector_params": {"arl0": 100_000},
        "change_offset": 4_641,
        "change_ts": NOW - timedelta(minutes=40),
        "detected_ts": NOW - timedelta(minutes=30),
        "before": Interval(rate=0.264, low=0.251, high=0.277, n=4_641, k=1_224),
        "after": Interval(rate=0.342, low=0.308, high=0.378, n=716, k=245),
        "statistic": 10.14,
        "threshold": 10.12,
        "severity": "warning",
        "owner": "safety-oncall",
        "example_ids": ["s-1", "s-2"],
    }
    return DriftEvent(**(fields | more))


def exemplar(sample_id: str, minutes: float, prompt: str = "how do I [EMAIL]") -> Exemplar:
    return Exemplar(
        sample_id,
        NOW - timedelta(minutes=40) + timedelta(minutes=minutes),
        "atlas-2",
        "chat",
        "en-US",
        "all",
        "refused",
        {"refused": True, "harmful": False, "over_refusal": True, "categories": []},
        prompt,
        "I can't help with that.",
    )


# --- the view ----------------------------------------------------------------------------------


def test_the_queue_is_unresolved_events_gravest_first_then_longest_waiting() -> None:
    events = [
        event("warn-new", detected_ts=NOW - timedelta(minutes=5)),
        event("info", severity="info"),
        event("warn-old", detected_ts=NOW - timedelta(hours=3), status="acknowledged"),
        event("crit", severity="critical", owner="cyber"),
        event("done", severity="critical", status="resolved"),
    ]
    assert [e.id for e in choose(events)] == ["crit", "warn-old", "warn-new", "info"]
    assert [e.id for e in choose(events, resolved=True)][-1] == "done", "the queue first"
    assert [e.id for e in choose(events, team="cyber")] == ["crit"]
    line = list_line(events[2], NOW)
    assert line.startswith("acknowledged") and "3 h 00 min ago" in line
    assert "event warn-old" in line and "26.4% [25.1%–27.7%]" in line


def test_show_says_what_changed_how_sure_and_why() -> None:
    e = event(
        "e1",
        attribution=Attribution(
            harmful_share=(0.294, 0.32),
            refusal_harmful=(0.782, 0.895),
            refusal_benign=(0.048, 0.082),
            mix=0.02,
            behaviour=0.059,
            cause="both",
        ),
        reverses=Reversal(
            event_id="e0",
            before=Interval(rate=0.3, low=0.29, high=0.31, n=9_000, k=2_700),
            detected_ts=NOW - timedelta(days=1),
        ),
        reopened_ts=NOW - timedelta(minutes=10),
        severity="critical",
    )
    steps = [
        TimelineEntry(event_id="e1", action="detected", at=e.detected_ts, actor="bernoulli_cusum"),
        TimelineEntry(
            event_id="e1",
            action="acknowledged",
            at=NOW - timedelta(minutes=20),
            actor="alice",
            note="rolling back",
            detail={"severity": "warning", "silence_id": ""},
        ),
        TimelineEntry(event_id="other", action="resolved", at=NOW),
    ]
    cfg = parse_config({"alerting": {"grafana_url": "http://grafana:3000"}, "owners": OWNERS})
    lines = gather(e, reversed(steps), [], cfg).lines(NOW)
    text = "\n".join(lines)
    assert "before     26.4% [25.1%–27.7%], 1,224 of 4,641" in lines
    assert "after      34.2% [30.8%–37.8%], 245 of 716  (+7.8 pp, ×1.30)" in lines
    assert "sample 4,641 of the stream" in text and "10 min later, 30 min ago" in text
    assert "statistic 10.14 against threshold 10.12" in text and "arl0=100000" in text
    assert "both: +5.9 pp from behaviour, +2.0 pp from the traffic mix" in text
    assert "refused on harmful prompts 78.2% → 89.5%, on benign ones 4.8% → 8.2%" in text
    assert "goes back  on event e0" in text and "rate before it 30.0%" in text
    assert "reopened" in lines[2] and "owner safety-oncall" in lines[2]
    assert "var-model=atlas-2" in text
    # Reopened by a regrade 10 minutes ago: it escalates 20 minutes after that, not detection.
    assert (
        f"alerting   team oncall: pages oncall-primary; unacknowledged, it escalates to "
        f"oncall-secondary at {when(NOW + timedelta(minutes=10))}" in lines
    )
    timeline = lines[lines.index("timeline") + 1 : -1]
    assert len(timeline) == 2, "only this event's steps"
    assert lines[-1] == NO_EXEMPLARS, "an hour's exemplars are stored when it is over"
    assert timeline[0].endswith("detected by bernoulli_cusum")
    assert timeline[1].endswith("acknowledged by alice (severity=warning) — rolling back")


ESCALATED = f"escalated to oncall-secondary at {when(NOW - timedelta(minutes=10))}"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"severity": "critical"}, f"oncall: pages oncall-primary; unacknowledged, it {ESCALATED}"),
        ({"severity": "critical", "status": "acknowledged"}, "oncall: pages oncall-primary"),
        ({"severity": "info"}, "oncall: notifies oncall-notify"),
        (
            {"segment": {**SEGMENT, "locale": "de-DE"}},
            "quiet: this severity is recorded, sent to nobody",
        ),
        (
            {"severity": "critical", "segment": {**SEGMENT, "surface": "api"}},
            "pd: pages pd-primary",
        ),
    ],
)
def test_show_says_whom_the_alert_reaches_and_when_it_escalates(
    changes: dict[str, Any], says: str
) -> None:
    """Detected 30 minutes ago with escalate_after 20m: an open page has escalated already;
    an acknowledged one, a notification, and a pager with its own escalation never do."""
    cfg = parse_config({"owners": OWNERS})
    shown = gather(event("e1", **changes), [], [], cfg)
    assert f"alerting   team {says}" in shown.lines(NOW)
    escalates = shown.as_json()["alerting"]["escalates_to"]
    assert escalates == ("oncall-secondary" if ESCALATED in says else None)
    assert routing(event("e1", status="resolved"), cfg.owners) is None


def test_show_picks_redacted_exemplars_around_the_change_on_one_line_each() -> None:
    long = "word " * 100 + "\nsecond line"
    pool = [
        exemplar("far-before", -600),
        exemplar("x-before", -30),
        exemplar("s-1", 5, long),
        replace(exemplar("x-other-model", 6), model="atlas-3"),
    ]
    shown = gather(event("e1"), [], pool)
    assert [x["sample_id"] for x in shown.exemplars] == ["x-before", "s-1"]
    lines = shown.lines(NOW)
    start = lines.index("exemplars  (redacted; * = one of the detector's examples)")
    block = lines[start + 1 :]
    assert block[3].endswith("after  s-1 *  refused · benign prompt · refused, over_refusal")
    prompt = block[4].removeprefix("      prompt:   ")
    assert len(prompt) == TEXT_CHARS and prompt.endswith("…") and "\n" not in prompt
    assert shown.as_json()["exemplars"][1]["detector_example"] is True


@given(st.text())
def test_exemplar_text_reaches_the_terminal_as_one_short_line_without_controls(
    text: str,
) -> None:
    shown = one_line(text)
    assert len(shown) <= TEXT_CHARS and shown == shown.strip()
    assert not any(unicodedata.category(c) == "Cc" for c in shown)
    if len(text) < TEXT_CHARS and text.isprintable() and " ".join(text.split()) == text:
        assert shown == text


def test_escape_sequences_in_untrusted_fields_do_not_reach_the_terminal() -> None:
    assert one_line("ok\x1b[2J\x1b]0;pwned\x07\r\nnext") == "ok [2J ]0;pwned next"
    e = event("e1", segment={**SEGMENT, "locale": "en\x1b[31m\u202e"}, status="acknowledged")
    step = TimelineEntry(
        event_id="e1", action="acknowledged", at=NOW, actor="eve\x1b[8m", note="a\nb"
    )
    lines = [list_line(e, NOW), *gather(e, [step], []).lines(NOW)]
    assert not any(c in line for line in lines for c in "\x1b\n\u202e")
    assert "locale=en [31m " in lines[0]


def test_up_prints_segment_values_literally_not_as_console_markup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(up, "console", Console(file=out, width=400, color_system=None))
    events: queue.Queue[DriftEvent] = queue.Queue()
    events.put(event("e1", segment={**SEGMENT, "surface": "[/]chat[bold]"}))
    assert up._show(events) == 1
    assert "surface=[/]chat[bold] " in out.getvalue()


# --- the command on a real store ------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def fill(url: str) -> None:
    migrate.upgrade(url)
    store = Store(url)
    store.add_events(
        [
            event("warn"),
            event("crit", severity="critical", owner="cyber", metric="violation"),
            event("old", status="resolved", detected_ts=NOW - timedelta(days=9)),
        ]
    )
    store.acknowledge("warn", by="alice", at=NOW - timedelta(minutes=5), note="looking")
    store.add_report_rows(ReportRows([exemplar("s-1", 3), exemplar("x-2", 7)], [], []))
    store.close()


@pytest.mark.parametrize("backend", ["sqlite_url", "pg_url"])
def test_events_lists_the_queue_and_shows_one(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue(backend)
    fill(url)
    config = tmp_path / "driftmon.yaml"
    config.write_text(yaml.safe_dump({"store": {"url": url}}))

    queue = run("events", "--config", str(config))
    assert queue.exit_code == 0, queue.output
    lines = queue.stdout.splitlines()
    assert [line.split("event ")[1].split()[0] for line in lines] == ["crit", "warn"]
    assert lines[1].startswith("acknowledged")
    assert "2 drift events not resolved" in queue.stderr

    everything = run("events", "--resolved", "--json", "--store", url)
    assert [json.loads(line)["id"] for line in everything.stdout.splitlines()] == [
        "crit",
        "warn",
        "old",
    ]
    week = run("events", "--resolved", "--since", "7d", "--team", "safety-oncall", "--store", url)
    assert [line.split("event ")[1].split()[0] for line in week.stdout.splitlines()] == ["warn"]

    shown = run("events", "show", "warn", "--config", str(config))
    assert shown.exit_code == 0, shown.output
    assert "state      acknowledged, warning, owner safety-oncall" in shown.stdout
    assert "acknowledged by alice" in shown.stdout and "— looking" in shown.stdout
    assert "s-1 *" in shown.stdout and "x-2" in shown.stdout
    # An id read off a phone: six or more leading characters are enough when they are unique.
    store = Store(url)
    store.add_events([event("0f0f0f0f0f0f"), event("abc123def456"), event("abc123ffff00")])
    store.close()
    short = run("events", "show", "0f0f0f", "--store", url)
    assert short.exit_code == 0 and "event      0f0f0f0f0f0f" in short.stdout
    several = run("events", "show", "abc123", "--store", url)
    assert several.exit_code == 2 and "abc123def456, abc123ffff00" in several.stderr
    for pattern in ("abc12", "%%%%%%", "______"):
        none = run("events", "show", pattern, "--store", url)
        assert none.exit_code == 2 and "no drift event with id" in none.stderr, pattern
    as_json = json.loads(run("events", "show", "warn", "--json", "--store", url).stdout)
    assert as_json["before"]["k"] == 1_224 and as_json["status"] == "acknowledged"
    assert [t["action"] for t in as_json["timeline"]] == ["detected", "acknowledged"]
    assert [x["sample_id"] for x in as_json["exemplars"]] == ["s-1", "x-2"]


def test_events_mistakes_are_usage_errors_and_a_dead_store_exit_1(sqlite_url: str) -> None:
    fill(sqlite_url)
    unknown = run("events", "show", "nope", "--store", sqlite_url)
    assert unknown.exit_code == 2 and "no drift event with id 'nope'" in unknown.stderr
    since = run("events", "--since", "a week", "--store", sqlite_url)
    assert since.exit_code == 2 and "--since" in since.stderr
    ages = run("events", "--since", "9000y", "--store", sqlite_url)
    assert ages.exit_code == 2 and "at most 100y" in ages.stderr
    url = run("events", "--store", "mysql://x/y")
    assert url.exit_code == 2 and "--store must be" in url.stderr
    dead = run("events", "--store", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert dead.exit_code == 1 and "reading open drift events failed" in dead.stderr
