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
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaConsumer
from rich.console import Console
from rich.markup import escape

from monitor.broker import EmbeddedBroker, ensure_topics
from monitor.config import Config
from monitor.event_view import printable
from monitor.migrate import upgrade
from monitor.run import WorkerProcess, publish_simulation, scrape
from monitor.schema import DriftEvent

console = Console(highlight=False, soft_wrap=True)


def totals(url: str) -> dict[str, float]:
    """Each sample name of a /metrics endpoint, summed over its labels."""
    sums: dict[str, float] = {}
    for sample in scrape(url):
        sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


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
    store = cfg.store.model_copy(update={"url": url})
    worker = WorkerProcess(cfg.model_copy(update={"store": store}), broker.bootstrap, run_dir)
    publisher: threading.Thread | None = None
    try:
        try:
            worker.start(timeout=60)
        except TimeoutError:
            console.print(f"[red]worker did not start; see {worker.log_path}[/]")
            return 1
        console.print(f"worker  pid {worker.pid}, metrics at {worker.metrics_url}")
        drift = cfg.simulator.drift
        if drift is not None:
            where = ", ".join(
                f"{k}={v}" for k in ("model", "surface", "locale") if (v := getattr(drift, k))
            )
            console.print(
                f"traffic {cfg.simulator.rate:g} samples/s; after {drift.after_seconds:g}s the "
                f"{drift.metric} rate of {where or 'all traffic'} is multiplied by {drift.factor:g}"
                + (f" until {drift.until_seconds:g}s" if drift.until_seconds is not None else "")
            )
        publisher = threading.Thread(
            target=publish_simulation,
            args=(cfg, broker.bootstrap, duration or 10**9, True, stop),
            daemon=True,
        )
        publisher.start()
        return _watch(cfg, broker.bootstrap, worker, duration, stop)
    except KeyboardInterrupt:
        return 0
    finally:
        stop.set()
        if publisher is not None:
            publisher.join(timeout=10)
        console.print("stopping worker and broker …")
        worker.stop()


def _watch(
    cfg: Config,
    bootstrap: str,
    worker: WorkerProcess,
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
        if not worker.running:
            console.print(f"[red]the worker exited with code {worker.returncode}[/]")
            return 1
        shown += _show(events)
        if time.monotonic() >= next_progress:
            with contextlib.suppress(OSError):
                line, processed = _progress(totals(worker.metrics_url), last)
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
        console.print(f"[bold {colour}]DRIFT[/] {escape(printable(event.describe()))}")
        shown += 1
