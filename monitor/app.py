"""The composition root: the one place that knows about Kafka and Faust.

It wires the pure stages (parse → classify → detect) to topics, and the sinks (metrics, store)
to the edges. Agents are thin shells: decode, call a stage, send. Processing is at-least-once;
writes are idempotent (drift events by id) so a re-delivered message does no harm.

    samples ──classify──► verdicts (keyed by segment) ──detect──► drift-events ──record──► store
       └──► dlq (reason + original bytes)
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError

from monitor.classify import ClassifierStack, build_stack
from monitor.config import Config
from monitor.counts import CountRow, HourlyCounts
from monitor.detect import DriftDetection
from monitor.metrics import Metrics
from monitor.schema import DriftEvent, SampleError, Verdict, parse_sample, segment_key
from monitor.segments import Segmenter
from monitor.store import Store, StoreError

log = logging.getLogger("driftmon.worker")
M = TypeVar("M", bound=BaseModel)


def dlq_record(raw: bytes, reason: str, detail: str, source: dict[str, Any]) -> bytes:
    """The DLQ envelope: why, where from, and the original bytes (base64), as JSON."""
    return json.dumps(
        {
            "reason": reason,
            "detail": detail,
            "source": source,
            "received_at": datetime.now(UTC).isoformat(),
            "raw_b64": base64.b64encode(raw).decode("ascii"),
        }
    ).encode()


@dataclass
class Pipeline:
    """The pure stages and sinks one worker runs; built once, shared by the agents."""

    cfg: Config
    metrics: Metrics = field(default_factory=Metrics)
    stack: ClassifierStack | None = None
    store_factory: Callable[[str], Store] = Store

    def __post_init__(self) -> None:
        c = self.cfg.classifiers
        self.classifiers = self.stack or build_stack(c.stack, c.violation_threshold)
        self.segmenter = Segmenter(self.cfg.segments)
        self.detection = DriftDetection(self.cfg.detectors, self.cfg.owners)
        self.counts = HourlyCounts()
        self.pending_counts: list[CountRow] = []
        self.pending_states: dict[str, dict[str, Any]] = {}
        self.metrics.watch(self.detection)
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self.store_factory(self.cfg.store.url)
        return self._store

    def classify(self, raw: bytes) -> Verdict:
        """Parse and classify one message; raises SampleError for the DLQ."""
        started = time.perf_counter()
        self.metrics.received.inc()
        sample = parse_sample(raw, self.cfg.worker.max_sample_bytes)
        verdict = self.classifiers.classify(sample, self.segmenter.segment(sample))
        self.metrics.verdict(verdict)
        self.metrics.latency.observe(time.perf_counter() - started)
        return verdict

    def detect(self, verdict: Verdict) -> list[DriftEvent]:
        self.counts.add(verdict)
        return self.detection.observe(verdict)

    def record(self, event: DriftEvent) -> None:
        """Store one event (idempotent); counted in metrics only the first time."""
        if self.store.add_events([event]):
            self.metrics.events([event])

    def restore_state(self) -> int:
        """Continue the detectors' baselines from the last checkpoint in the store."""
        return self.detection.restore(self.store.load_states())

    def take_writes(self, states: bool = True, everything: bool = False) -> Writes:
        """What the store is owed: counts, and detector states if ``states``. Call on the event
        loop's thread (it reads the live state); write the result anywhere with :meth:`write`."""
        self.pending_counts.extend(self.counts.drain())
        counts, self.pending_counts = self.pending_counts, []
        taken: dict[str, dict[str, Any]] = {}
        if states:
            taken = {**self.pending_states, **self.detection.snapshot(only_dirty=not everything)}
            self.pending_states = {}
        return Writes(counts, taken)

    def write(self, writes: Writes) -> tuple[Writes, StoreError | None]:
        """Write counts then states; returns what was not written, and why. Touches only the
        store, so it can run in a thread; hand the remainder back with :meth:`requeue`."""
        try:
            if writes.counts:
                self.store.add_counts(writes.counts)
        except StoreError as exc:
            self.metrics.store_errors.labels("counts").inc()
            return writes, exc
        try:
            if writes.states:
                self.store.save_states(writes.states, datetime.now(UTC))
        except StoreError as exc:
            self.metrics.store_errors.labels("detector_state").inc()
            return Writes([], writes.states), exc
        return Writes([], {}), None

    def requeue(self, unwritten: Writes) -> None:
        """Keep what a failed write left for the next one (on the event loop's thread)."""
        self.pending_counts = unwritten.counts + self.pending_counts
        self.pending_states = {**unwritten.states, **self.pending_states}

    def flush(self, everything: bool = False) -> Writes:
        """Take and write everything owed in one go (tests, shutdown); raises StoreError."""
        writes = self.take_writes(everything=everything)
        unwritten, error = self.write(writes)
        self.requeue(unwritten)
        if error is not None:
            raise error
        return writes


@dataclass(frozen=True)
class Writes:
    counts: list[CountRow]
    states: dict[str, dict[str, Any]]


def _key(verdict: Verdict) -> bytes:
    return segment_key({k: v for k, v in verdict.segment.items() if k != "policy_area"}).encode()


def build_app(cfg: Config, bootstrap: str, pipeline: Pipeline | None = None) -> faust.App:
    """A Faust app running the whole flow against the broker at ``bootstrap``."""
    p = pipeline or Pipeline(cfg)
    b = cfg.broker
    app = faust.App(
        b.app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=str(Path(cfg.worker.data_dir).resolve()),
        web_enabled=True,
        web_bind=cfg.worker.web_host,
        web_port=cfg.worker.web_port,
        web_in_thread=False,
        broker_rebalance_timeout=b.rebalance_timeout,
        broker_session_timeout=b.session_timeout,
        broker_heartbeat_interval=b.heartbeat_interval,
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=b.partitions,
        producer_acks=-1,
    )
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    samples = app.topic(b.topics.samples, **raw)
    verdicts = app.topic(b.topics.verdicts, **raw)
    drift_events = app.topic(b.topics.drift_events, **raw)
    dlq = app.topic(b.topics.dlq, **raw)

    async def to_dlq(value: bytes, reason: str, detail: str, message: Any) -> None:
        source = {"topic": message.topic, "partition": message.partition, "offset": message.offset}
        p.metrics.dlq.labels(reason).inc()
        await dlq.send(key=message.key, value=dlq_record(value, reason, detail, source))

    @app.agent(samples)
    async def classify(stream: faust.StreamT) -> None:
        async for event in stream.events():
            value = event.value or b""
            try:
                verdict = p.classify(value)
            except SampleError as exc:
                await to_dlq(value, exc.reason, exc.detail, event.message)
                continue
            await verdicts.send(key=_key(verdict), value=verdict.model_dump_json().encode())

    async def decode(event: Any, model: type[M], reason: str) -> M | None:
        """An internal topic's message as its model, or None after sending it to the DLQ."""
        value = event.value or b""
        try:
            return model.model_validate_json(value)
        except ValidationError as exc:
            await to_dlq(value, reason, str(exc)[:500], event.message)
            return None

    @app.agent(verdicts)
    async def detect(stream: faust.StreamT) -> None:
        async for event in stream.events():
            verdict = await decode(event, Verdict, "bad_verdict")
            if verdict is None:
                continue
            for drift in p.detect(verdict):
                await drift_events.send(
                    key=drift.id.encode(), value=drift.model_dump_json().encode()
                )

    @app.agent(drift_events)
    async def record(stream: faust.StreamT) -> None:
        async for event in stream.events():
            drift = await decode(event, DriftEvent, "bad_drift_event")
            if drift is None:
                continue
            await _retry(lambda d=drift: p.record(d), p, "events")
            log.warning(
                "drift %s %s %s: %.4f -> %.4f",
                drift.metric,
                drift.direction,
                segment_key(drift.segment),
                drift.before.rate,
                drift.after.rate,
            )

    async def write(writes: Writes) -> None:
        unwritten, error = await asyncio.to_thread(p.write, writes)
        p.requeue(unwritten)
        if error is not None:
            log.error("store write deferred to the next flush: %s", error)

    @app.timer(cfg.worker.flush_interval)
    async def flush_counts() -> None:
        await write(p.take_writes(states=False))

    @app.timer(cfg.worker.checkpoint_interval)
    async def checkpoint() -> None:
        """Detector state is costlier to take (about 1 ms a stream), so it goes less often."""
        await write(p.take_writes())

    @app.on_before_shutdown.connect
    async def flush_on_stop(app: faust.App, **kwargs: Any) -> None:
        """A graceful stop writes the counts and detector state gathered since the last flush."""
        try:
            p.flush()
        except StoreError as exc:
            log.error("counts or detector state lost at shutdown, store unavailable: %s", exc)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        body = generate_latest(p.metrics.registry)
        return web.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    try:
        restored = p.restore_state()
    except StoreError as exc:
        log.error("starting cold: detector state could not be loaded: %s", exc)
    else:
        log.warning("continuing %d detector baseline(s) from the store", restored)
    app.driftmon_pipeline = p  # type: ignore[attr-defined]
    return app


async def _retry(write: Callable[[], None], p: Pipeline, kind: str) -> None:
    """Retry a store write with capped backoff: an event is never dropped for a store outage."""
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(write)
            return
        except StoreError as exc:
            p.metrics.store_errors.labels(kind).inc()
            log.error("store write failed (%s), retrying in %.1fs: %s", kind, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
