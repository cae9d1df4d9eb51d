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
import hashlib
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

from monitor import plan
from monitor.assign import load_assignor
from monitor.classify import ClassifierStack, from_config
from monitor.config import Config
from monitor.counts import CountRow, HourlyCounts
from monitor.detect import DriftDetection
from monitor.handover import Handover
from monitor.ledger import (
    SOURCE_HEADER,
    UNPARTITIONED,
    Admission,
    Cut,
    Kind,
    Ledger,
    RecentIds,
    position_key,
    source_header,
)
from monitor.metrics import Metrics, consumer_lag
from monitor.report_job import ReportSink, expire_exemplars, run_scheduled
from monitor.schema import (
    DriftEvent,
    Sample,
    SampleError,
    Verdict,
    parse_sample,
    segment_key,
)
from monitor.segments import Segmenter
from monitor.store import Store, StoreError
from monitor.tracking import mount

log = logging.getLogger("driftmon.worker")
M = TypeVar("M", bound=BaseModel)


DLQ_MAX_RAW = 700_000
"""Original bytes a DLQ record keeps: their base64 plus the envelope stay under Kafka's default
message limit of 1 MiB."""


def dlq_record(
    raw: bytes, reason: str, detail: str, source: dict[str, Any], max_raw: int | None = None
) -> bytes:
    """The DLQ envelope: why, where from, and the original bytes (base64), as JSON. Bytes
    beyond ``max_raw`` are cut (with the full size and SHA-256 kept) so the record always fits
    in a Kafka message: an oversized sample must not take the classify agent down with it."""
    kept = raw if max_raw is None else raw[:max_raw]
    record = {
        "reason": reason,
        "detail": detail,
        "source": source,
        "received_at": datetime.now(UTC).isoformat(),
        "raw_b64": base64.b64encode(kept).decode("ascii"),
    }
    if len(kept) < len(raw):
        record["raw_truncated"] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    return json.dumps(record).encode()


@dataclass
class Pipeline:
    """The pure stages and sinks one worker runs; built once, shared by the agents."""

    cfg: Config
    metrics: Metrics = field(default_factory=Metrics)
    stack: ClassifierStack | None = None
    store_factory: Callable[[str], Store] = Store

    def __post_init__(self) -> None:
        c = self.cfg.classifiers
        self.classifiers = self.stack or from_config(c)
        self.metrics.classifiers(self.classifiers.classifiers)
        self.segmenter = Segmenter(self.cfg.segments)
        self.detection = DriftDetection(self.cfg.detectors, self.cfg.owners, self.cfg.severity)
        self.counts: dict[int, HourlyCounts] = {}  # by verdict partition
        self.owed: dict[int, list[CountRow]] = {}  # drained, not yet written, by partition
        self.pending_states: dict[str, dict[str, Any]] = {}
        self.ledger = Ledger()
        self.recent = RecentIds(self.cfg.worker.dedupe_window)
        self.partition_of: dict[str, int] = {}  # verdict key -> verdict partition
        self.metrics.watch(self.detection)
        self.classifiers.observe(self.metrics.classifier_time, self.metrics.classifier_error)
        self._store: Store | None = None
        self.report = ReportSink(self.cfg.report)  # exemplars, DLQ and classifier tallies

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self.store_factory(self.cfg.store.url)
        return self._store

    def retune(self, now: datetime | None = None) -> plan.Tuning:
        """Tune the detectors (per-stream ARL0 from the false-page budget, priors for small
        segments) from the store's traffic of the last 7 days; raises StoreError."""
        tuned = self.tuning(now)
        self.apply(tuned)
        return tuned

    def tuning(self, now: datetime | None = None) -> plan.Tuning:
        """What :meth:`retune` applies, read from the store (blocking I/O: run it in a thread)."""
        now = now or datetime.now(UTC)
        return plan.from_counts(self.cfg, *plan.recent_counts(self.store, now), now)

    def apply(self, tuned: plan.Tuning) -> None:
        """Hand a tuning to the detectors (on the thread that feeds them)."""
        moved = self.detection.retune(tuned)
        if tuned.streams:
            pooled = sum("prior_rate" in v for v in tuned.streams.values())
            log.info(
                "detectors tuned from %d streams' traffic of the last 7 days (budget %s false "
                "page(s)/week; %d running detectors moved; %d small streams pool toward "
                "their parent)",
                len(tuned.streams),
                tuned.budget,
                moved,
                pooled,
            )

    def classify(self, raw: bytes) -> Verdict:
        """Parse and classify one message; raises SampleError for the DLQ."""
        (outcome,) = self.classify_many([raw])
        if isinstance(outcome, SampleError):
            raise outcome
        return outcome

    def parse(self, raw: bytes) -> Sample:
        """A valid Sample not seen recently (see ``worker.dedupe_window``), or SampleError."""
        sample = parse_sample(raw, self.cfg.worker.max_sample_bytes)
        if self.recent.seen(sample.sample_id):
            raise SampleError("duplicate", f"sample_id {sample.sample_id!r} was seen recently")
        return sample

    def classify_many(self, raws: list[bytes]) -> list[Verdict | SampleError]:
        """:meth:`classify` for a batch, in order: a verdict, or the SampleError for the DLQ.
        Same verdicts and metrics as one call per message; the classifiers get one call per
        batch where they offer one."""
        started = time.perf_counter()
        self.metrics.received.inc(len(raws))
        self.metrics.last_sample_at = time.time()
        parsed: list[Sample | SampleError] = []
        for raw in raws:
            try:
                parsed.append(self.parse(raw))
            except SampleError as exc:
                parsed.append(exc)
        good = [s for s in parsed if isinstance(s, Sample)]
        segments = [self.segmenter.segment(s) for s in good]
        verdicts = iter(self.classifiers.classify_many(good, segments))
        out = [next(verdicts) if isinstance(s, Sample) else s for s in parsed]
        each = (time.perf_counter() - started) / max(len(raws), 1)
        for sample, verdict in zip(parsed, out, strict=True):
            if isinstance(sample, Sample) and isinstance(verdict, Verdict):
                self.metrics.verdict(verdict)
                self.report.gather(sample, verdict)
                self.metrics.latency.observe(each)
        return out

    def detect(
        self, verdict: Verdict, partition: int = UNPARTITIONED, admission: Admission | None = None
    ) -> list[DriftEvent]:
        """Count and observe one verdict; ``admission`` (from the ledger) may skip either."""
        if admission is not None and not admission.apply:
            self.metrics.skipped.labels(admission.reason).inc()
            return []
        if partition != UNPARTITIONED:
            self.partition_of[_key(verdict).decode()] = partition
        if admission is None or admission.count:
            counts = self.counts.get(partition)
            if counts is None:
                counts = self.counts[partition] = HourlyCounts()
            counts.add(verdict)
        if admission is None or admission.detect:
            return self.detection.observe(verdict)
        return []

    @property
    def pending_counts(self) -> list[CountRow]:
        """Counts drained but not written yet (a failed write keeps them here)."""
        return [row for rows in self.owed.values() for row in rows]

    def record(self, event: DriftEvent) -> None:
        """Store one event (idempotent); counted in metrics only the first time."""
        if self.store.add_events([event]):
            self.metrics.events([event])

    def take_writes(self, states: bool = True, everything: bool = False) -> Writes:
        """What the store is owed: counts, and detector states if ``states``, each with the
        ledger's cut of how far it goes. Call on the event loop's thread (it reads the live
        state); write the result anywhere with :meth:`write`."""
        for partition, counts in self.counts.items():
            if len(counts):
                self.owed.setdefault(partition, []).extend(counts.drain())
        owed, self.owed = self.owed, {}
        taken: dict[str, dict[str, Any]] = {}
        if states:
            snapshot = self.detection.snapshot(only_dirty=not everything)
            for state in snapshot.values():
                state["partition"] = self._partition_of_stream(state["segment"])
            taken = {**self.pending_states, **snapshot}
            self.pending_states = {}
        counts = [row for rows in owed.values() for row in rows]
        states_cut = self.ledger.cut("states") if states else {}
        return Writes(counts, taken, owed, self.ledger.cut("counts"), states_cut)

    def _partition_of_stream(self, segment: dict[str, str]) -> int:
        key = segment_key({k: v for k, v in segment.items() if k != "policy_area"})
        return self.partition_of.get(key, UNPARTITIONED)

    def positions(self, kind: Kind, cuts: dict[int, Cut]) -> dict[str, dict[str, Any]]:
        """The ledger's cuts as checkpoint rows, keyed by :func:`position_key`."""
        b = self.cfg.broker
        return {
            position_key(b.app_id, b.topics.verdicts, p, kind): {
                "offset": c.offset,
                "sources": c.to_json(),
            }
            for p, c in cuts.items()
        }

    def write(self, writes: Writes) -> tuple[Writes, StoreError | None]:
        """Write counts then states; returns what was not written, and why. Touches only the
        store, so it can run in a thread; hand the remainder back with :meth:`requeue`."""
        try:
            if writes.counts or writes.counts_cut:
                if writes.counts_cut:
                    positions = self.positions("counts", writes.counts_cut)
                    self.store.add_counts(writes.counts, positions, datetime.now(UTC))
                else:
                    self.store.add_counts(writes.counts)
                self.ledger.stored("counts", writes.counts_cut)
        except StoreError as exc:
            self.metrics.store_errors.labels("counts").inc()
            self.metrics.store_up.set(0)
            return writes, exc
        try:
            if writes.states or writes.states_cut:
                positions = self.positions("states", writes.states_cut)
                self.store.save_states({**writes.states, **positions}, datetime.now(UTC))
                self.ledger.stored("states", writes.states_cut)
        except StoreError as exc:
            self.metrics.store_errors.labels("detector_state").inc()
            self.metrics.store_up.set(0)
            return Writes([], writes.states, {}, {}, writes.states_cut), exc
        if writes.counts or writes.states:
            self.metrics.store_up.set(1)
        return Writes([], {}), None

    def requeue(self, unwritten: Writes) -> None:
        """Keep what a failed write left for the next one (on the event loop's thread); the
        next write carries a newer cut, which covers these too."""
        owed = unwritten.owed or ({UNPARTITIONED: unwritten.counts} if unwritten.counts else {})
        for partition, rows in owed.items():
            self.owed[partition] = rows + self.owed.get(partition, [])
        self.pending_states = {**unwritten.states, **self.pending_states}

    def release(self, partitions: set[int]) -> None:
        """Verdict partitions went to another worker: forget their streams, counts and
        positions. Whatever of theirs was not written yet, the new owner replays from the
        store's cuts, so dropping it here is what keeps every verdict counted once."""
        if not partitions:
            return
        for key, partition in list(self.partition_of.items()):
            if partition in partitions:
                del self.partition_of[key]
        for partition in partitions:
            self.counts.pop(partition, None)
            self.owed.pop(partition, None)
            self.ledger.forget(partition)
        self.pending_states = {
            k: v for k, v in self.pending_states.items() if v.get("partition") not in partitions
        }
        self.detection.drop(lambda segment: self._partition_of_stream(segment) in partitions)

    def resume(self, partitions: set[int], stored: dict[str, dict[str, Any]]) -> int:
        """Take verdict partitions over from the store's checkpoints (``stored``, as read by
        ``Store.load_states``): their cuts into the ledger, their streams into the detectors.
        Returns how many detector streams continue a baseline."""
        b = self.cfg.broker
        for partition in partitions:
            cuts = {
                kind: stored.get(position_key(b.app_id, b.topics.verdicts, partition, kind))
                for kind in ("counts", "states")
            }
            counts, states = (
                Cut.from_json(c["offset"], c.get("sources")) if c else None
                for c in (cuts["counts"], cuts["states"])
            )
            self.ledger.resume(partition, counts, states)
        mine = {k: v for k, v in stored.items() if v.get("partition") in partitions}
        for state in mine.values():
            key = segment_key({k: v for k, v in state["segment"].items() if k != "policy_area"})
            self.partition_of[key] = state["partition"]
        return self.detection.restore(mine)

    def flush(self, everything: bool = False) -> Writes:
        """Take and write everything owed in one go (tests, shutdown); raises StoreError."""
        writes = self.take_writes(everything=everything)
        unwritten, error = self.write(writes)
        self.requeue(unwritten)
        error = error or self.report.write(self.store, self.report.take(everything=True))
        if error is not None:
            raise error
        return writes


@dataclass(frozen=True)
class Writes:
    """What one store write carries: counts (also by verdict partition), detector states, and
    the ledger's cuts saying how far each goes (written in the same transaction)."""

    counts: list[CountRow]
    states: dict[str, dict[str, Any]]
    owed: dict[int, list[CountRow]] = field(default_factory=dict)
    counts_cut: dict[int, Cut] = field(default_factory=dict)
    states_cut: dict[int, Cut] = field(default_factory=dict)


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
        producer_linger=cfg.worker.producer_linger,
        **(
            {"PartitionAssignor": load_assignor(bootstrap, b.topics.samples)}
            if b.assignment == "load"
            else {}
        ),
    )
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    samples = app.topic(b.topics.samples, **raw)
    # No acks: the handover commits verdict offsets only once the store holds them.
    verdicts = app.topic(b.topics.verdicts, acks=False, **raw)
    handover = Handover(app, p, b.topics.verdicts)
    drift_events = app.topic(b.topics.drift_events, **raw)
    dlq = app.topic(b.topics.dlq, **raw)

    async def to_dlq(value: bytes, reason: str, detail: str, message: Any) -> None:
        source = {"topic": message.topic, "partition": message.partition, "offset": message.offset}
        p.metrics.dlq.labels(reason).inc()
        p.report.dlq(reason, message.timestamp)
        record = dlq_record(value, reason, detail, source, DLQ_MAX_RAW)
        await dlq.send(key=message.key, value=record)

    @app.agent(samples)
    async def classify(stream: faust.StreamT) -> None:
        """Batches of samples: one classifier call per batch where the stack allows it."""
        w = cfg.worker
        async for events in stream.take_events(w.batch_size, within=w.batch_within):
            try:
                results = p.classify_many([event.value or b"" for event in events])
            except Exception as exc:  # a bug must not stop the stream: the DLQ keeps the batch
                results = [internal_error(exc, event.message) for event in events]
            for event, verdict in zip(events, results, strict=True):
                await send_verdict(event, verdict)

    async def send_verdict(event: Any, verdict: Verdict | SampleError) -> None:
        if isinstance(verdict, SampleError):
            await to_dlq(event.value or b"", verdict.reason, verdict.detail, event.message)
            return
        source = source_header(event.message.partition, event.message.offset)
        await verdicts.send(
            key=_key(verdict),
            value=verdict.model_dump_json().encode(),
            headers={SOURCE_HEADER: source},
        )
        p.metrics.verdicts_sent.inc()
        if event.message.timestamp:
            p.metrics.processing.observe(max(0.0, time.time() - event.message.timestamp))

    def internal_error(exc: Exception, message: Any) -> SampleError:
        """Log (the type only: the message may hold sample text) and say why, for the DLQ."""
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        log.error("internal error (%s) on %s; sent to the DLQ", type(exc).__name__, where)
        return SampleError("internal_error", repr(exc)[:500])

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
            admission = await handover.admit(event.message)
            if not admission.apply:
                p.metrics.skipped.labels(admission.reason).inc()
                continue
            verdict = await decode(event, Verdict, "bad_verdict")
            if verdict is None:
                continue
            try:
                drifts = p.detect(verdict, event.message.partition, admission)
            except Exception as exc:  # as in classify: the stream goes on, the DLQ says why
                error = internal_error(exc, event.message)
                await to_dlq(event.value or b"", error.reason, error.detail, event.message)
                continue
            for drift in drifts:
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

    write = handover.write
    app.on_partitions_revoked.connect(lambda app, revoked, **_: handover.on_revoked(revoked))
    app.on_partitions_assigned.connect(lambda app, assigned, **_: handover.on_assigned(assigned))

    @app.timer(cfg.worker.broker_check_interval)
    async def check_broker() -> None:
        await handover.check_broker(bootstrap)

    @app.timer(cfg.worker.flush_interval)
    async def flush_counts() -> None:
        await write(p.take_writes(states=False))
        error = await asyncio.to_thread(p.report.write, p.store, p.report.take())
        if error is not None:
            log.error("report exemplars and tallies deferred to the next flush: %s", error)

    @app.timer(cfg.report.check_interval)
    async def weekly_report() -> None:
        """Expire old exemplars; write and announce the weekly report when it is due."""
        now = datetime.now(UTC)
        try:
            await asyncio.to_thread(expire_exemplars, p.store, now, cfg.report.retention_days)
            await asyncio.to_thread(run_scheduled, cfg, p.store, now)
        except Exception as exc:  # a report must never stop the worker
            log.error("weekly report or exemplar retention failed: %s", exc)

    @app.timer(cfg.detectors.retune_interval)
    async def retune() -> None:
        """Follow the traffic: new streams and changed volumes get their budget share."""
        try:
            tuned = await asyncio.to_thread(p.tuning)
        except StoreError as exc:
            log.error("detector tuning kept as it was (store unreachable): %s", exc)
        else:
            p.apply(tuned)  # here, on the loop: the detect agent is not mid-update

    @app.timer(cfg.worker.checkpoint_interval)
    async def checkpoint() -> None:
        """Detector state is costlier to take (about 1 ms a stream), so it goes less often."""
        await write(p.take_writes())

    @app.timer(cfg.worker.lag_interval)
    async def refresh_lag() -> None:
        """Consumer lag per assigned partition: end offset minus committed offset. The end
        offsets are the ones the last fetches brought (no broker call: a call would hold up
        the consumer's thread). A metric never stops the worker: a failed refresh is skipped."""
        try:
            ends = {tp: app.consumer.highwater(tp) for tp in app.consumer.assignment()}
        except Exception as exc:
            log.info("consumer lag not refreshed: %s", exc)
            return
        known = {tp: end for tp, end in ends.items() if end is not None}
        read = {tp: o + 1 for tp, o in app.monitor.tp_read_offsets.items() if o is not None}
        lags = consumer_lag(known, app.monitor.tp_committed_offsets, read)
        p.metrics.lag({(tp.topic, tp.partition): lag for tp, lag in lags.items()})

    @app.on_before_shutdown.connect
    async def flush_on_stop(app: faust.App, **kwargs: Any) -> None:
        """A graceful stop writes the counts and detector state gathered since the last flush
        and commits the verdict offsets they cover, so the next start re-reads nothing; and the
        report's exemplars and tallies, the hour in progress too, which nobody re-reads."""
        if not await handover.write(p.take_writes()):
            log.error("not written at shutdown: the next owner replays from the store's cuts")
        taken = p.report.take(everything=True)
        error = await asyncio.to_thread(p.report.write, p.store, taken)
        if error is not None:
            log.error("report exemplars and tallies not written at shutdown: %s", error)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        body = generate_latest(p.metrics.registry)
        return web.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        """Liveness: the worker answers (200), with broker and store state for people."""
        return web.json({"status": "ok", **handover.health()})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        """Readiness: 503 while the broker or the store is unreachable."""
        health = handover.health()
        ready = health["broker"] == "up" and health["store"] != "down"
        body = {"status": "ready" if ready else "not_ready", **health}
        return web.json(body, status=200 if ready else 503)

    try:  # detector baselines are taken over per verdict partition, on assignment
        p.store.ping()
        p.retune()
    except StoreError as exc:
        p.metrics.store_up.set(0)
        log.error("store unreachable at start; counts and events wait for it: %s", exc)
    else:
        p.metrics.store_up.set(1)
    app.driftmon_pipeline = p  # type: ignore[attr-defined]
    app.driftmon_tracker = mount(app, p)  # type: ignore[attr-defined]
    return app


async def _retry(write: Callable[[], None], p: Pipeline, kind: str) -> None:
    """Retry a store write with capped backoff: an event is never dropped for a store outage."""
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(write)
            p.metrics.store_up.set(1)
            return
        except StoreError as exc:
            p.metrics.store_errors.labels(kind).inc()
            p.metrics.store_up.set(0)
            log.error("store write failed (%s), retrying in %.1fs: %s", kind, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
