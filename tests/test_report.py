"""The weekly report: its numbers against an independent recount of the stored hourly counts,
on SQLite and PostgreSQL; events, timeline, questions; empty weeks; the CLI; the schedule."""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from monitor import migrate
from monitor.cli import app
from monitor.config import parse_config
from monitor.counts import COUNTERS, CountRow
from monitor.report import BASELINE_WEEKS, Scope, Week, build, load
from monitor.report_events import iso
from monitor.report_job import due_week, expire_exemplars, post, run_scheduled, slack_payload
from monitor.report_render import render_html, render_markdown, tables, write
from monitor.reportdata import ClassifierRow, DlqRow, Exemplar, ReportRows
from monitor.schema import DriftEvent, Interval, Reversal
from monitor.store import Store

WEEK = Week.parse("2026-W47")
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
RAISED = WEEK.start + timedelta(days=3, hours=9, minutes=30)  # e2 regraded critical
MODELS = ("atlas-2", "atlas-3")
AREAS = ("none", "cyber", "self_harm")
METRIC_COUNTERS = {
    "refusal": ("refusals", "classified"),
    "over_refusal": ("over_refusals", "benign"),
    "under_refusal": ("under_refusals", "harmful"),
    "violation": ("violations", "classified"),
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    migrate.upgrade(url)
    s = Store(url, connect_timeout=3)
    yield s
    s.close()


def random_rows(seed: int = 5) -> list[CountRow]:
    """Five weeks of hourly rows with random counts and random silent hours."""
    rnd = random.Random(seed)
    rows = []
    start = WEEK.shifted(-4).start
    for hour_index in range(5 * 7 * 24):
        hour = start + timedelta(hours=hour_index)
        if rnd.random() < 0.15:
            continue  # a gap
        for model in MODELS:
            for surface in ("chat", "api"):
                for area in AREAS:
                    if rnd.random() < 0.3:
                        continue
                    benign, harmful = rnd.randint(0, 30), rnd.randint(0, 12)
                    unclassified = rnd.randint(0, 2)
                    full, partial = rnd.randint(0, harmful), rnd.randint(0, 2)
                    over = rnd.randint(0, min(benign, 3))
                    rows.append(
                        CountRow(
                            hour,
                            model,
                            surface,
                            "en-US",
                            area,
                            samples=benign + harmful + unclassified,
                            classified=benign + harmful,
                            unclassified=unclassified,
                            refusals=full + partial,
                            partial_refusals=partial,
                            full_refusals=full,
                            benign=benign,
                            harmful=harmful,
                            over_refusals=over,
                            under_refusals=rnd.randint(0, harmful),
                            violations=rnd.randint(0, 2),
                        )
                    )
    return rows


def event(eid: str, model: str, day: int, status: str = "open", **more: Any) -> DriftEvent:
    change = WEEK.start + timedelta(days=day, hours=9)
    return DriftEvent(
        id=eid,
        segment={"model": model, "surface": "chat", "locale": "en-US"},
        metric=more.pop("metric", "refusal"),
        direction="up",
        detector="bernoulli_cusum",
        change_offset=100,
        change_ts=change,
        detected_ts=change + timedelta(minutes=20),
        before=Interval(rate=0.1, low=0.08, high=0.12, n=900, k=90),
        after=Interval(rate=0.3, low=0.26, high=0.34, n=400, k=120),
        severity=more.pop("severity", "critical"),
        owner=more.pop("owner", "trust-safety"),
        example_ids=["x1"],
        status=status,  # type: ignore[arg-type]
        **more,
    )


def fill(store: Store) -> list[CountRow]:
    rows = random_rows()
    store.add_counts(rows)
    store.add_events(
        [event("e1", "atlas-2", 1), event("e2", "atlas-3", 3, owner="policy", severity="warning")]
    )
    store.acknowledge("e1", by="ana", at=WEEK.start + timedelta(days=1, hours=10))
    store.regrade("e2", "critical", event("e2", "atlas-3", 3).after, RAISED, "warning → critical")
    ex = [
        Exemplar(
            f"x{i}",
            WEEK.start + timedelta(days=1, hours=8, minutes=30 * i),
            "atlas-2",
            "chat",
            "en-US",
            "none",
            "over_refusal" if i % 2 else "compliance",
            {"refused": bool(i % 2), "harmful": False},
            f"prompt {i} [EMAIL]",
            f"response {i}",
        )
        for i in range(6)
    ]
    hour = WEEK.start + timedelta(days=2)
    store.add_report_rows(
        ReportRows(
            ex,
            [DlqRow(hour, "not_json", 3), DlqRow(hour, "oversized", 1)],
            [
                ClassifierRow(WEEK.start - timedelta(hours=5), "atlas-2", "refusal", "rules@1", 9),
                ClassifierRow(hour, "atlas-2", "refusal", "rules@1", 10),
                ClassifierRow(hour + timedelta(days=1), "atlas-2", "refusal", "learned@2", 7),
            ],
        )
    )
    return rows


def recount(rows: list[CountRow], lo: datetime, hi: datetime, model: str, area: str) -> dict:
    """Plain sums over the stored rows, written without the report's code."""
    sums: dict[str, int] = defaultdict(int)
    for r in rows:
        if lo <= r.hour < hi and r.model == model and area in ("all", r.policy_area):
            for name in COUNTERS:
                sums[name] += getattr(r, name)
    return sums


def test_report_numbers_equal_an_independent_recount(store: Store) -> None:
    fill(store)
    stored = store.counts()
    report = build(load(store, WEEK, Scope(), NOW))
    week = (WEEK.start, WEEK.end)
    previous = (WEEK.start - timedelta(days=7), WEEK.start)
    baseline = (WEEK.start - timedelta(days=28), WEEK.start)
    expected_keys = set()
    for model in MODELS:
        for area in (*AREAS, "all"):
            sums = recount(stored, *week, model, area)
            for metric, (_, den) in METRIC_COUNTERS.items():
                if sums[den]:
                    expected_keys.add((model, area, metric))
    got = {(r["model"], r["policy_area"], r["metric"]): r for r in report["headline"]}
    assert set(got) == expected_keys
    for (model, area, metric), row in got.items():
        num, den = METRIC_COUNTERS[metric]
        for name, (lo, hi) in (("week", week), ("previous", previous), ("baseline", baseline)):
            sums = recount(stored, lo, hi, model, area)
            assert (row[name]["k"], row[name]["n"]) == (sums[num], sums[den]), (name, row)
            if sums[den]:
                assert row[name]["rate"] == pytest.approx(sums[num] / sums[den], abs=1e-6)
        for name in ("previous", "baseline"):
            if row[name]["rate"] is not None:
                change = row["week"]["rate"] - row[name]["rate"]
                assert row[f"change_vs_{name}"] == pytest.approx(change, abs=2e-6)
    moves = [abs(r["change_vs_baseline"] or 0) for r in report["headline"]]
    assert moves == sorted(moves, reverse=True), "biggest movers first"

    in_week = [r for r in stored if WEEK.start <= r.hour < WEEK.end]
    dq = report["data_quality"]
    assert dq["samples"] == sum(r.samples for r in in_week)
    assert dq["unclassified"] == sum(r.unclassified for r in in_week)
    silent = {WEEK.start + timedelta(hours=h) for h in range(168)} - {r.hour for r in in_week}
    assert sum(g["hours"] for g in dq["gaps"]) == len(silent)
    for day in report["daily"]:
        expected = sum(
            r.samples
            for r in in_week
            if r.model == day["model"] and r.hour.date().isoformat() == day["day"]
        )
        assert day["samples"] == expected
    assert dq["dlq"] == [{"reason": "not_json", "count": 3}, {"reason": "oversized", "count": 1}]
    [change] = dq["classifier_changes"]
    assert (change["from"], change["to"]) == ("rules@1", "learned@2")


def test_events_timeline_exemplars_and_questions(store: Store) -> None:
    fill(store)
    report = build(load(store, WEEK, Scope(), NOW, grafana_url="http://grafana:3000"))
    e1, e2 = report["events"]
    assert e1["id"] == "e1" and e1["status"] == "acknowledged"
    assert e1["timeline"]["acknowledged_by"] == "ana"
    assert e1["timeline"]["ack_after_detection_s"] == 40 * 60
    assert e2["timeline"]["acknowledged_at"] is None and e2["timeline"]["resolved_at"] is None
    assert e1["timeline"]["regraded_at"] == [] and e2["timeline"]["regraded_at"] == [iso(RAISED)]
    [rows] = [rows for title, _, rows in tables(report) if title == "Drift events"]
    assert f"regraded {iso(RAISED)}" in rows[1][-1] and "regraded" not in rows[0][-1]
    assert "reopened" not in rows[1][-1]  # e2 was never acknowledged
    # exemplars of e1's segment around 09:00, refused ones after the change first
    chosen = e1["exemplars"]
    assert 0 < len(chosen) <= 4 and all("[EMAIL]" in x["prompt"] for x in chosen)
    assert {"x3", "x5"} <= {x["sample_id"] for x in chosen}
    assert e2["exemplars"] == []  # none stored for atlas-3
    assert "var-model=atlas-2" in e1["dashboard"]
    q = report["questions"]
    assert {o["id"] for o in q["still_open"]} == {"e1", "e2"}
    assert [u["owner"] for u in q["unacknowledged"]] == ["policy"]


def test_a_regrade_past_an_acknowledgement_shows_as_reopened(store: Store) -> None:
    store.add_events([event("e2", "atlas-3", 3, owner="policy", severity="warning")])
    store.acknowledge("e2", by="bo", at=RAISED - timedelta(minutes=10))
    store.regrade("e2", "critical", event("e2", "atlas-3", 3).after, RAISED, "warning → critical")
    report = build(load(store, WEEK, Scope(), NOW))
    [e2] = report["events"]
    assert e2["status"] == "open" and e2["timeline"]["acknowledged_by"] == "bo"
    assert e2["timeline"]["reopened_at"] == [iso(RAISED)]
    [rows] = [rows for title, _, rows in tables(report) if title == "Drift events"]
    assert f"regraded {iso(RAISED)}, reopened" in rows[0][-1]
    assert [u["owner"] for u in report["questions"]["unacknowledged"]] == ["policy"]


def test_a_scope_keeps_only_its_segments(store: Store) -> None:
    fill(store)
    report = build(load(store, WEEK, Scope.parse("model=atlas-3,policy_area=cyber"), NOW))
    assert {(r["model"], r["policy_area"]) for r in report["headline"]} <= {
        ("atlas-3", "cyber"),
        ("atlas-3", "all"),
    }
    assert [e["id"] for e in report["events"]] == ["e2"]  # refusal events cover every area
    cyber = recount(store.counts(), WEEK.start, WEEK.end, "atlas-3", "cyber")
    assert report["data_quality"]["samples"] == cyber["samples"]


def test_opposite_moves_are_questions() -> None:
    from monitor.report import ReportInput

    rows = []
    for weeks_back, over, under in ((0, 20, 2), (1, 5, 10)):
        hour = WEEK.start - timedelta(days=7 * weeks_back) + timedelta(hours=3)
        rows.append(
            CountRow(
                hour, "m", "chat", "en-US", "none", samples=200, classified=200, benign=100,
                harmful=100, refusals=over + 100 - under, over_refusals=over,
                under_refusals=under,
            )
        )  # fmt: skip
    report = build(ReportInput(WEEK, Scope(), rows, [], [], [], [], [], NOW))
    [move] = [o for o in report["questions"]["opposite_moves"] if o["policy_area"] == "all"]
    assert move["over_refusal"] == pytest.approx(0.15) and move["under_refusal"] < 0


def test_a_rollback_names_the_event_it_goes_back_on() -> None:
    from monitor.report import ReportInput

    up = event("e1", "atlas-2", 1)
    went = Reversal(event_id="e1", before=up.before, detected_ts=up.detected_ts)
    back = event("e2", "atlas-2", 2, reverses=went).model_copy(update={"direction": "down"})
    lost = event("e3", "atlas-3", 3, reverses=went.model_copy(update={"event_id": "e0"}))
    report = build(ReportInput(WEEK, Scope(), [], [back, lost, up], [], [], [], [], NOW))
    assert [e["reverses"] for e in report["events"]] == [None, "e1", "e0"]
    [rows] = [rows for title, _, rows in tables(report) if title == "Drift events"]
    moves = [row[3] for row in rows]
    assert moves[1].endswith("; goes back on E1") and "goes back" not in moves[0]
    assert moves[2].endswith("; goes back on e0")  # not in this week's report: its id


def test_a_week_without_traffic_is_a_short_report(store: Store, tmp_path: Path) -> None:
    report = build(load(store, WEEK, Scope(), NOW))
    assert report["headline"] == [] and report["events"] == []
    assert report["summary"] == ["No traffic and no drift events in 2026-W47 (all)."]
    assert report["data_quality"]["gaps"] == [
        {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z", "hours": 168}
    ]
    for fmt in ("html", "md", "json"):
        assert all(p.stat().st_size > 0 for p in write(report, fmt, tmp_path))  # type: ignore[arg-type]
    assert "None." in render_markdown(report, {})
    assert "No traffic" in render_html(report, {})


def test_the_cli_writes_each_format(tmp_path: Path, sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    store = Store(sqlite_url)
    fill(store)
    runner = CliRunner()
    for fmt in ("json", "md", "html"):
        result = runner.invoke(
            app,
            ["report", "--week", "2026-W47", "--format", fmt, "--out", str(tmp_path),
             "--store", sqlite_url],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "driftmon-report-2026-W47.json").read_text())
    assert len(data["events"]) == 2
    assert (tmp_path / "driftmon-report-2026-W47-daily-rates.png").read_bytes()[:4] == b"\x89PNG"
    html = (tmp_path / "driftmon-report-2026-W47.html").read_text()
    assert html.count("src='data:image/png;base64,") == 2
    store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-47"], "not an ISO week"),
        (["--week", "2025-W53"], "2025 has 52 ISO weeks"),
        (["--week", "2026-W47", "--scope", "model"], "not dimension=value"),
        (["--week", "2026-W47", "--format", "pdf"], "--format must be one of"),
    ],
)
def test_bad_report_arguments_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert message in result.output


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []  # noqa: RUF012
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[Hook]]]:
    handler = type("Handler", (Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_schedule_writes_and_posts_once_per_week(
    sqlite_url: str, tmp_path: Path, webhook: tuple[str, type[Hook]]
) -> None:
    url, handler = webhook
    migrate.upgrade(sqlite_url)
    store = Store(sqlite_url)
    fill(store)
    cfg = parse_config(
        {
            "report": {
                "out_dir": str(tmp_path),
                "schedule": {"weekday": "tuesday", "hour": 7},
                "webhooks": [url, "http://127.0.0.1:1/refused"],
                "link_base": "https://reports.example.org/drift",
            }
        }
    )
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)  # W48, before Tuesday 07:00
    assert run_scheduled(cfg, store, monday) is None
    tuesday = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    path = run_scheduled(cfg, store, tuesday)
    assert path == tmp_path / "driftmon-report-2026-W47.html" and path.is_file()
    assert (tmp_path / "driftmon-report-2026-W47.json").is_file()
    [payload] = handler.received  # the refused webhook was logged, not raised
    assert "2026-W47" in payload["text"] and payload["blocks"][0]["type"] == "header"
    assert "https://reports.example.org/drift/driftmon-report-2026-W47.html" in payload["text"]
    assert run_scheduled(cfg, store, tuesday + timedelta(hours=1)) is None  # once per week
    assert len(handler.received) == 1
    assert store.report_runs()["2026-W47"]["location"] == str(path)
    store.close()


def test_a_failing_webhook_is_reported_not_raised(webhook: tuple[str, type[Hook]]) -> None:
    url, handler = webhook
    handler.status = 500
    failed = post([url], slack_payload({"week": "w", "scope": "all", "summary": ["s"]}, "u"))
    assert list(failed) == [url]


def test_due_week_is_the_previous_iso_week_after_the_moment() -> None:
    schedule = parse_config({"report": {"schedule": {"weekday": "sunday", "hour": 23}}})
    moment = datetime(2026, 11, 29, 23, tzinfo=UTC)
    assert due_week(moment - timedelta(seconds=1), schedule.report.schedule) is None  # type: ignore[arg-type]
    assert str(due_week(moment, schedule.report.schedule)) == "2026-W47"  # type: ignore[arg-type]


def test_exemplars_expire_after_the_retention(store: Store) -> None:
    fill(store)
    assert expire_exemplars(store, WEEK.start + timedelta(days=1, hours=9, minutes=50), 0.0001) == 4
    assert [e.sample_id for e in store.exemplars()] == ["x4", "x5"]


def test_week_parsing() -> None:
    assert str(Week.parse(" 2026-W01 ")) == "2026-W01"
    assert Week.parse("2026-W01").start == datetime(2025, 12, 29, tzinfo=UTC)
    assert str(Week.parse("2026-W01").shifted(-1)) == "2025-W52"
    with pytest.raises(ValueError, match="ISO week"):
        Week.parse("2026-W1")


@example(1, 1)
@example(9999, 52)
@given(st.integers(0, 9999), st.integers(0, 99))
def test_any_week_parses_to_one_whose_neighbours_exist_or_is_refused(year: int, n: int) -> None:
    """A report reads the baseline weeks before its week and the days after it."""
    try:
        week = Week.parse(f"{year:04d}-W{n:02d}")
    except ValueError as exc:
        assert f"{year:04d}-W{n:02d}" in str(exc)
        return
    assert week.shifted(-BASELINE_WEEKS).start < week.start < week.end < week.shifted(1).end
