"""`driftmon up`: the whole flow on one machine, with nothing left behind when it stops.

Starts, in order: the store (migrations applied), the embedded broker and its topics, a worker
subprocess, and a simulator thread publishing paced traffic with a drift. The terminal shows
progress read from the worker's own /metrics endpoint and one line per drift event read from
the drift-events topic, exactly as a user of the real deployment would see them.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import yaml
from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from monitor.broker import EmbeddedBroker, ensure_topics, free_port, stop_process, wait_for_port
from monitor.config import Config, parse_config
from monitor.migrate import upgrade
from monitor.run import publish_simulation
from monitor.schema import DriftEvent

console = Console(highlight=False, soft_wrap=True)


def scrape(url: str, timeout: float = 2.0) -> dict[str, float]:
    """Sum of each ``driftmon_*`` sample name over its labels, from a /metrics endpoint."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def _effective(cfg: Config, bootstrap: str, run_dir: Path, store_url: str) -> Path:
    data = cfg.model_dump(mode="json")
    data["broker"]["bootstrap_servers"] = bootstrap
    data["worker"]["web_port"] = free_port()
    data["worker"]["data_dir"] = str(run_dir / "worker")
    data["store"]["url"] = store_url
    parse_config(data)  # still valid
    path = run_dir / "effective-config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_worker(config_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "worker", "--config", str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def drift_events(bootstrap: str, topic: str, stop: threading.Event) -> Iterator[DriftEvent]:
    """Every drift event on the topic (once each, by id) until ``stop`` is set."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    seen: set[str] = set()
    try:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    event = DriftEvent.model_validate_json(record.value)
                    if event.id not in seen:
                        seen.add(event.id)
                        yield event
    finally:
        consumer.close()


def _progress(totals: dict[str, float], last: tuple[float, float]) -> tuple[str, float]:
    processed = totals.get("driftmon_samples_received_total", 0.0)
    now = time.monotonic()
    rate = (processed - last[1]) / max(now - last[0], 1e-6)
    line = (
        f"[dim]{time.strftime('%H:%M:%S')}[/] processed {int(processed):,} samples "
        f"· {rate:,.0f}/s · DLQ {int(totals.get('driftmon_dlq_messages_total', 0)):,} "
        f"· unclassified {int(totals.get('driftmon_unclassified_total', 0)):,} "
        f"· drift events {int(totals.get('driftmon_drift_events_total', 0))}"
    )
    return line, processed


def run_up(
    cfg: Config,
    duration: float | None = None,
    rate: float | None = None,
    store_url: str | None = None,
    run_dir: Path = Path(".driftmon"),
) -> int:
    """Run everything until ``duration`` elapses or Ctrl-C; returns the exit code."""
    if rate is not None:
        cfg = cfg.model_copy(update={"simulator": cfg.simulator.model_copy(update={"rate": rate})})
    run_dir.mkdir(parents=True, exist_ok=True)
    url = store_url or cfg.store.url
    console.print(f"store   {url.split('@')[-1]}: applying migrations")
    upgrade(url)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with EmbeddedBroker(log_path=run_dir / "broker.log") as broker:
            return _run(cfg, broker, run_dir, url, duration, stop)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(
    cfg: Config,
    broker: EmbeddedBroker,
    run_dir: Path,
    url: str,
    duration: float | None,
    stop: threading.Event,
) -> int:
    b = cfg.broker
    console.print(f"broker  pid {broker.pid}, Tansu on {broker.bootstrap} (memory storage)")
    ensure_topics(broker.bootstrap, b.topics, b.partitions)
    config_path = _effective(cfg, broker.bootstrap, run_dir, url)
    effective = parse_config(yaml.safe_load(config_path.read_text()))
    web = f"http://{effective.worker.web_host}:{effective.worker.web_port}"
    worker = start_worker(config_path, run_dir / "worker.log")
    publisher: threading.Thread | None = None
    try:
        if not wait_for_port(effective.worker.web_host, effective.worker.web_port, 60):
            console.print(f"[red]worker did not start; see {run_dir / 'worker.log'}[/]")
            return 1
        console.print(f"worker  pid {worker.pid}, metrics at {web}/metrics")
        drift = cfg.simulator.drift
        if drift is not None:
            where = ", ".join(
                f"{k}={v}" for k in ("model", "surface", "locale") if (v := getattr(drift, k))
            )
            console.print(
                f"traffic {cfg.simulator.rate:g} samples/s; after {drift.after_seconds:g}s the "
                f"{drift.metric} rate of {where or 'all traffic'} is multiplied by {drift.factor:g}"
            )
        publisher = threading.Thread(
            target=publish_simulation,
            args=(cfg, broker.bootstrap, duration or 10**9, True, stop),
            daemon=True,
        )
        publisher.start()
        return _watch(cfg, broker.bootstrap, web, worker, duration, stop)
    except KeyboardInterrupt:
        return 0
    finally:
        stop.set()
        if publisher is not None:
            publisher.join(timeout=10)
        console.print("stopping worker and broker …")
        stop_process(worker, grace=15.0)


def _watch(
    cfg: Config,
    bootstrap: str,
    web: str,
    worker: subprocess.Popen[bytes],
    duration: float | None,
    stop: threading.Event,
) -> int:
    deadline = time.monotonic() + duration if duration else None
    events: queue.Queue[DriftEvent] = queue.Queue()

    def read() -> None:
        for event in drift_events(bootstrap, cfg.broker.topics.drift_events, stop):
            events.put(event)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    shown = 0
    last = (time.monotonic(), 0.0)
    next_progress = time.monotonic() + 5
    while not stop.is_set():
        if deadline is not None and time.monotonic() >= deadline:
            break
        if worker.poll() is not None:
            console.print(f"[red]the worker exited with code {worker.returncode}[/]")
            return 1
        shown += _show(events)
        if time.monotonic() >= next_progress:
            with contextlib.suppress(OSError):
                line, processed = _progress(scrape(f"{web}/metrics"), last)
                last = (time.monotonic(), processed)
                console.print(line)
            next_progress = time.monotonic() + 5
        time.sleep(0.2)
    stop.set()
    reader.join(timeout=5)
    shown += _show(events)
    console.print(f"done: {shown} drift event(s) reported")
    return 0


def _show(events: queue.Queue[DriftEvent]) -> int:
    shown = 0
    while True:
        try:
            event = events.get_nowait()
        except queue.Empty:
            return shown
        colour = "red" if event.severity == "critical" else "yellow"
        console.print(f"[bold {colour}]DRIFT[/] {event.describe()}")
        shown += 1
