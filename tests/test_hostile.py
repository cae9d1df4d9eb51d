"""Hostile input against one real worker: generated messages, a flood of label values, and
HTTP requests that are unauthorised or malformed.

- Every message ends as a verdict or a DLQ record with a known reason, exactly as the local
  parser (and the duplicate window) predicts, and the worker keeps running.
- Memory stays bounded: pushing more of the same large messages through does not grow the
  worker's resident memory with them.
- Label values stay bounded: however many distinct model/surface/locale values arrive, each
  dimension exports at most ``segments.top_k`` of them plus ``other``.
- The HTTP endpoints answer 4xx, never 5xx, to missing tokens and malformed requests.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaProducer

from monitor.broker import EmbeddedBroker, ensure_topics
from monitor.config import Config, parse_config
from monitor.migrate import upgrade
from monitor.run import scrape
from monitor.schema import DLQ_REASONS, SampleError, parse_sample
from monitor.testing import WorkerProcess, metric_value, wait_until

pytestmark = pytest.mark.integration

TOKEN = "hostile-test-token"
TOP_K = 4
BATCH = settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Worker:
    """The module's worker, what was sent to it, and how to wait for it."""

    def __init__(self, process: WorkerProcess, bootstrap: str, cfg: Config) -> None:
        self.process = process
        self.cfg = cfg
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap, linger_ms=20, max_request_size=2**21
        )
        self.ids: set[str] = set()  # sample ids the worker has accepted: re-sends are duplicates

    def value(self, name: str, **labels: str) -> float:
        return metric_value(self.process.metrics_url, name, **labels)

    def settled(self) -> tuple[float, float, float]:
        return (
            self.value("driftmon_samples_received_total"),
            self.value("driftmon_verdicts_sent_total"),
            self.value("driftmon_dlq_messages_total"),
        )

    def push(self, messages: list[bytes]) -> tuple[float, float]:
        """Send, wait until every message is a verdict or a DLQ record; (verdicts, dlq) added."""
        received, verdicts, dlq = self.settled()
        for raw in messages:
            self.producer.send(self.cfg.broker.topics.samples, value=raw)
        self.producer.flush()

        def done() -> tuple[float, float, float] | None:
            now = self.settled()
            if now[0] - received >= len(messages) and now[1] + now[2] - verdicts - dlq >= len(
                messages
            ):
                return now
            return None

        now = wait_until(done, 60, f"{len(messages)} message(s) handled")
        assert self.process.running, self.process.log()
        return now[1] - verdicts, now[2] - dlq

    def expect(self, messages: list[bytes]) -> tuple[int, int]:
        """(verdicts, DLQ records) the worker must produce for these messages."""
        good = bad = 0
        for raw in messages:
            try:
                sample = parse_sample(raw, self.cfg.worker.max_sample_bytes)
            except SampleError:
                bad += 1
                continue
            if sample.sample_id in self.ids:
                bad += 1
            else:
                self.ids.add(sample.sample_id)
                good += 1
        return good, bad


@pytest.fixture(scope="module")
def worker(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    tmp = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{tmp / 'driftmon.db'}"
    upgrade(url)
    tag = tmp.name[-8:].replace("-", "")
    cfg = parse_config(
        {
            "broker": {
                "topics": {
                    k: f"{k}-hostile-{tag}" for k in ("samples", "verdicts", "drift_events", "dlq")
                },
                "app_id": f"driftmon-hostile-{tag}",
            },
            "store": {"url": url},
            "segments": {"top_k": TOP_K},
            "alerting": {"api_token": TOKEN},
            "worker": {"flush_interval": 1.0},
        }
    )
    ensure_topics(broker.bootstrap, cfg.broker.topics, cfg.broker.partitions)
    with WorkerProcess(cfg, broker.bootstrap, Path(tmp)) as process:
        running = Worker(process, broker.bootstrap, cfg)
        base = process.metrics_url.removesuffix("/metrics")
        wait_until(lambda: request(base, "GET", "/readyz", None, None) == 200, 30, "ready")
        yield running
        running.producer.close()


# --- messages ----------------------------------------------------------------------------

OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
TIMESTAMPS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS
).map(lambda ts: ts.isoformat())
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.integers(100_000, 300_000).map(lambda n: "x" * n),  # huge, some over the size limit
)
MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", "robot"]), "content": TEXT}
    ),
    min_size=0,
    max_size=3,
)
SAMPLES = st.fixed_dictionaries(
    {
        "sample_id": st.sampled_from(["dup-a", "dup-b"]) | st.text(min_size=1, max_size=40),
        "ts": TIMESTAMPS,
        "model": st.text(min_size=1, max_size=20),
        "surface": st.text(min_size=1, max_size=20),
        "locale": st.text(min_size=1, max_size=10),
        "messages": MESSAGES,
    },
    optional={"policy_area": st.text(max_size=20), "metadata": JSON_VALUES},
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A sample, maybe with a field dropped, replaced by any JSON value, or extra fields."""
    sample = draw(SAMPLES)
    how = draw(st.sampled_from(["as_is", "drop", "replace", "extra"]))
    key = draw(st.sampled_from(sorted(sample)))
    if how == "drop":
        del sample[key]
    elif how == "replace":
        sample[key] = draw(JSON_VALUES)
    elif how == "extra":
        sample.update(draw(st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=3)))
    return json.dumps(sample).encode()  # NaN and Infinity go out as JSON's non-standard tokens


RAW = st.one_of(
    mutated(),
    mutated(),
    st.binary(max_size=300),  # mostly invalid UTF-8 or not JSON
    st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),  # deep nesting
    st.integers(1, 50_000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
)


@BATCH
@given(messages=st.lists(RAW, min_size=20, max_size=60))
def test_every_message_ends_as_a_verdict_or_a_dlq_reason(
    worker: Worker, messages: list[bytes]
) -> None:
    good, bad = worker.expect(messages)
    verdicts, dlq = worker.push(messages)
    assert (verdicts, dlq) == (good, bad)
    reasons = {
        s.labels["reason"]
        for s in scrape(worker.process.metrics_url)
        if s.name == "driftmon_dlq_messages_total" and s.value > 0
    }
    assert reasons <= set(DLQ_REASONS), "samples are dead-lettered with a sample reason"


def rss(pid: int) -> int:
    """Resident memory of a process, in bytes (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def large_batch(start: int, n: int = 400) -> list[bytes]:
    return [
        json.dumps(
            {
                "sample_id": f"large-{start + i}",
                "ts": "2026-11-16T09:00:00Z",
                "model": "atlas-2",
                "surface": "chat",
                "locale": "en-US",
                "messages": [
                    {"role": "user", "content": "tell me a story " * 4_000},
                    {"role": "assistant", "content": "once upon a time " * 4_000},
                ],
            }
        ).encode()
        for i in range(n)
    ]


def test_memory_stays_bounded_under_large_messages(worker: Worker) -> None:
    """Three batches of 400 messages of about 130 kB (50 MB each): the last two may not keep
    what they carried (a leak of the messages would add 100 MB)."""
    pid = worker.process.pid
    assert pid is not None
    worker.push(large_batch(0))
    after_one = rss(pid)
    worker.push(large_batch(10_000))
    worker.push(large_batch(20_000))
    after_three = rss(pid)
    assert after_three - after_one < 40 * 2**20, (after_one, after_three)


def test_a_flood_of_label_values_stays_within_top_k(worker: Worker) -> None:
    flood = [
        json.dumps(
            {
                "sample_id": f"flood-{i}",
                "ts": "2026-11-16T09:00:00Z",
                "model": f"model-{i}",
                "surface": f"surface-{i % 97}",
                "locale": f"xx-{i % 13}",
                "messages": [{"role": "user", "content": "hello"}],
            }
        ).encode()
        for i in range(1500)
    ]
    worker.push(flood)
    samples = [s for s in scrape(worker.process.metrics_url) if s.name.startswith("driftmon_")]
    for dim in ("model", "surface", "locale"):
        values = {s.labels[dim] for s in samples if dim in s.labels} - {"all"}
        assert len(values) <= TOP_K + 1, (dim, sorted(values))
        assert "other" in values
    segments = {
        (s.labels["model"], s.labels["surface"], s.labels["locale"])
        for s in samples
        if {"model", "surface", "locale"} <= set(s.labels)
    }
    assert len(segments) <= (TOP_K + 1) ** 3


# --- HTTP --------------------------------------------------------------------------------

PATHS = ["/events/{id}/ack", "/events/{id}/resolve", "/alerts/webhook"]
READS = ["/events", "/events/{id}", "/events?since={id}&resolved={id}&team={id}", "/events?{id}=1"]
READ_ONLY = ["/metrics", "/healthz", "/readyz"]
AUTH = st.sampled_from(
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}", f"bearer {TOKEN} x"]
)
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {}, optional={"by": JSON_VALUES, "note": JSON_VALUES, "alerts": JSON_VALUES}
    ).map(lambda v: json.dumps(v).encode()),
    st.integers(1, 20_000).map(lambda depth: b"[" * depth + b"]" * depth),
)


def request(base: str, method: str, path: str, body: bytes | None, auth: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
    path=st.sampled_from(PATHS + READS + READ_ONLY + ["/events//ack", "/nope"]),
    event_id=st.text(min_size=1, max_size=40),
    auth=AUTH,
    body=BODIES,
)
def test_http_endpoints_answer_4xx_never_5xx(
    worker: Worker, method: str, path: str, event_id: str, auth: str | None, body: bytes
) -> None:
    base = worker.process.metrics_url.removesuffix("/metrics")
    path = path.replace("{id}", urllib.parse.quote(event_id, safe=""))
    status = request(base, method, path, body if method in {"POST", "PUT"} else None, auth)
    assert status < 500, (method, path, auth, body[:80], status)
    writes = path.startswith("/events/") and path.count("/") == 3
    if method == "POST" and (writes or path == "/alerts/webhook") and auth != f"Bearer {TOKEN}":
        # 401/403, or 404 for an id the route cannot hold (aiohttp routes refuse "{" and "}")
        assert 400 <= status < 500, (path, auth, status)
    if method == "GET" and path.startswith("/events") and auth != f"Bearer {TOKEN}":
        assert 400 <= status < 500, (path, auth, status)  # reads show exemplars: token first


def test_reads_need_the_token_and_say_what_is_wrong(worker: Worker) -> None:
    base = worker.process.metrics_url.removesuffix("/metrics")
    auth = f"Bearer {TOKEN}"
    assert request(base, "GET", "/events", None, None) == 401
    assert request(base, "GET", "/events/nope", None, "Bearer wrong") == 401
    assert request(base, "GET", "/events/nope", None, auth) == 404
    assert request(base, "GET", "/events?since=soon", None, auth) == 400
    assert request(base, "GET", "/events?resolved=maybe", None, auth) == 400
    req = urllib.request.Request(
        base + "/events?resolved=true&since=7d", headers={"Authorization": auth}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        listed = json.loads(response.read())
    assert isinstance(listed["events"], list)


def test_writes_need_the_token_and_a_known_event(worker: Worker) -> None:
    base = worker.process.metrics_url.removesuffix("/metrics")
    body = json.dumps({"by": "oncall@example.com", "note": "looking"}).encode()
    assert request(base, "POST", "/events/nope/ack", body, None) == 401
    assert request(base, "POST", "/events/nope/ack", body, "Bearer wrong") in {401, 403}
    assert request(base, "POST", "/events/nope/ack", body, f"Bearer {TOKEN}") == 404
    assert request(base, "POST", "/events/nope/ack", b"{", f"Bearer {TOKEN}") == 400
    health = json.loads(urllib.request.urlopen(base + "/healthz", timeout=10).read())
    assert health["broker"] == "up" and health["store"] == "up"
    assert worker.value("driftmon_broker_up") == 1.0
    assert worker.value("driftmon_store_up") == 1.0
