"""Acknowledge and resolve from the outside: the worker's HTTP endpoints (the real Faust views,
called in-process on a fake store) and the `driftmon ack` / `driftmon resolve` commands on a
real SQLite store."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from monitor import migrate
from monitor.app import Pipeline, build_app
from monitor.broker import free_port
from monitor.cli import app as cli
from monitor.config import parse_config
from monitor.schema import DriftEvent, Interval
from monitor.store import Store, StoreError
from monitor.testing import ListStore

TOKEN = "s3cret-token"
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
OWNERS = {
    "default": "oncall",
    "teams": {
        "oncall": {"primary": {"webhook": {"url": "http://o"}}, "escalation": {"enabled": False}},
        "cyber": {
            "primary": {"webhook": {"url": "http://p"}},
            "secondary": {"webhook": {"url": "http://s"}},
        },
    },
    "policy_areas": {"cyber": "cyber"},
}


def event(event_id: str = "e1") -> DriftEvent:
    return DriftEvent(
        id=event_id,
        segment={"model": "atlas-2", "surface": "chat", "locale": "en-US", "policy_area": "cyber"},
        metric="violation",
        direction="up",
        detector="adwin",
        change_offset=10,
        change_ts=T0 - timedelta(minutes=1),
        detected_ts=T0,
        before=Interval(rate=0.02, low=0.01, high=0.04, n=900, k=18),
        after=Interval(rate=0.2, low=0.15, high=0.26, n=200, k=40),
        severity="critical",
    )


class Request:
    """What the views read from aiohttp's request: headers and the body."""

    def __init__(
        self, body: bytes, token: str | None = None, query: dict[str, str] | None = None
    ) -> None:
        self.headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        self._body = body
        self.query = query or {}

    async def read(self) -> bytes:
        return self._body


class Worker:
    """The worker's Faust app built in-process (never started) on an in-memory store."""

    def __init__(self, token: str | None = TOKEN) -> None:
        cfg = parse_config({"owners": OWNERS, "alerting": {"api_token": token}})
        self.pipeline = Pipeline(cfg, store_factory=ListStore)
        self.app = build_app(cfg, "127.0.0.1:9", self.pipeline)
        self.store: ListStore = self.pipeline.store  # type: ignore[assignment]
        self.store.add_events([event("e1")])

    def post(self, path: str, body: Any, token: str | None = TOKEN) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if path.startswith("/events/"):
            event_id, _, verb = path.removeprefix("/events/").partition("/")
            view = self.app.web.views[f"/events/{{event_id}}/{verb}"]
            call = view.post(Request(raw, token), event_id=event_id)
        else:
            call = self.app.web.views[path].post(Request(raw, token))
        response = asyncio.run(call)
        return response.status, json.loads(response.body)

    def get(self, path: str, token: str | None = TOKEN, **query: str) -> tuple[int, Any]:
        request = Request(b"", token, query)
        if path == "/events":
            call = self.app.web.views["/events"].get(request)
        else:
            event_id = path.removeprefix("/events/")
            call = self.app.web.views["/events/{event_id}"].get(request, event_id=event_id)
        response = asyncio.run(call)
        return response.status, json.loads(response.body)


@pytest.fixture
def worker() -> Worker:
    return Worker()


def test_ack_and_resolve_over_http(worker: Worker) -> None:
    status, body = worker.post("/events/e1/ack", {"by": "alice", "note": "on it"})
    assert (status, body) == (200, {"event_id": "e1", "status": "acknowledged", "changed": True})
    status, body = worker.post("/events/e1/ack", {"by": "bob"})
    assert (status, body["changed"]) == (200, False)
    status, body = worker.post("/events/e1/resolve", {"by": "alice"})
    assert (status, body["status"]) == (200, "resolved")
    assert [(e.action, e.actor) for e in worker.store.timeline()] == [
        ("detected", "adwin"),
        ("acknowledged", "alice"),
        ("resolved", "alice"),
    ]
    # The worker's metrics follow at once: a resolved event has no series left.
    names = {s.name for m in worker.pipeline.metrics.registry.collect() for s in m.samples}
    assert "driftmon_drift_event_open" not in names


def test_the_queue_and_one_event_over_http(worker: Worker) -> None:
    worker.store.add_events([event("e2").model_copy(update={"severity": "warning"})])
    status, body = worker.get("/events")
    assert status == 200 and [e["id"] for e in body["events"]] == ["e1", "e2"]
    assert body["events"][0]["before"]["k"] == 18
    worker.post("/events/e1/resolve", {"by": "alice", "note": "intended"})
    assert [e["id"] for e in worker.get("/events")[1]["events"]] == ["e2"]
    assert [e["id"] for e in worker.get("/events", resolved="true")[1]["events"]] == ["e2", "e1"]
    assert worker.get("/events", team="nobody")[1] == {"events": [], "total": 0}
    first = worker.get("/events", resolved="true", limit="1")[1]
    assert [e["id"] for e in first["events"]] == ["e2"] and first["total"] == 2
    status, shown = worker.get("/events/e1")
    assert status == 200 and shown["status"] == "resolved" and shown["severity"] == "critical"
    assert [(t["action"], t["actor"], t["note"]) for t in shown["timeline"]] == [
        ("detected", "adwin", None),
        ("resolved", "alice", "intended"),
    ]
    assert shown["exemplars"] == [] and "var-model=atlas-2" in shown["dashboard"]
    worker.store.add_events([event("abcdef123456")])
    assert worker.get("/events/abcdef")[1]["id"] == "abcdef123456", "a unique prefix will do"


@pytest.mark.parametrize(
    ("path", "token", "query", "status", "says"),
    [
        ("/events", None, {}, 401, "Authorization: Bearer"),
        ("/events/e1", "wrong", {}, 401, "wrong bearer token"),
        ("/events/nope", TOKEN, {}, 404, "'nope'"),
        ("/events", TOKEN, {"since": "soon"}, 400, "since: not a duration"),
        ("/events", TOKEN, {"resolved": "maybe"}, 400, "resolved: expected true or false"),
        ("/events", TOKEN, {"status": "open"}, 400, "unknown query parameter(s): status"),
        ("/events", TOKEN, {"limit": "all"}, 400, "limit: expected a whole number"),
    ],
)
def test_read_mistakes_are_4xx(
    worker: Worker, path: str, token: str | None, query: dict, status: int, says: str
) -> None:
    got, answer = worker.get(path, token, **query)
    assert got == status and says in answer["error"]


def test_reads_without_a_configured_token_or_store_say_why() -> None:
    closed = Worker(token=None)
    status, answer = closed.get("/events", token="anything")
    assert status == 403 and "event reads are disabled" in answer["error"]
    broken = Worker()

    def down() -> list:
        raise StoreError("reading open drift events failed on memory://: gone")

    broken.store.open_events = down  # type: ignore[method-assign]
    status, answer = broken.get("/events")
    assert status == 503 and "store is unavailable" in answer["error"]


@pytest.mark.parametrize(
    ("token", "body", "status", "says"),
    [
        (None, {"by": "a"}, 401, "Authorization: Bearer"),
        ("wrong", {"by": "a"}, 401, "wrong bearer token"),
        (TOKEN, b"{not json", 400, "not JSON"),
        (TOKEN, {"note": "who?"}, 400, "by: Field required"),
        (TOKEN, {"by": "a", "pwned": True}, 400, "pwned"),
    ],
)
def test_client_mistakes_are_4xx_and_change_nothing(
    worker: Worker, token: str | None, body: Any, status: int, says: str
) -> None:
    got, answer = worker.post("/events/e1/ack", body, token=token)
    assert got == status and says in answer["error"]
    assert worker.store.event("e1").status == "open"


def test_unknown_event_is_404(worker: Worker) -> None:
    status, answer = worker.post("/events/nope/resolve", {"by": "a"})
    assert status == 404 and "'nope'" in answer["error"]


def test_without_a_configured_token_nobody_writes() -> None:
    open_worker = Worker(token=None)
    for token in (None, "", "anything"):
        status, answer = open_worker.post("/events/e1/ack", {"by": "a"}, token=token)
        assert status == 403 and "alerting.api_token" in answer["error"]
    assert open_worker.store.event("e1").status == "open"


def webhook(*alerts: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "4",
        "receiver": "driftmon",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": labels} for labels in alerts],
    }


def test_webhook_records_notified_and_escalated_once(worker: Worker) -> None:
    page = {"alertname": "DriftmonDrift", "event_id": "e1", "team": "cyber", "severity": "warning"}
    up = {"alertname": "DriftmonDriftUnacknowledged", "event_id": "e1", "team": "cyber"}
    unknown = page | {"event_id": "not-stored"}
    status, body = worker.post("/alerts/webhook", webhook(page, unknown, {"alertname": "X"}))
    assert (status, body) == (200, {"recorded": 1, "alerts": 2})
    worker.post("/alerts/webhook", webhook(page))  # Alertmanager repeats: recorded once
    worker.post("/alerts/webhook", webhook(up))
    worker.post("/alerts/webhook", webhook(page | {"severity": "critical"}))  # raised: a page
    steps = [
        (e.action, (e.detail or {}).get("receiver"), (e.detail or {}).get("severity"))
        for e in worker.store.timeline()
    ]
    assert steps == [
        ("detected", None, None),
        ("notified", "cyber-primary", "warning"),
        ("escalated", "cyber-secondary", ""),
        ("notified", "cyber-primary", "critical"),
    ]


def test_webhook_needs_the_token_when_one_is_set_and_rejects_garbage(worker: Worker) -> None:
    assert worker.post("/alerts/webhook", webhook(), token=None)[0] == 401
    assert worker.post("/alerts/webhook", b"[1, 2]")[0] == 400
    assert worker.post("/alerts/webhook", {"receiver": "x"})[0] == 400
    open_worker = Worker(token=None)  # no token configured: Alertmanager sends none either
    assert open_worker.post("/alerts/webhook", webhook(), token=None)[0] == 200


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def configured(tmp_path: Path, sqlite_url: str) -> Path:
    migrate.upgrade(sqlite_url)
    store = Store(sqlite_url)
    store.add_events([event("e1"), event("e2")])
    store.close()
    path = tmp_path / "driftmon.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": sqlite_url}, "owners": OWNERS}))
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_cli_ack_without_alertmanager_records_and_says_nothing_was_silenced(
    configured: Path, sqlite_url: str
) -> None:
    done = run("ack", "e1", "--by", "alice", "--note", "on it", "--config", str(configured))
    assert done.exit_code == 0, done.output
    assert "event e1 acknowledged" in done.output
    assert "no silence was made" in done.output
    again = run("ack", "e1", "--by", "bob", "--config", str(configured))
    assert again.exit_code == 0 and "already acknowledged" in again.output
    store = Store(sqlite_url)
    assert [(e.action, e.actor, e.note) for e in store.timeline(["e1"])][1:] == [
        ("acknowledged", "alice", "on it")
    ]
    store.close()


def test_cli_ack_with_alertmanager_down_records_the_ack_and_exits_1(
    configured: Path, tmp_path: Path, sqlite_url: str
) -> None:
    data = yaml.safe_load(configured.read_text())
    data["alerting"] = {"alertmanager_url": f"http://127.0.0.1:{free_port()}"}
    configured.write_text(yaml.safe_dump(data))
    done = run("ack", "e2", "--by", "alice", "--config", str(configured))
    assert done.exit_code == 1
    assert "the ack is recorded but the silence failed" in done.output
    store = Store(sqlite_url)
    assert store.event("e2").status == "acknowledged"
    store.close()


def test_cli_resolve_and_mistakes(configured: Path) -> None:
    done = run("resolve", "e1", "--by", "alice", "--config", str(configured))
    assert done.exit_code == 0 and "event e1 resolved" in done.output
    unknown = run("resolve", "zzz", "--by", "alice", "--config", str(configured))
    assert unknown.exit_code == 2 and "'zzz'" in unknown.output
    blank = run("ack", "e2", "--by", " ", "--config", str(configured))
    assert blank.exit_code == 2 and "--by" in blank.output
    bad = run("ack", "e2", "--by", "a", "--silence-for", "soon", "--config", str(configured))
    assert bad.exit_code == 2 and "--silence-for" in bad.output
    missing = run("ack", "e2", "--config", str(configured))
    assert missing.exit_code == 2
