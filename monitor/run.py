"""I/O edges behind the CLI commands: the worker process (in this process, or as a subprocess
that `driftmon up` and the tests start), producing files, publishing simulated traffic, offline
classification, and reading a /metrics endpoint. Each calls the same pure stages as the stream."""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

import yaml
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from monitor.broker import ensure_topics, free_port, stop_process, wait_for_port
from monitor.classify import from_config
from monitor.config import Config, parse_config
from monitor.schema import Sample as ChatSample
from monitor.schema import SampleError, parse_sample
from monitor.segments import Segmenter
from monitor.simulate import TrafficSimulator

log = logging.getLogger("driftmon")


def run_worker(cfg: Config, bootstrap: str) -> None:
    """Create missing topics, then run the Faust worker until SIGTERM/SIGINT."""
    import faust.worker

    from monitor.app import build_app

    ensure_topics(
        bootstrap, cfg.broker.topics, cfg.broker.partitions, cfg.broker.replication_factor
    )
    app = build_app(cfg, bootstrap)
    worker = faust.worker.Worker(app, loglevel=cfg.worker.log_level, quiet=True)
    # Faust's terminal spinner sets the root logger to DEBUG, so every debug call of aiokafka
    # and Faust (several per message) builds a LogRecord that the handler then drops.
    worker.spinner = None
    worker.execute_from_commandline()


def producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")


def _sample_key(line: bytes) -> bytes | None:
    """Key by model|surface|locale when the line is readable, so one segment stays in order."""
    try:
        data = json.loads(line)
        return f"{data['model']}|{data['surface']}|{data['locale']}".encode()
    except (ValueError, KeyError, TypeError):
        return None


def produce_file(path: Path, bootstrap: str, topic: str, partitions: int = 4) -> int:
    """Publish every non-blank line unchanged; the worker validates (bad lines go to its DLQ)."""
    ensure_topics(bootstrap, [topic], partitions)
    kafka = producer(bootstrap)
    sent = 0
    with path.open("rb") as handle:
        for line in handle:
            line = line.rstrip(b"\r\n")
            if line.strip():
                kafka.send(topic, key=_sample_key(line), value=line)
                sent += 1
    kafka.flush()
    kafka.close()
    return sent


def pace(messages: Iterable, start: float, stop: threading.Event | None = None) -> Iterator:
    """Yield simulated messages no sooner than their offset from ``start`` (monotonic time)."""
    for message in messages:
        if stop is not None and stop.is_set():
            return
        delay = start + message.offset_seconds - time.monotonic()
        if delay > 0:
            if stop is not None:
                if stop.wait(delay):
                    return
            else:
                time.sleep(delay)
        yield message


def publish_simulation(
    cfg: Config,
    bootstrap: str,
    duration: float,
    paced: bool = True,
    stop: threading.Event | None = None,
) -> int:
    """Publish ``duration`` seconds of simulated traffic; returns how many messages were sent."""
    ensure_topics(bootstrap, [cfg.broker.topics.samples], cfg.broker.partitions)
    sim = TrafficSimulator(cfg.simulator, datetime.now(UTC))
    messages: Iterable = itertools.takewhile(lambda m: m.offset_seconds < duration, sim)
    if paced:
        messages = pace(messages, time.monotonic(), stop)
    kafka = producer(bootstrap)
    sent = 0
    for message in messages:
        if stop is not None and stop.is_set():
            break
        kafka.send(cfg.broker.topics.samples, key=message.key, value=message.value)
        sent += 1
    kafka.flush()
    kafka.close()
    return sent


def classify_file(
    path: Path, cfg: Config, out: IO[str], progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Write one verdict per good line, classified in batches as the worker does; report bad
    lines on the log with their line number. ``progress`` hears the bytes read (a bar)."""
    stack = from_config(cfg.classifiers)
    segmenter = Segmenter(cfg.segments)
    good = bad = 0
    batch: list[tuple[ChatSample, dict[str, str]]] = []

    def write(batch: list[tuple[ChatSample, dict[str, str]]]) -> None:
        for verdict in stack.classify_many(*zip(*batch, strict=True)):
            out.write(verdict.model_dump_json() + "\n")

    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if progress is not None:
                progress(len(line))
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                sample = parse_sample(line, cfg.worker.max_sample_bytes)
            except SampleError as exc:
                log.warning("%s:%d: skipped (%s: %s)", path, number, exc.reason, exc.detail)
                bad += 1
                continue
            batch.append((sample, segmenter.segment(sample)))
            good += 1
            if len(batch) >= cfg.worker.batch_size:
                write(batch)
                batch = []
    if batch:
        write(batch)
    return good, bad


def scrape(url: str, timeout: float = 5.0) -> list[Sample]:
    """Every sample of a Prometheus /metrics endpoint."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


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

    def log(self, tail: int | None = 4000) -> str:
        """The last ``tail`` characters of the worker's output (all of it with ``None``: a
        broker outage can log more than a tail between two looks)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-tail:] if tail else text

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

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
