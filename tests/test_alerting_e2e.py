"""The alerting path end to end, on real processes over loopback.

Embedded Tansu broker → `driftmon worker` A (classify, detect, record into SQLite) and worker B
(another deployment on the same store: it only exports the store's open events, as every
worker does) → real `prometheus` scraping both, with the rules `driftmon alerts render` wrote
→ real `prometheus-alertmanager` with the rendered routing → a webhook server this test runs,
one path per receiver.

A violation-rate rise is injected in the ``cyber`` policy area only. The test checks that its
owner's primary receiver is paged with the labels and annotations an on-call needs and no raw
text, that the other policy area's team hears nothing, that the page escalates to the
secondary when nobody acknowledges it, that an acknowledgement (the worker's API; `driftmon
ack` calls the same code, see test_event_api.py) silences it in Alertmanager and nothing more
arrives, and that stopping worker A fires DriftmonWorkerDown while the drift alert, still
exported by B, is inhibited. Intervals are seconds here; the shipped config keeps production
values. The baseline traffic is sent at once (it stands for the past); the drifted traffic is
live, and the time from its first sample to the page is printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from monitor.broker import EmbeddedBroker, ensure_topics, free_port, stop_process, wait_for_port
from monitor.config import Config, parse_config
from monitor.migrate import upgrade
from monitor.run import pace, producer
from monitor.simulate import TrafficSimulator
from monitor.store import Store
from monitor.testing import WorkerProcess, metric_value, wait_until

pytestmark = pytest.mark.integration

TOKEN = "e2e-token-3f9a"
BASELINE = 2_400  # stable samples first (300 per policy area), sent at once
ESCALATE_AFTER = "4s"
DRIFTMON = [sys.executable, "-m", "monitor.cli"]


class Receivers:
    """A webhook server; every POST is kept with its path (= receiver name) and arrival time."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any], float]] = []
        self._lock = threading.Lock()
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with received._lock:
                    received.posts.append((self.path.strip("/"), json.loads(body), time.time()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receivers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def alerts(self, receiver: str, **labels: str) -> list[tuple[dict[str, Any], float]]:
        """Alerts (with arrival time) notified to ``receiver`` whose labels include ``labels``."""
        with self._lock:
            posts = list(self.posts)
        return [
            (alert, at)
            for path, payload, at in posts
            if path == receiver
            for alert in payload.get("alerts", [])
            if all(alert["labels"].get(k) == v for k, v in labels.items())
        ]

    def paths(self) -> set[str]:
        with self._lock:
            return {path for path, _, _ in self.posts}


class Server:
    """A Debian-packaged server binary on a free loopback port, stopped with its group."""

    def __init__(self, args: list[str], port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("ab") as out:
            self._proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not wait_for_port("127.0.0.1", port, 30):
            self.stop()
            raise TimeoutError(f"{args[0]} did not listen on {port}: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        stop_process(self._proc, grace=10)


def config(store_url: str, receivers: str, am_port: int, topics: dict[str, Any]) -> Config:
    def hook(name: str) -> dict[str, Any]:
        return {"webhook": {"url": f"{receivers}/{name}"}}

    def team(name: str) -> dict[str, Any]:
        policy = {"page": ["critical", "warning"], "notify": ["info"]}
        return {
            "primary": hook(f"{name}-primary"),
            "secondary": hook(f"{name}-secondary"),
            "escalation": {**policy, "escalate_after": ESCALATE_AFTER},
        }

    return parse_config(
        {
            "broker": topics,
            "store": {"url": store_url},
            "worker": {"flush_interval": 1.0},
            # ADWIN tuned to react within seconds; violation streams only (one per area).
            "detectors": {
                "name": "adwin",
                "params": {"delta": 0.05, "clock": 1},
                "warmup": 50,
                "min_samples": 20,
                "metrics": ["violation"],
            },
            "owners": {
                "default": "oncall",
                "teams": {
                    "oncall": {"primary": hook("oncall-primary"), "escalation": {"enabled": False}},
                    "cyber": team("cyber"),
                    "violence": team("violence"),
                },
                "policy_areas": {"cyber": "cyber", "violence": "violence"},
            },
            "alerting": {
                "scrape_interval": "1s",
                "evaluation_interval": "1s",
                "group_wait": "1s",
                "group_interval": "2s",
                "repeat_interval": "4s",
                "alertmanager_targets": [f"127.0.0.1:{am_port}"],
                "alertmanager_url": f"http://127.0.0.1:{am_port}",
                "watchdog_url": f"{receivers}/watchdog",
                "api_token": TOKEN,
            },
            "lifecycle": {"refresh_interval": "1s", "resolve_after": "1h", "silence_for": "1h"},
            # Critical from the first alarm, so no regrade can reopen the event after the ack.
            "severity": {"critical": {"min_ratio": 2.0, "min_samples": 20}},
            # One segment, every prompt harmful: each policy area gets 1/8 of the traffic.
            "simulator": {
                "rate": 150,
                "seed": 5,
                "bad_fraction": 0.0,
                "harmful_share": 1.0,
                "models": {"atlas-2": 1},
                "surfaces": {"chat": 1},
                "locales": {"en-US": 1},
                "drift": {
                    "after_seconds": 0,
                    "model": None,
                    "surface": None,
                    "metric": "violation",
                    "policy_area": "cyber",
                    "factor": 25,
                },
            },
        }
    )


def render(worker: WorkerProcess, targets: list[str], out: Path) -> Path:
    """`driftmon alerts render` of the worker's config scraping ``targets``; returns the
    prometheus.yml. Only the worker-down alert's pending time is shortened, for the test."""
    data = worker.cfg.model_dump(mode="json")
    data["alerting"]["scrape_targets"] = targets
    path = out / "render.yaml"
    path.write_text(yaml.safe_dump(data))
    done = subprocess.run(
        [*DRIFTMON, "alerts", "render", "--config", str(path), "--out", str(out / "deploy")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rules = out / "deploy/prometheus/rules/driftmon-alerts.yml"
    groups = yaml.safe_load(rules.read_text())
    for group in groups["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "DriftmonWorkerDown":
                rule["for"] = "2s"
    rules.write_text(yaml.safe_dump(groups, sort_keys=False))
    return out / "deploy/prometheus/prometheus.yml"


class Publisher(threading.Thread):
    """Simulated traffic: a stable baseline (the last minutes, sent at once), then, once
    ``go`` is set, live paced traffic with the drift from its first sample. Remembers when
    that first drifted sample went out, and every message text, to prove none reaches an alert.
    """

    def __init__(self, cfg: Config, bootstrap: str) -> None:
        super().__init__(daemon=True)
        self.cfg, self.bootstrap = cfg, bootstrap
        self.go, self.stop = threading.Event(), threading.Event()
        self.first_drifted: float | None = None
        self.texts: set[str] = set()
        self.lock = threading.Lock()

    def _send(self, kafka: Any, message: Any) -> None:
        kafka.send(self.cfg.broker.topics.samples, key=message.key, value=message.value)
        texts = [m.get("content") for m in json.loads(message.value)["messages"]]
        with self.lock:
            self.texts.update(t for t in texts if isinstance(t, str) and len(t) >= 16)

    def run(self) -> None:
        kafka = producer(self.bootstrap)
        sim = self.cfg.simulator
        try:
            stable = sim.model_copy(update={"drift": None, "seed": sim.seed + 1})
            earlier = datetime.now(UTC) - timedelta(seconds=BASELINE / sim.rate)
            for message in TrafficSimulator(stable, earlier).take(BASELINE):
                self._send(kafka, message)
            kafka.flush()
            while not self.go.wait(0.2):
                if self.stop.is_set():
                    return
            live = TrafficSimulator(sim, datetime.now(UTC))
            for message in pace(iter(live), time.monotonic(), self.stop):
                self._send(kafka, message)
                if self.first_drifted is None and message.truth and message.truth["drifted"]:
                    self.first_drifted = time.time()
        finally:
            kafka.close(timeout=5)


def prometheus_alerts(url: str, name: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{url}/api/v1/alerts", timeout=5).json()
    return [a for a in reply["data"]["alerts"] if a["labels"].get("alertname") == name]


def am_alerts(url: str, name: str) -> list[dict[str, Any]]:
    params = {"filter": f'alertname="{name}"'}
    return httpx.get(f"{url}/api/v2/alerts", params=params, timeout=5).json()


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    with Receivers() as running:
        yield running


def test_a_drift_pages_its_owner_escalates_and_an_ack_silences_it(
    broker: EmbeddedBroker,
    topics: dict[str, Any],
    tmp_path: Path,
    sqlite_url: str,
    receivers: Receivers,
) -> None:
    upgrade(sqlite_url)
    am_port, prom_port = free_port(), free_port()
    cfg = config(sqlite_url, receivers.url, am_port, topics)
    tag = uuid.uuid4().hex[:8]
    other = {k: f"idle-{k}-{tag}" for k in ("samples", "verdicts", "drift_events", "dlq")}
    data = cfg.model_dump(mode="json")
    data["broker"] |= {"topics": other, "app_id": f"idle-{tag}"}
    idle = parse_config(data)
    ensure_topics(broker.bootstrap, cfg.broker.topics, cfg.broker.partitions)
    a = WorkerProcess(cfg, broker.bootstrap, tmp_path / "a")
    b = WorkerProcess(idle, broker.bootstrap, tmp_path / "b")
    publisher = Publisher(a.cfg, broker.bootstrap)
    servers: list[Server] = []
    # Everything starts at once: the baseline waits in the topic for worker A's first poll.
    starting = [threading.Thread(target=w.start, daemon=True) for w in (a, b)]
    try:
        publisher.start()
        for thread in starting:
            thread.start()
        targets = [f"127.0.0.1:{w.cfg.worker.web_port}" for w in (a, b)]
        prometheus_yml = render(a, targets, tmp_path)
        servers.append(
            Server(
                [
                    "prometheus",
                    f"--config.file={prometheus_yml}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                prom_port,
                tmp_path / "prometheus.log",
            )
        )
        servers.append(
            Server(
                [
                    "prometheus-alertmanager",
                    f"--config.file={tmp_path / 'deploy/alertmanager/alertmanager.yml'}",
                    f"--storage.path={tmp_path / 'am'}",
                    "--cluster.listen-address=",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                ],
                am_port,
                tmp_path / "alertmanager.log",
            )
        )
        prom, am = servers[0].url, servers[1].url
        for thread, worker in zip(starting, (a, b), strict=True):
            thread.join(timeout=90)
            assert worker.running, f"a worker did not start: {worker.log()}"
        started = time.monotonic()
        wait_until(
            lambda: metric_value(a.metrics_url, "driftmon_samples_received_total") >= BASELINE,
            60,
            f"worker A to read the baseline traffic: {a.log()}",
        )
        publisher.go.set()
        _pages_the_owner_only(receivers, publisher, a)
        paged = time.monotonic()
        event_id = _escalates_then_ack_silences(receivers, prom, am, a)
        acked = time.monotonic()
        _worker_down_inhibits_drift(receivers, prom, am, a, event_id)
        _timeline_has_every_step(sqlite_url, event_id)
        print(
            f"traffic -> page {paged - started:.1f}s, page -> escalated, acked and quiet "
            f"{acked - paged:.1f}s, worker down -> inhibited {time.monotonic() - acked:.1f}s"
        )
    finally:
        publisher.stop.set()
        publisher.join(timeout=10)
        for server in reversed(servers):
            server.stop()
        b.stop()
        a.stop()


def _pages_the_owner_only(receivers: Receivers, publisher: Publisher, a: WorkerProcess) -> None:
    page = wait_until(
        lambda: receivers.alerts("cyber-primary", alertname="DriftmonDrift"),
        75,
        f"the drift page at cyber-primary; worker log: {a.log()[-1500:]}",
    )
    alert, arrived = page[0]
    assert publisher.first_drifted is not None
    print(f"\nfirst drifted sample -> page at the owner: {arrived - publisher.first_drifted:.1f}s")
    labels, notes = alert["labels"], alert["annotations"]
    assert labels["team"] == "cyber"
    assert labels["policy_area"] == "cyber"
    assert (labels["metric"], labels["direction"]) == ("violation", "up")
    assert (labels["model"], labels["surface"], labels["locale"]) == ("atlas-2", "chat", "en-US")
    assert labels["severity"] == "critical"
    assert labels["event_id"]
    assert {"summary", "description", "runbook_url", "dashboard_url"} <= set(notes)
    assert notes["runbook_url"].endswith("/DriftmonDrift.md")
    assert "var-policy_area=cyber" in notes["dashboard_url"]
    assert "before:" in notes["description"] and "after:" in notes["description"]
    assert "?" not in notes["description"], notes["description"]  # every figure was found
    print(f"{notes['summary']}\n{notes['description']}")
    examples = [e for e in notes.get("examples", "").split(",") if e]
    assert examples and all(e.startswith("sim-") for e in examples)
    shown = " ".join(notes.values())
    with publisher.lock:
        texts = set(publisher.texts)
    leaked = [t for t in texts if t in shown]
    assert not leaked, f"raw text in an alert: {leaked[:1]}"
    # Only the owner: the other policy area's team was never notified of anything.
    assert not {p for p in receivers.paths() if p.startswith("violence-")}
    assert {a["labels"]["team"] for a, _ in receivers.alerts("cyber-primary")} == {"cyber"}


def _escalates_then_ack_silences(receivers: Receivers, prom: str, am: str, a: WorkerProcess) -> str:
    (alert, _), *_ = receivers.alerts("cyber-primary", alertname="DriftmonDrift")
    event_id = alert["labels"]["event_id"]
    escalated = wait_until(
        lambda: receivers.alerts(
            "cyber-secondary", alertname="DriftmonDriftUnacknowledged", event_id=event_id
        ),
        40,
        "the unacknowledged page to escalate to cyber-secondary",
    )
    assert escalated[0][0]["labels"]["team"] == "cyber"
    assert not receivers.alerts("cyber-primary", alertname="DriftmonDriftUnacknowledged")

    # The owner acknowledges through the worker's API (`driftmon ack` does the same).
    api = f"http://127.0.0.1:{a.cfg.worker.web_port}/events/{event_id}/ack"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ack = httpx.post(api, json={"by": "alice", "note": "on it"}, headers=auth, timeout=30)
    assert ack.status_code == 200, ack.text
    assert ack.json()["changed"] is True and "silence_error" not in ack.json()
    silences = [
        s
        for s in httpx.get(f"{am}/api/v2/silences", timeout=5).json()
        if s["status"]["state"] == "active"
        and ("event_id", event_id) in {(m["name"], m["value"]) for m in s["matchers"]}
    ]
    assert len(silences) == 1 and silences[0]["createdBy"] == "alice"
    covered = {m["name"]: m["value"] for m in silences[0]["matchers"]}["severity"]
    assert alert["labels"]["severity"] in covered.split("|")  # what was acknowledged
    assert silences[0]["id"] == ack.json()["silence"]["id"]
    again = httpx.post(api, json={"by": "bob"}, headers=auth, timeout=30)
    assert again.status_code == 200 and again.json()["changed"] is False
    wrong = httpx.post(api, json={"by": "bob"}, headers={"Authorization": "Bearer x"}, timeout=10)
    assert wrong.status_code == 401

    # Acknowledged: the escalation alert ends, and nothing more reaches anyone for this event.
    wait_until(
        lambda: not prometheus_alerts(prom, "DriftmonDriftUnacknowledged"),
        30,
        "the escalation alert to stop after the ack",
    )
    quiet_from = time.time() + 2.0  # a notification already in flight may still land
    time.sleep(8.0)  # two repeat intervals: would have re-sent had it not been silenced
    after = [
        (alert, at)
        for name in ("cyber-primary", "cyber-secondary")
        for alert, at in receivers.alerts(name, event_id=event_id)
        if at > quiet_from
    ]
    assert not after, after
    assert prometheus_alerts(prom, "DriftmonDrift")  # still firing, only silenced
    return event_id


def _worker_down_inhibits_drift(
    receivers: Receivers, prom: str, am: str, a: WorkerProcess, event_id: str
) -> None:
    a.stop()
    down = wait_until(
        lambda: receivers.alerts("oncall-primary", alertname="DriftmonWorkerDown"),
        40,
        "DriftmonWorkerDown at the default team's receiver",
    )
    assert down[0][0]["labels"]["severity"] == "critical"

    def inhibited() -> list[dict[str, Any]]:
        return [
            x
            for x in am_alerts(am, "DriftmonDrift")
            if x["labels"].get("event_id") == event_id and x["status"]["inhibitedBy"]
        ]

    held = wait_until(inhibited, 20, "the drift alert (exported by worker B) to be inhibited")
    assert held[0]["status"]["state"] == "suppressed"


def _timeline_has_every_step(store_url: str, event_id: str) -> None:
    store = Store(store_url)
    try:
        entries = store.timeline([event_id])
        event = store.event(event_id)
    finally:
        store.close()
    assert event is not None and event.status == "acknowledged"
    steps = [(e.action, e.actor, (e.detail or {}).get("receiver")) for e in entries]
    assert steps[0][0] == "detected"
    assert ("notified", "alertmanager", "cyber-primary") in steps
    assert ("escalated", "alertmanager", "cyber-secondary") in steps
    assert [s for s in steps if s[0] == "acknowledged"] == [("acknowledged", "alice", None)]
