"""The weekly report from a real run: embedded broker, two workers, SQLite and PostgreSQL.

Simulated traffic of ISO week 2026-W47 with two injected refusal drifts on different days and
segments (Tuesday: atlas-2 on chat; Thursday: atlas-3 on chat) and a few malformed messages is
published twice, once per store, each to its own topics; a worker per store consumes it,
writes counts, events, exemplars and DLQ tallies, and (its schedule being already due) writes
and announces the previous week's report once. One event is then acknowledged, the rest stay
open. The reports of W47 from both stores must give the same numbers, the HTML must show every
chart in headless Chromium, and the first page is screenshotted.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from monitor.broker import EmbeddedBroker, ensure_topics
from monitor.config import Config, Simulator, parse_config
from monitor.migrate import upgrade
from monitor.report import Scope, Week, build, load
from monitor.report_job import due_week
from monitor.report_render import write
from monitor.simulate import TrafficSimulator
from monitor.store import Store
from monitor.testing import WorkerProcess, metric_value, wait_until

pytestmark = pytest.mark.integration

WEEK = Week.parse("2026-W47")
TUESDAY = datetime(2026, 11, 17, 9, tzinfo=UTC)
THURSDAY = datetime(2026, 11, 19, 14, tzinfo=UTC)
PER_BATCH = 8_000  # 80 simulated seconds at 100/s; each drift starts after 40 s
BAD = [b"not json at all", b'{"sample_id": "x"}', b"\xff\xfe"]
REPORTED_AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[1] / "docs"


class Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/slack"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def config(url: str, tmp: Path, hook: str) -> Config:
    tag = uuid.uuid4().hex[:8]
    return parse_config(
        {
            "broker": {
                "topics": {k: f"{k}-{tag}" for k in ("samples", "verdicts", "drift_events", "dlq")},
                "app_id": f"driftmon-{tag}",
            },
            "store": {"url": url},
            "worker": {"flush_interval": 1.0},
            "detectors": {"name": "adwin"},
            "lifecycle": {"auto_resolve": False},
            "simulator": {
                "rate": 100,
                "seed": 11,
                "bad_fraction": 0.0,
                "drift": None,
                "locales": {"en-US": 1.0},  # one stream per model and surface: more power
            },
            "report": {
                "check_interval": 1.0,
                "schedule": {"weekday": "monday", "hour": 0},
                "out_dir": str(tmp / "scheduled"),
                "webhooks": [hook],
                "exemplars_per_kind": 2,
            },
        }
    )


def publish(bootstrap: str, cfg: Config) -> int:
    """Both drifting batches and the bad messages, stamped with their simulated times."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    topic = cfg.broker.topics.samples
    sent = 0
    for start, model, seed in ((TUESDAY, "atlas-2", 11), (THURSDAY, "atlas-3", 12)):
        drift = {"after_seconds": 40, "model": model, "surface": "chat", "factor": 3.0}
        sim_cfg = Simulator.model_validate(
            {**cfg.simulator.model_dump(), "seed": seed, "drift": drift}
        )
        for m in TrafficSimulator(sim_cfg, start).take(PER_BATCH):
            at = int((start + timedelta(seconds=m.offset_seconds)).timestamp() * 1000)
            producer.send(topic, key=m.key, value=m.value, timestamp_ms=at)
            sent += 1
    for i, payload in enumerate(BAD):
        at = int((TUESDAY + timedelta(minutes=i)).timestamp() * 1000)
        producer.send(topic, key=b"bad", value=payload, timestamp_ms=at)
    producer.flush()
    producer.close()
    return sent


def numbers(report: dict[str, Any]) -> dict[str, Any]:
    """Everything but the exemplars (each worker's reservoir draws its own)."""
    events = [{k: v for k, v in e.items() if k != "exemplars"} for e in report["events"]]
    return {**report, "events": events}


def chromium_check(html: Path, tmp: Path) -> dict[str, str]:
    """Load the page in headless Chromium and count images that did not decode."""
    probe = tmp / "probe.html"
    script = (
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "document.body.dataset.images=imgs.length;"
        "document.body.dataset.broken=imgs.filter(i=>!(i.complete&&i.naturalWidth>0)).length;"
        "});</script></body>"
    )
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", script), "utf-8")
    out = subprocess.run(
        [*CHROMIUM, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    body = re.search(r"<body([^>]*)>", out)
    assert body is not None, out[:500]
    return dict(re.findall(r'data-(\w+)="([^"]*)"', body.group(1)))


CHROMIUM = [
    shutil.which("chromium") or "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
]


def test_reports_from_a_real_run_agree_across_backends_and_render(
    broker: EmbeddedBroker,
    pg_url: str,
    tmp_path: Path,
    webhook: str,
    request: pytest.FixtureRequest,
) -> None:
    urls = {"sqlite": f"sqlite:///{tmp_path / 'driftmon.db'}", "postgresql": pg_url}
    cfgs = {}
    for name, url in urls.items():
        upgrade(url)
        cfgs[name] = config(url, tmp_path / name, webhook)
        ensure_topics(broker.bootstrap, cfgs[name].broker.topics, cfgs[name].broker.partitions)
    sent = {name: publish(broker.bootstrap, cfg) for name, cfg in cfgs.items()}
    stores = {name: Store(url) for name, url in urls.items()}
    request.addfinalizer(lambda: [store.close() for store in stores.values()])
    due = due_week(datetime.now(UTC), cfgs["sqlite"].report.schedule)  # type: ignore[arg-type]

    def counted(name: str) -> bool:
        return sum(r.samples for r in stores[name].counts()) == sent[name]

    with (
        WorkerProcess(cfgs["sqlite"], broker.bootstrap, tmp_path / "w-sqlite") as w1,
        WorkerProcess(cfgs["postgresql"], broker.bootstrap, tmp_path / "w-pg") as w2,
    ):
        try:
            for name in urls:
                wait_until(lambda n=name: counted(n), 300, f"every sample counted in {name}")
            wait_until(lambda: len(Hook.received) >= 2, 60, "both workers' scheduled summaries")
            # Events reach the store one hop after the counts (the drift-events topic).
            ids = lambda n: {e.id for e in stores[n].events()}  # noqa: E731
            wait_until(
                lambda: ids("sqlite") and ids("sqlite") == ids("postgresql"),
                60,
                "the same drift events in both stores",
            )
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{w1.log()}\n{w2.log()}") from None
        assert w1.running and w2.running, w1.log() + w2.log()
    assert len(Hook.received) == 2, "each store's week is announced once"
    assert all(str(due) in payload["text"] for payload in Hook.received)

    events = stores["sqlite"].events()
    drifted = {(e.segment["model"], e.change_ts.date()) for e in events if e.metric == "refusal"}
    assert ("atlas-2", TUESDAY.date()) in drifted and ("atlas-3", THURSDAY.date()) in drifted
    acked = min(
        (
            e
            for e in events
            if e.segment["model"] == "atlas-2" and e.metric == "refusal" and e.direction == "up"
        ),
        key=lambda e: e.id,
    )
    for store in stores.values():
        store.acknowledge(
            acked.id, by="policy-oncall", at=acked.detected_ts + timedelta(minutes=25)
        )

    reports = {
        name: build(load(store, WEEK, Scope(), REPORTED_AT)) for name, store in stores.items()
    }
    assert numbers(reports["sqlite"]) == numbers(reports["postgresql"])
    report = reports["sqlite"]
    assert report["data_quality"]["samples"] == 2 * PER_BATCH
    assert report["data_quality"]["dlq_total"] == len(BAD)
    by_id = {e["id"]: e for e in report["events"]}
    assert by_id[acked.id]["timeline"]["acknowledged_by"] == "policy-oncall"
    assert by_id[acked.id]["timeline"]["ack_after_detection_s"] == 25 * 60
    assert by_id[acked.id]["exemplars"], "exemplars from around the change"
    unacked = {o["owner"] for o in report["questions"]["unacknowledged"]}
    assert unacked, "the atlas-3 drift is still unacknowledged"
    assert {e["segment"]["model"] for e in report["events"] if e["status"] == "open"} >= {"atlas-3"}
    leaked = [x["prompt"] for e in report["events"] for x in e["exemplars"] if "@" in x["prompt"]]
    assert leaked == []

    [html] = write(report, "html", tmp_path / "out")
    seen = chromium_check(html, tmp_path)
    assert seen == {"images": "2", "broken": "0"}, seen
    for src in re.findall(r"src='data:image/png;base64,([^']+)'", html.read_text()):
        assert base64.b64decode(src)[:8] == b"\x89PNG\r\n\x1a\n"
    shot = tmp_path / "first-page.png"
    subprocess.run(
        [*CHROMIUM, "--window-size=1280,1600", f"--screenshot={shot}", html.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("DRIFTMON_SAVE_REPORT_EXAMPLE"):
        shutil.copy(shot, DOCS / "report-example.png")


def test_a_graceful_stop_writes_the_report_data_of_the_hour_in_progress(
    broker: EmbeddedBroker, tmp_path: Path, webhook: str
) -> None:
    """Exemplars are stored once their hour is over, tallies at each flush: a worker stopped
    before either (here the flush timer never fires) still leaves them in the store."""
    url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    upgrade(url)
    cfg = config(url, tmp_path, webhook)
    cfg = cfg.model_copy(update={"worker": cfg.worker.model_copy(update={"flush_interval": 3600})})
    ensure_topics(broker.bootstrap, cfg.broker.topics, cfg.broker.partitions)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20)
    samples = TrafficSimulator(cfg.simulator, TUESDAY).take(600)  # six simulated seconds
    for m in samples:
        producer.send(cfg.broker.topics.samples, key=m.key, value=m.value)
    for payload in BAD:
        producer.send(cfg.broker.topics.samples, key=b"bad", value=payload)
    producer.flush()
    producer.close()
    with WorkerProcess(cfg, broker.bootstrap, tmp_path / "worker") as worker:
        wait_until(
            lambda: (
                metric_value(worker.metrics_url, "driftmon_samples_received_total")
                == len(samples) + len(BAD)
            ),
            90,
            "every message read",
        )
        store = Store(url)
        assert store.exemplars() == [] and store.dlq_counts() == [], "nothing flushed yet"
    assert "not written at shutdown" not in worker.log(tail=None)
    kept = store.exemplars()
    assert {x.model for x in kept} >= {"atlas-2", "atlas-3"}
    assert sum(d.count for d in store.dlq_counts()) == len(BAD)
    verdicts = sum(c.samples for c in store.classifier_counts() if c.role == "refusal")
    assert verdicts == len(samples)
    store.close()
