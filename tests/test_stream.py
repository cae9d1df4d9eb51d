"""End to end on real parts: embedded Tansu broker, a `driftmon worker` process, SQLite store.

Simulated samples with a refusal-rate rise in one segment (model atlas-2 on the chat surface)
and a handful of malformed messages go in; the test waits (bounded) for every message to be
consumed and checks the drift event in the store and in /metrics, that no stable segment
produced one, and that every bad message is in the DLQ with its reason.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer

from monitor.backtest import backtest
from monitor.broker import EmbeddedBroker, ensure_topics
from monitor.config import Config, parse_config
from monitor.migrate import upgrade
from monitor.schema import DriftEvent
from monitor.simulate import TrafficSimulator
from monitor.store import Store
from monitor.testing import WorkerProcess, consume, metric_value, wait_until

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 16, 9, tzinfo=UTC)
SAMPLES = 24_000  # 240 simulated seconds at 100/s; the drift starts at 120 s
BAD = {
    b"this is not json": "not_json",
    b"\xff\xfe\xfd": "invalid_utf8",
    b'["a", "list"]': "not_an_object",
    b'{"sample_id": "x"}': "missing_field",
    b'{"sample_id": "y", "ts": "2026-11-16T09:00:00Z", "model": "m", "surface": "chat", '
    b'"locale": "en-US", "messages": []}': "empty_messages",
    b'{"sample_id": 5, "ts": "2026-11-16T09:00:00Z", "model": "m", "surface": "chat", '
    b'"locale": "en-US", "messages": [{"role": "user", "content": "hi"}]}': "wrong_type",
    b'{"pad": "' + b"x" * 300_000 + b'"}': "oversized",
}


def scenario(store_url: str, broker: dict[str, object]) -> Config:
    return parse_config(
        {
            "broker": broker,
            "store": {"url": store_url},
            "worker": {"flush_interval": 1.0},
            # the default detector, with a baseline of 200 events so that it watches in time
            "detectors": {"params": {"arl0": 1_000_000, "min_events": 200}},
            "simulator": {
                "rate": 100,
                "seed": 11,
                "bad_fraction": 0.0,
                "drift": {"after_seconds": 120, "model": "atlas-2", "surface": "chat"},
            },
        }
    )


def publish(bootstrap: str, cfg: Config, copy: Path) -> int:
    """Publish the simulated samples with the bad messages spread among them; keep a JSONL copy."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_request_size=2**21)
    good = TrafficSimulator(cfg.simulator, START).take(SAMPLES)
    spacing = SAMPLES // (len(BAD) + 1)
    bad = iter(BAD)
    with copy.open("wb") as lines:
        for i, message in enumerate(good):
            producer.send(cfg.broker.topics.samples, key=message.key, value=message.value)
            lines.write(message.value + b"\n")
            if i % spacing == spacing - 1 and (payload := next(bad, None)) is not None:
                producer.send(cfg.broker.topics.samples, key=b"bad", value=payload)
    producer.flush()
    producer.close()
    return len(good)


def comparable(events: list[DriftEvent]) -> list[dict]:
    return sorted((e.model_dump(exclude={"status"}) for e in events), key=lambda e: e["id"])


def dlq_records(bootstrap: str, topic: str, expected: int) -> list[dict]:
    return [json.loads(raw) for raw in consume(bootstrap, topic, expected)]


@pytest.fixture
def setup(broker: EmbeddedBroker, topics: dict[str, object], tmp_path: Path) -> tuple[str, Config]:
    """A migrated SQLite store and a config with this test's own topics, created."""
    url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    upgrade(url)
    cfg = scenario(url, topics)
    ensure_topics(broker.bootstrap, cfg.broker.topics, cfg.broker.partitions)
    return url, cfg


def test_injected_drift_is_detected_stored_and_exported(
    broker: EmbeddedBroker, setup: tuple[str, Config], tmp_path: Path
) -> None:
    url, cfg = setup
    good = publish(broker.bootstrap, cfg, tmp_path / "published.jsonl")
    store = Store(url)
    with WorkerProcess(cfg, broker.bootstrap, tmp_path) as worker:
        received = lambda: metric_value(worker.metrics_url, "driftmon_samples_received_total")  # noqa: E731
        wait_until(lambda: received() >= good + len(BAD), 240, "every message consumed")

        def drift_stored() -> list:
            return [
                e
                for e in store.events()
                if e.metric == "refusal" and e.segment["model"] == "atlas-2"
            ]

        def settled() -> tuple[list, float] | None:
            """Stored and exported alike: the store is read before the counter, which only
            counts an event once it is stored, so more may arrive between two looks."""
            stored = drift_stored()
            exported = metric_value(
                worker.metrics_url,
                "driftmon_drift_events_total",
                model="atlas-2",
                surface="chat",
                metric="refusal",
                direction="up",
            )
            return (stored, exported) if stored and exported == len(stored) else None

        events, exported = wait_until(settled, 90, "refusal drift events stored and exported")
        counted = wait_until(
            lambda: sum(row.samples for row in store.counts()) == good, 30, "hourly counts"
        )
        verdicts = metric_value(worker.metrics_url, "driftmon_verdicts_total")
        dlq_total = metric_value(worker.metrics_url, "driftmon_dlq_messages_total")
        assert worker.running, worker.log()

    assert verdicts == good, "every good message became exactly one verdict"
    assert dlq_total == len(BAD)
    assert exported == len(events)
    assert all(e.segment["surface"] == "chat" and e.direction == "up" for e in events)
    event = events[0]
    assert event.before.high < event.after.low
    assert event.change_ts >= START
    everything = store.events()
    strays = [
        e for e in everything if (e.segment["model"], e.segment["surface"]) != ("atlas-2", "chat")
    ]
    assert strays == [], [e.describe() for e in strays]
    assert len({e.id for e in everything}) == len(everything)

    records = dlq_records(broker.bootstrap, cfg.broker.topics.dlq, len(BAD))
    by_raw = {base64.b64decode(r["raw_b64"]): r["reason"] for r in records}
    assert by_raw == BAD
    assert all(r["detail"] and r["source"]["topic"] == cfg.broker.topics.samples for r in records)
    assert counted

    offline, summary = backtest(cfg, tmp_path / "published.jsonl")
    assert summary.verdicts == good
    assert comparable(offline) == comparable(everything), "stream and backtest must agree"
    store.close()


def test_a_restarted_worker_continues_its_baselines(
    broker: EmbeddedBroker, setup: tuple[str, Config], tmp_path: Path
) -> None:
    """Half the traffic, a graceful stop, the other half to a new worker: same events as one run."""
    url, cfg = setup
    messages = TrafficSimulator(cfg.simulator, START).take(SAMPLES)
    copy = tmp_path / "all.jsonl"
    copy.write_bytes(b"".join(m.value + b"\n" for m in messages))
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20)
    store = Store(url)
    half = SAMPLES * 2 // 5  # before the drift starts

    def counted() -> int:
        return sum(row.samples for row in store.counts())

    for part, (chunk, total) in enumerate(((messages[:half], half), (messages[half:], SAMPLES))):
        for m in chunk:
            producer.send(cfg.broker.topics.samples, key=m.key, value=m.value)
        producer.flush()
        with WorkerProcess(cfg, broker.bootstrap, tmp_path / f"run{part}") as worker:
            wait_until(lambda: counted() >= total, 240, f"part {part} counted")  # noqa: B023
            if part == 1:
                assert "continuing" in worker.log(tail=None)
    producer.close()
    offline, _ = backtest(cfg, copy)
    assert offline
    assert comparable(store.events()) == comparable(offline)
    assert counted() == SAMPLES
    store.close()
