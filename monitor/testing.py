"""A testing toolkit shipped with driftmon, so a whole-pipeline test reads in a few lines.

- :class:`ListStore`: an in-memory store with the real store's interface (a fake sink);
- :class:`WorkerProcess`: a real ``driftmon worker`` subprocess with its own config, stopped
  (process group and all) when the ``with`` block ends;
- :func:`wait_until`: a bounded wait that says what it was waiting for when it gives up;
- :func:`metric_value`: one series' value from a /metrics endpoint;
- :func:`consume`: a topic's records from the beginning, with a bounded wait.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import yaml
from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from monitor.broker import free_port, stop_process, wait_for_port
from monitor.config import Config, parse_config
from monitor.counts import CountRow, combine
from monitor.schema import DriftEvent, EventStatus

T = TypeVar("T")


class ListStore:
    """In-memory stand-in for :class:`monitor.store.Store` (same methods, same idempotence)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.saved: dict[str, DriftEvent] = {}
        self.cells: dict[tuple, CountRow] = {}
        self.states: dict[str, dict] = {}

    def add_events(self, events: Iterable[DriftEvent]) -> int:
        new = 0
        for event in events:
            if event.id not in self.saved:
                self.saved[event.id] = event
                new += 1
        return new

    def add_counts(self, rows: Iterable[CountRow]) -> None:
        for row in rows:
            old = self.cells.get(row.key)
            self.cells[row.key] = row if old is None else combine(old, row)

    def counts(self, start: datetime | None = None, end: datetime | None = None) -> list[CountRow]:
        return [
            row
            for key, row in sorted(self.cells.items())
            if (start is None or row.hour >= start) and (end is None or row.hour < end)
        ]

    def events(self, since: datetime | None = None) -> list[DriftEvent]:
        return [e for e in self.saved.values() if since is None or e.detected_ts >= since]

    def save_states(self, states: dict[str, dict], at: datetime) -> None:
        self.states.update(states)

    def load_states(self) -> dict[str, dict]:
        return dict(self.states)

    def set_status(self, event_id: str, status: EventStatus) -> bool:
        event = self.saved.get(event_id)
        if event is None:
            return False
        self.saved[event_id] = event.model_copy(update={"status": status})
        return True

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call ``check`` until it returns something truthy; TimeoutError naming ``what`` if never."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what} (last: {last!r})")


def metric_value(url: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[bytes]:
    """Read a topic from the beginning until ``expected`` records came (bounded wait)."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    got: list[bytes] = []

    def poll() -> bool:
        for batch in consumer.poll(timeout_ms=500).values():
            got.extend(r.value for r in batch)
        return len(got) >= expected

    try:
        wait_until(poll, timeout, f"{expected} record(s) on {topic}")
    finally:
        consumer.close()
    return got


class WorkerProcess:
    """``driftmon worker`` in a subprocess against ``bootstrap``; ``metrics_url`` to scrape it."""

    def __init__(self, cfg: Config, bootstrap: str, workdir: Path) -> None:
        data = cfg.model_dump(mode="json")
        data["broker"]["bootstrap_servers"] = bootstrap
        data["worker"]["web_port"] = free_port()
        data["worker"]["data_dir"] = str(workdir / "worker")
        self.cfg = parse_config(data)
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "worker.yaml"
        self.config_path.write_text(yaml.safe_dump(data))
        self.log_path = workdir / "worker.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://{self.cfg.worker.web_host}:{self.cfg.worker.web_port}/metrics"

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "worker", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_for_port(self.cfg.worker.web_host, self.cfg.worker.web_port, timeout):
            self.stop()
            raise TimeoutError(f"worker did not serve metrics within {timeout:.0f}s: {self.log()}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, grace=15.0)
            self._proc = None

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
