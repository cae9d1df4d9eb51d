"""I/O edges behind the CLI commands: the worker process, producing files, publishing simulated
traffic, and offline classification. Each calls the same pure stages as the stream."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from kafka import KafkaProducer

from monitor.broker import ensure_topics
from monitor.classify import build_stack
from monitor.config import Config
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


def classify_file(path: Path, cfg: Config, out: IO[str]) -> tuple[int, int]:
    """Write one verdict per good line; report bad lines on the log with their line number."""
    stack = build_stack(cfg.classifiers.stack, cfg.classifiers.violation_threshold)
    segmenter = Segmenter(cfg.segments)
    good = bad = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                sample = parse_sample(line, cfg.worker.max_sample_bytes)
            except SampleError as exc:
                log.warning("%s:%d: skipped (%s: %s)", path, number, exc.reason, exc.detail)
                bad += 1
                continue
            verdict = stack.classify(sample, segmenter.segment(sample))
            out.write(verdict.model_dump_json() + "\n")
            good += 1
    return good, bad
