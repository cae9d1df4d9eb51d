"""Faults on real processes: workers joining, leaving and killed, the broker and the store away.

Every test publishes the same simulated traffic (with a refusal-rate rise in atlas-2/chat) to
topics of its own and checks the outcome against what must be true whatever happened:

- the stored hourly counts hold every sample exactly once (expected cells are computed from the
  raw messages: hour of ``ts`` and model/surface/locale, summed over policy areas);
- the stored drift events are exactly those of an offline backtest over the same messages
  (same ids: the detectors continued from their state, and nothing was reported twice);
- what the workers' /metrics say adds up.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from kafka import KafkaProducer

from monitor.assign import deal, partition_sizes
from monitor.backtest import backtest
from monitor.broker import EmbeddedBroker, ensure_topics, free_port
from monitor.config import Config, parse_config
from monitor.counts import hour_of
from monitor.migrate import upgrade
from monitor.simulate import SimulatedMessage, TrafficSimulator
from monitor.store import Store
from monitor.testing import WorkerProcess, metric_value, wait_until

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 16, 9, 59, 40, tzinfo=UTC)  # the traffic spans two UTC hours
SAMPLES = 4_000  # 40 simulated seconds at 100/s; the drift starts at 20 s


def scenario(store_url: str, broker: dict[str, object]) -> Config:
    return parse_config(
        {
            "broker": broker,
            "store": {"url": store_url},
            "worker": {"flush_interval": 0.5, "checkpoint_interval": 1.5},
            "detectors": {"name": "adwin", "warmup": 100, "min_samples": 30},
            "simulator": {  # few harmful prompts, so a sixfold refusal rise shows early
                "rate": 100,
                "seed": 23,
                "bad_fraction": 0.0,
                "harmful_share": 0.1,
                "refusal_harmful": 0.5,
                "refusal_benign": 0.05,
                "drift": {"after_seconds": 20, "model": "atlas-2", "surface": "chat", "factor": 6},
            },
        }
    )


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The messages every test publishes, the cells they must count into, and the events an
    offline backtest finds in them."""
    cfg = scenario("sqlite://", {})
    *messages, sentinel = TrafficSimulator(cfg.simulator, START).take(SAMPLES + 1)
    copy = tmp_path_factory.mktemp("traffic") / "samples.jsonl"
    copy.write_bytes(b"".join(m.value + b"\n" for m in messages))
    cells: Counter = Counter()
    for m in messages:
        data = json.loads(m.value)
        ts = datetime.fromisoformat(data["ts"])
        cells[(hour_of(ts), data["model"], data["surface"], data["locale"])] += 1
    events, _ = backtest(cfg, copy)
    assert any(e.metric == "refusal" for e in events), "the scenario must contain a drift"
    return {
        "messages": messages,
        "sentinel": sentinel,
        "cells": cells,
        "events": {e.id for e in events},
    }


def stored_cells(store: Store) -> Counter:
    cells: Counter = Counter()
    for row in store.counts():
        cells[(row.hour, row.model, row.surface, row.locale)] += row.samples
    return cells


def counted(store: Store) -> int:
    return sum(row.samples for row in store.counts())


def publish(bootstrap: str, topic: str, messages: list[SimulatedMessage]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    for m in messages:
        producer.send(topic, key=m.key, value=m.value)
    producer.flush()
    producer.close()


def owned(worker: WorkerProcess) -> list[int]:
    """The verdict partitions a worker owns, from its health endpoint."""
    url = worker.metrics_url.rsplit("/", 1)[0] + "/healthz"
    return httpx.get(url, timeout=5).json()["verdict_partitions"]


def checkpointed(store: Store, partitions: list[int]) -> bool:
    """Some detector stream of these verdict partitions has a checkpoint in the store (what a
    worker taking them over continues; under load the first one can come after a third of the
    traffic is counted)."""
    states = store.load_states().values()
    return any("segment" in s and s.get("partition") in partitions for s in states)


def total(workers: list[WorkerProcess], name: str, **labels: str) -> float:
    return sum(metric_value(w.metrics_url, name, **labels) for w in workers)


def events_stored(store: Store, traffic: dict[str, object]) -> None:
    """Wait until the expected drift events are stored: the record stage writes them after the
    counts of the verdicts that raised them, so counts alone do not say they are in."""
    expected = traffic["events"]
    wait_until(lambda: {e.id for e in store.events()} >= expected, 60, "the events stored")


def check_outcome(store: Store, traffic: dict[str, object]) -> None:
    assert stored_cells(store) == traffic["cells"], "every sample counted exactly once"
    assert {e.id for e in store.events()} == traffic["events"], "the drift reported once"


@pytest.fixture
def setup(
    broker: EmbeddedBroker, topics: dict[str, object], tmp_path: Path
) -> Iterator[tuple[Store, Config]]:
    url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    upgrade(url)
    cfg = scenario(url, topics)
    ensure_topics(broker.bootstrap, cfg.broker.topics, cfg.broker.partitions)
    store = Store(url)
    yield store, cfg
    store.close()


def test_workers_joining_and_leaving_keep_counts_events_and_metrics_exact(
    broker: EmbeddedBroker, setup: tuple[Store, Config], traffic: dict, tmp_path: Path
) -> None:
    store, cfg = setup
    messages, topic = traffic["messages"], cfg.broker.topics.samples
    thirds = [messages[: SAMPLES // 3], messages[SAMPLES // 3 : 2 * SAMPLES // 3]]
    thirds.append(messages[2 * SAMPLES // 3 :])
    a = WorkerProcess(cfg, broker.bootstrap, tmp_path / "a").start()
    b = WorkerProcess(cfg, broker.bootstrap, tmp_path / "b").start()
    c = WorkerProcess(cfg, broker.bootstrap, tmp_path / "c")
    try:
        both = lambda: owned(a) and owned(b)  # noqa: E731
        wait_until(both, 60, "both workers to own verdict partitions")
        publish(broker.bootstrap, topic, thirds[0])
        wait_until(lambda: counted(store) == len(thirds[0]), 60, "the first third counted")
        a_final = metric_value(a.metrics_url, "driftmon_samples_received_total")
        assert 0 < a_final < len(thirds[0]), "both workers took part"
        a.stop()  # leaves: b takes every partition over
        publish(broker.bootstrap, topic, thirds[1])
        wait_until(lambda: counted(store) >= len(thirds[0]) + 200, 60, "b continuing")
        c.start()  # joins mid-stream: b hands half the partitions over
        # before the last third, or a fast b reads all of it while the group still rebalances
        wait_until(lambda: owned(b) and owned(c), 60, "c to take partitions over from b")
        publish(broker.bootstrap, topic, thirds[2])
        wait_until(lambda: counted(store) == SAMPLES, 90, "everything counted")
        live = [b, c]
        wait_until(
            lambda: total(live, "driftmon_drift_events_total") == len(traffic["events"]),
            30,
            "the drift event counters",
        )
        # The samples hop is at-least-once: a rebalance may hand a worker samples another had
        # read but not committed. Their verdicts are recognised by their source position and
        # skipped, so the store above and the event counters stay exact.
        received = a_final + total(live, "driftmon_samples_received_total")
        assert received >= SAMPLES, "no sample lost by a rebalance"
        assert metric_value(c.metrics_url, "driftmon_samples_received_total") > 0
        assert b.running and c.running
    finally:
        for w in (a, b, c):
            w.stop()
    check_outcome(store, traffic)


def test_two_workers_deal_a_backlog_by_load(
    broker: EmbeddedBroker, topics: dict[str, object], traffic: dict, tmp_path: Path
) -> None:
    """Faust honours the re-deal: the workers own the partitions the load says, and the counts
    and events stay exact. Six partitions, so that the deal differs from both splits Faust
    makes by itself (every other partition when the workers join together, halves when one
    joins after the other)."""
    url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    upgrade(url)
    cfg = scenario(url, {**topics, "partitions": 6})
    topic, n = cfg.broker.topics.samples, cfg.broker.partitions
    ensure_topics(broker.bootstrap, cfg.broker.topics, n)
    publish(broker.bootstrap, topic, traffic["messages"])
    sizes = partition_sizes(broker.bootstrap, topic, range(n))
    dealt = deal({"x": range(0, n, 2), "y": range(1, n, 2)}, sizes)
    expected = {frozenset(ps) for ps in dealt.values()}
    faust_alone = [
        {frozenset(range(i, n, 2)) for i in (0, 1)},
        {frozenset(range(3)), frozenset(range(3, 6))},
    ]
    assert expected not in faust_alone, ("the backlog must tell the deal from Faust's", sizes)
    store = Store(url)
    a = WorkerProcess(cfg, broker.bootstrap, tmp_path / "a").start()
    b = WorkerProcess(cfg, broker.bootstrap, tmp_path / "b").start()
    try:
        split = lambda: {frozenset(owned(a)), frozenset(owned(b))}  # noqa: E731
        wait_until(lambda: split() == expected, 60, f"the partitions dealt as {expected}")
        wait_until(lambda: counted(store) == SAMPLES, 90, "everything counted")
        events_stored(store, traffic)
        check_outcome(store, traffic)
    finally:
        for w in (a, b):
            w.stop()
        store.close()


def test_a_killed_worker_loses_and_repeats_nothing(
    broker: EmbeddedBroker, setup: tuple[Store, Config], traffic: dict, tmp_path: Path
) -> None:
    store, cfg = setup
    a = WorkerProcess(cfg, broker.bootstrap, tmp_path / "a").start()
    b = WorkerProcess(cfg, broker.bootstrap, tmp_path / "b").start()
    restarted = WorkerProcess(cfg, broker.bootstrap, tmp_path / "a2")
    try:
        wait_until(lambda: owned(a) and owned(b), 60, "both workers to own verdict partitions")
        publish(broker.bootstrap, cfg.broker.topics.samples, traffic["messages"])
        wait_until(lambda: counted(store) >= SAMPLES // 3, 60, "a third counted")
        wait_until(lambda: checkpointed(store, owned(a)), 30, "a's detectors in the store")
        os.killpg(a.pid, signal.SIGKILL)  # mid-stream, no goodbye: unflushed work is lost
        wait_until(lambda: not a.running, 10, "the kill")
        restarted.start()
        wait_until(lambda: counted(store) >= SAMPLES, 90, "everything counted")
        events_stored(store, traffic)
        assert b.running and restarted.running
        taken_over = re.findall(
            r"continuing (\d+) detector baseline", b.log(tail=None) + restarted.log(tail=None)
        )
        assert any(int(n) > 0 for n in taken_over), "a's streams continued from the store"
    finally:
        for w in (a, b, restarted):
            w.stop()
    check_outcome(store, traffic)


class Proxy:
    """A TCP relay standing in for the broker's address: closing it is the broker going away
    (connections refused and cut), starting it again on the same port is the broker back."""

    def __init__(self, target: tuple[str, int], port: int) -> None:
        self.target = target
        self.port = port
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> Proxy:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._server is not server:  # stopped while this one was being accepted
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def readiness(worker: WorkerProcess) -> int:
    url = worker.metrics_url.replace("/metrics", "/readyz")
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_worker_rides_out_a_broker_outage(
    topics: dict[str, object], traffic: dict, tmp_path: Path
) -> None:
    """A broker of its own, reached through a relay the test cuts and restores (the embedded
    Tansu keeps topics in memory, so a real restart would lose them; see docs/guarantees.md)."""
    url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    upgrade(url)
    store = Store(url)
    relay_port = free_port()
    with (
        EmbeddedBroker(log_path=tmp_path / "tansu.log", advertise=relay_port) as tansu,
        Proxy((tansu.host, tansu.port), relay_port) as proxy,
    ):
        bootstrap = f"127.0.0.1:{relay_port}"
        cfg = scenario(url, topics)
        ensure_topics(bootstrap, cfg.broker.topics, cfg.broker.partitions)
        messages = traffic["messages"]
        with WorkerProcess(cfg, bootstrap, tmp_path / "w") as worker:
            publish(bootstrap, cfg.broker.topics.samples, messages[: SAMPLES // 2])
            wait_until(lambda: counted(store) == SAMPLES // 2, 60, "the first half counted")
            up = lambda: metric_value(worker.metrics_url, "driftmon_broker_up")  # noqa: E731
            assert up() == 1 and readiness(worker) == 200
            proxy.stop()
            wait_until(lambda: up() == 0, 30, "the outage on /metrics")
            assert readiness(worker) == 503
            wait_until(lambda: "unreachable" in worker.log(tail=None), 30, "the outage in the log")
            # Away longer than the group session: the worker must rejoin, not just reconnect.
            time.sleep(cfg.broker.session_timeout * 1.5)
            assert worker.running, worker.log()
            proxy.start()
            wait_until(lambda: up() == 1, 30, "the broker back on /metrics")
            publish(bootstrap, cfg.broker.topics.samples, messages[SAMPLES // 2 :])
            wait_until(lambda: counted(store) >= SAMPLES, 90, "the second half counted")
            events_stored(store, traffic)
            assert worker.running and readiness(worker) == 200
    check_outcome(store, traffic)
    store.close()


def test_events_wait_for_a_store_that_is_away(
    broker: EmbeddedBroker, topics: dict[str, object], pg_url: str, traffic: dict, tmp_path: Path
) -> None:
    """The store's schema is renamed away while the drift happens, then put back."""
    upgrade(pg_url)
    cfg = scenario(pg_url, topics)
    ensure_topics(broker.bootstrap, cfg.broker.topics, cfg.broker.partitions)
    schema = sa.make_url(pg_url).query["options"].split("=", 1)[1]
    admin = sa.create_engine(pg_url.split("?")[0], isolation_level="AUTOCOMMIT")
    store = Store(pg_url)
    messages = traffic["messages"]
    with WorkerProcess(cfg, broker.bootstrap, tmp_path / "w") as worker:
        publish(broker.bootstrap, cfg.broker.topics.samples, messages[: SAMPLES // 3])
        wait_until(lambda: counted(store) == SAMPLES // 3, 60, "the first third counted")
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_away"'))
        try:
            publish(broker.bootstrap, cfg.broker.topics.samples, messages[SAMPLES // 3 :])
            errors = lambda kind: metric_value(  # noqa: E731
                worker.metrics_url, "driftmon_store_errors_total", kind=kind
            )
            wait_until(lambda: errors("events") > 0, 60, "a drift event retried")
            wait_until(lambda: errors("counts") > 0, 30, "counts deferred")
            received = lambda: metric_value(  # noqa: E731
                worker.metrics_url, "driftmon_samples_received_total"
            )
            wait_until(lambda: received() == SAMPLES, 60, "processing goes on")
            assert metric_value(worker.metrics_url, "driftmon_store_up") == 0
            assert "store write failed (events)" in worker.log(tail=None)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'ALTER SCHEMA "{schema}_away" RENAME TO "{schema}"'))
        wait_until(lambda: counted(store) >= SAMPLES, 60, "the deferred counts written")
        events_stored(store, traffic)
        wait_until(
            lambda: metric_value(worker.metrics_url, "driftmon_store_up") == 1, 30, "store up"
        )
    admin.dispose()
    check_outcome(store, traffic)
    store.close()


def test_a_graceful_stop_leaves_nothing_to_do_twice(
    broker: EmbeddedBroker, setup: tuple[Store, Config], traffic: dict, tmp_path: Path
) -> None:
    store, cfg = setup
    publish(broker.bootstrap, cfg.broker.topics.samples, traffic["messages"])
    with WorkerProcess(cfg, broker.bootstrap, tmp_path / "first") as first:
        wait_until(lambda: counted(store) == SAMPLES, 90, "everything counted")
        wait_until(lambda: {e.id for e in store.events()} >= traffic["events"], 30, "events")
    assert "not written at shutdown" not in first.log(tail=None)
    before = (stored_cells(store), store.load_states())
    with WorkerProcess(cfg, broker.bootstrap, tmp_path / "second") as second:
        wait_until(lambda: "continuing" in second.log(tail=None), 60, "the partitions taken over")
        # One new sample: once it is counted, the second worker has read all it was going to.
        publish(broker.bootstrap, cfg.broker.topics.samples, [traffic["sentinel"]])
        wait_until(lambda: counted(store) == SAMPLES + 1, 60, "the new sample counted")
        assert metric_value(second.metrics_url, "driftmon_samples_received_total") == 1
        assert metric_value(second.metrics_url, "driftmon_verdicts_skipped_total") == 0
    after = stored_cells(store)
    assert sum((after - before[0]).values()) == 1 and not before[0] - after
    assert {e.id for e in store.events()} >= traffic["events"]
