"""Streaming throughput of driftmon against its own ceilings, on the embedded broker.

Run from the repository root::

    python benchmarks/throughput.py [--samples N] [--partitions P] [--seed S]

One invocation starts an embedded Tansu broker, pre-loads a topic with ``N`` realistic simulated
samples (:class:`~monitor.simulate.TrafficSimulator`, fixed seed) and reads it with:

(a) a bare Faust agent that only JSON-parses each message: the framework's ceiling;
(b) a bare aiokafka consumer doing the same: the transport's ceiling;
(c) one driftmon worker (default classifiers, detectors and metrics, SQLite store);
(d) two driftmon workers sharing the partitions;
(e) one driftmon worker on traffic spread over about 1,000 segments (memory per segment).

Every reader is a process of its own. Throughput of (a)/(b) is timed inside the reader, from the
first message to the last. The workers of (c)/(d) are started together; their window opens when
every one of them has read a sample (so a rebalance at start-up is left out) and closes when
every classified verdict has been fed to a detector (the workers' own detector sample counts,
scraped every 0.2 s); the samples are those verdicted inside it. The broker's CPU over the same
window, and each worker's share of the samples read, are printed too. After (c) and (d),
samples are produced at half the single-worker throughput for ``--latency-seconds`` and latency
runs from each sample's produce timestamp to its verdict's Kafka timestamp. Peak RSS is each
worker's ``VmHWM``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaProducer  # noqa: E402

from monitor.broker import EmbeddedBroker, ensure_topics, stop_process  # noqa: E402
from monitor.config import Config, parse_config  # noqa: E402
from monitor.migrate import upgrade  # noqa: E402
from monitor.run import WorkerProcess, scrape  # noqa: E402
from monitor.simulate import TrafficSimulator  # noqa: E402
from monitor.testing import wait_until  # noqa: E402

START = datetime(2026, 11, 16, 9, tzinfo=UTC)
GROUP_TIMINGS = {"rebalance_timeout": 5.0, "session_timeout": 6.0, "heartbeat_interval": 1.0}
SCRAPE_TIMEOUT = 60.0  # a worker busy with 1,000 segments can take seconds to render /metrics
MANY = {  # 20 models x 10 surfaces x 5 locales = 1,000 segments, within the default top_k of 20
    "models": {f"model-{i:02d}": 1.0 for i in range(20)},
    "surfaces": {f"surface-{i}": 1.0 for i in range(10)},
    "locales": {"en-US": 1.0, "es-ES": 1.0, "fr-FR": 1.0, "de-DE": 1.0, "en-GB": 1.0},
}


# --------------------------------------------------------------------------------------------
# The ceilings: run as `throughput.py --role faust|aiokafka ...` in a process of their own
# --------------------------------------------------------------------------------------------
class Tally:
    """Counts parsed messages; writes first/last wall time to ``out`` once ``expect`` came."""

    def __init__(self, expect: int, out: Path) -> None:
        self.expect, self.out = expect, out
        self.count = 0
        self.first = 0.0
        self.cpu = 0.0

    def parse(self, value: bytes | None) -> None:
        with contextlib.suppress(ValueError):  # malformed samples cost the attempt, as in c
            json.loads(value or b"")
        if self.count == 0:
            self.first, self.cpu = time.time(), time.process_time()
        self.count += 1
        if self.count == self.expect:
            cpu = time.process_time() - self.cpu
            got = {"first": self.first, "last": time.time(), "n": self.count, "cpu": cpu}
            tmp = self.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(got))
            tmp.rename(self.out)


def faust_ceiling(bootstrap: str, topic: str, expect: int, out: Path) -> None:
    import faust
    import faust.worker

    tally = Tally(expect, out)
    app = faust.App(
        f"ceiling-{os.getpid()}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=str(out.parent / "faust-ceiling"),
        web_enabled=False,
        broker_rebalance_timeout=GROUP_TIMINGS["rebalance_timeout"],
        broker_session_timeout=GROUP_TIMINGS["session_timeout"],
        broker_heartbeat_interval=GROUP_TIMINGS["heartbeat_interval"],
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=False,
        topic_disable_leader=True,
    )
    source = app.topic(topic, key_serializer="raw", value_serializer="raw")

    @app.agent(source)
    async def parse(stream: Any) -> None:
        async for event in stream.events():
            tally.parse(event.value)

    worker = faust.worker.Worker(app, loglevel="warn", quiet=True)
    worker.spinner = None  # as in monitor.run.run_worker: keeps the root logger at WARN
    worker.execute_from_commandline()


def aiokafka_ceiling(bootstrap: str, topic: str, expect: int, out: Path) -> None:
    from aiokafka import AIOKafkaConsumer

    async def run() -> None:
        tally = Tally(expect, out)
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"ceiling-{os.getpid()}",
            auto_offset_reset="earliest",
            session_timeout_ms=int(GROUP_TIMINGS["session_timeout"] * 1000),
            heartbeat_interval_ms=int(GROUP_TIMINGS["heartbeat_interval"] * 1000),
            rebalance_timeout_ms=int(GROUP_TIMINGS["rebalance_timeout"] * 1000),
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for records in batches.values():
                    for record in records:
                        tally.parse(record.value)
        finally:
            await consumer.stop()

    asyncio.run(run())


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    samples: int
    seconds: float
    rss_mib: list[float]
    latency_ms: tuple[float, float] | None = None
    segments: int = 0
    streams: int = 0
    cpu_seconds: float = float("nan")
    shares: list[float] = field(default_factory=list)  # of the samples, per worker
    broker_cpu_seconds: float = float("nan")  # the broker's, over the same window
    driver_cpu_seconds: float = float("nan")  # this process's (it reads every verdict)

    @property
    def rate(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else float("nan")

    @property
    def broker_cpu_us(self) -> float:
        return self.broker_cpu_seconds / self.samples * 1e6

    @property
    def driver_cpu_us(self) -> float:
        return self.driver_cpu_seconds / self.samples * 1e6

    @property
    def cpu_us(self) -> float:
        """CPU time of the reader process(es) per sample, in microseconds."""
        return self.cpu_seconds / self.samples * 1e6


def preload(bootstrap: str, topic: str, sim: TrafficSimulator, n: int) -> tuple[int, int]:
    """Publish ``n`` simulated messages; returns (messages, well-formed samples)."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024, max_request_size=2**21
    )
    good = 0
    for message in sim.take(n):
        producer.send(topic, key=message.key, value=message.value)
        good += message.truth is not None
    producer.flush()
    producer.close()
    return n, good


def run_ceiling(role: str, bootstrap: str, topic: str, expect: int, workdir: Path) -> Result:
    out = workdir / f"{role}.json"
    log = (workdir / f"{role}.log").open("wb")
    args = [sys.executable, __file__, "--role", role, "--bootstrap", bootstrap, "--topic", topic]
    args += ["--expect", str(expect), "--out", str(out)]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: out.exists() or proc.poll() is not None, 300, f"{role} ceiling")
        if not out.exists():
            raise RuntimeError(f"{role} ceiling failed: {(workdir / f'{role}.log').read_text()}")
        rss = peak_rss_mib(proc.pid)
    finally:
        stop_process(proc, grace=10)
        log.close()
    got = json.loads(out.read_text())
    return Result(role, got["n"], got["last"] - got["first"], [rss], cpu_seconds=got["cpu"])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_config(
    bootstrap: str,
    samples: str,
    tag: str,
    store: str,
    partitions: int,
    stack: str = "default",
    assignment: str = "load",
) -> Config:
    topics = {"samples": samples, **{k: f"{k}-{tag}" for k in ("verdicts", "drift_events", "dlq")}}
    cfg = parse_config(
        {
            "broker": {
                "bootstrap_servers": bootstrap,
                "topics": topics,
                "app_id": f"driftmon-{tag}",
                "partitions": partitions,
                "assignment": assignment,
                **GROUP_TIMINGS,
            },
            "store": {"url": store},
            "classifiers": {} if stack == "default" else {"stack": stack},
        }
    )
    ensure_topics(bootstrap, cfg.broker.topics, partitions)
    return cfg


class Verdicts:
    """Reads a verdicts topic from the start: Kafka timestamp and JSON of every verdict.

    With aiokafka on a private event loop, driven by :meth:`poll`: this process shares the
    cores with the workers it times, and kafka-python's pure-Python record decoding cost it
    about 150 CPU µs a verdict, a fifth of a worker's cost per sample.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        from aiokafka import AIOKafkaConsumer

        self.loop = asyncio.new_event_loop()

        async def start() -> AIOKafkaConsumer:
            consumer = AIOKafkaConsumer(
                topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
            )
            await consumer.start()
            return consumer

        self.consumer = self.loop.run_until_complete(start())
        self.ts: dict[str, int] = {}
        self.classified = 0

    def poll(self) -> int:
        batches = self.loop.run_until_complete(
            self.consumer.getmany(timeout_ms=200, max_records=5000)
        )
        for records in batches.values():
            for r in records:
                verdict = json.loads(r.value)
                self.ts[verdict["sample_id"]] = r.timestamp
                self.classified += verdict.get("unclassified") is None
        return len(self.ts)

    def close(self) -> None:
        self.loop.run_until_complete(self.consumer.stop())
        self.loop.close()


def alive(workers: list[WorkerProcess]) -> bool:
    """True while every worker runs; raises with the log of the first one that stopped."""
    for w in workers:
        if not w.running:
            raise RuntimeError(f"a worker stopped (exit {w.returncode}): {w.log()}")
    return True


def detected(workers: list[WorkerProcess]) -> float:
    """Classified verdicts fed to a detector so far, over all workers (refusal streams)."""
    return sum(
        s.value
        for w in workers
        for s in scrape(w.metrics_url, timeout=SCRAPE_TIMEOUT)
        if s.name == "driftmon_detector_samples" and s.labels.get("metric") == "refusal"
    )


def shares_of(workers: list[WorkerProcess]) -> list[float]:
    """Each worker's share of the samples read: the busiest bounds what more workers can do."""
    read = [
        sum(
            s.value
            for s in scrape(w.metrics_url, timeout=SCRAPE_TIMEOUT)
            if s.name == "driftmon_samples_received_total"
        )
        for w in workers
    ]
    return [n / max(sum(read), 1) for n in read]


def segments_of(workers: list[WorkerProcess]) -> tuple[int, int]:
    """(segments, detector streams) the workers hold."""
    seen = set()
    streams = 0
    for w in workers:
        for s in scrape(w.metrics_url, timeout=SCRAPE_TIMEOUT):
            if s.name == "driftmon_detector_samples":
                streams += 1
                if s.labels.get("metric") == "refusal":
                    seen.add(
                        (w.metrics_url, s.labels["model"], s.labels["surface"], s.labels["locale"])
                    )
    return len(seen), streams


def run_workers(
    name: str, cfg: Config, count: int, bootstrap: str, good: int, workdir: Path, broker: int
) -> tuple[Result, list[WorkerProcess], Verdicts]:
    """Start ``count`` workers on the pre-loaded topic; time them until all of it is detected."""
    workers = [WorkerProcess(cfg, bootstrap, workdir / f"{name}-{i}") for i in range(count)]
    verdicts = Verdicts(bootstrap, cfg.broker.topics.verdicts)
    try:
        # Started together, so that they join the group together: one started alone first
        # would read the pre-loaded topic by itself until the second one's rebalance.
        with ThreadPoolExecutor(len(workers)) as pool:
            list(pool.map(WorkerProcess.start, workers))
        pids = [w.pid for w in workers if w.pid is not None]
        opened: dict[str, float] = {}  # once every worker reads: the window starts here

        def arrived() -> bool:
            got = verdicts.poll()
            if got and not opened and all(shares_of(workers)):
                opened.update(
                    at=time.time(),
                    got=got,
                    cpu=cpu_seconds(pids),
                    broker=cpu_seconds([broker]),
                    driver=time.process_time(),
                )
            return alive(workers) and got >= good and bool(opened)

        wait_until(arrived, 600, f"verdicts of {name}")
        wait_until(lambda: alive(workers) and detected(workers) >= verdicts.classified, 120, name)
        done = time.time()
        counted = good - opened["got"]
        cpu = cpu_seconds(pids) - opened["cpu"]
        broker_cpu = cpu_seconds([broker]) - opened["broker"]
        driver_cpu = time.process_time() - opened["driver"]
        segments, streams = segments_of(workers)
        shares = shares_of(workers)
        rss = [peak_rss_mib(w.pid) for w in workers if w.pid is not None]
    except BaseException:
        for w in workers:
            print(w.log(), file=sys.stderr)
            w.stop()
        verdicts.close()
        raise
    result = Result(
        name,
        counted,
        done - opened["at"],
        rss,
        segments=segments,
        streams=streams,
        cpu_seconds=cpu,
        shares=shares,
        broker_cpu_seconds=broker_cpu,
        driver_cpu_seconds=driver_cpu,
    )
    return result, workers, verdicts


def measure_latency(
    bootstrap: str, cfg: Config, verdicts: Verdicts, rate: float, seconds: float, seed: int
) -> tuple[float, float]:
    """p50/p95 ms from produce to verdict at a paced ``rate`` of well-formed samples."""
    sim_cfg = cfg.simulator.model_copy(update={"seed": seed, "bad_fraction": 0.0, "drift": None})
    sim = TrafficSimulator(sim_cfg, datetime.now(UTC))
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    sent: dict[str, int] = {}
    start = time.monotonic()
    for i, message in enumerate(sim.take(int(rate * seconds))):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        now = int(time.time() * 1000)
        producer.send(
            cfg.broker.topics.samples, key=message.key, value=message.value, timestamp_ms=now
        )
        sent[json.loads(message.value)["sample_id"]] = now
    producer.flush()
    producer.close()

    def all_back() -> bool:
        verdicts.poll()
        return all(s in verdicts.ts for s in sent)

    wait_until(all_back, 60, "the verdicts of the paced samples")
    lat = sorted(verdicts.ts[s] - t for s, t in sent.items())
    return statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]


def stop_all(workers: list[WorkerProcess], verdicts: Verdicts) -> None:
    for w in workers:
        w.stop()
    verdicts.close()


def phase(
    args: argparse.Namespace,
    bootstrap: str,
    workdir: Path,
    label: str,
    name: str,
    count: int,
    expected: int,
    say: Callable[[str], None],
    broker: int,
    paced: float | None = None,
) -> Result:
    """``count`` driftmon workers on the pre-loaded topic with a fresh store: throughput, then
    produce-to-verdict latency at ``paced`` samples/s (default: half their own rate)."""
    store = f"sqlite:///{workdir / f'{name}.db'}"
    upgrade(store)
    cfg = worker_config(
        bootstrap, "bench-samples", name, store, args.partitions, args.stack, args.assignment
    )
    res, workers, verdicts = run_workers(label, cfg, count, bootstrap, expected, workdir, broker)
    say(f"{label}: {res.rate:,.0f} samples/s; measuring latency")
    try:
        rate = paced if paced is not None else res.rate / 2
        res.latency_ms = measure_latency(
            bootstrap, cfg, verdicts, rate, args.latency_seconds, count
        )
    finally:
        stop_all(workers, verdicts)
    return res


def bench(args: argparse.Namespace, say: Callable[[str], None]) -> list[Result]:
    workdir = Path(tempfile.mkdtemp(prefix="driftmon-throughput-"))
    with EmbeddedBroker(log_path=workdir / "tansu.log") as broker:
        b = broker.bootstrap
        assert broker.pid is not None
        base = parse_config({"simulator": {"seed": args.seed}})
        ensure_topics(b, ["bench-samples", "bench-many"], args.partitions)
        n, good = preload(b, "bench-samples", TrafficSimulator(base.simulator, START), args.samples)
        say(f"pre-loaded {n:,} messages ({good:,} well-formed) on {args.partitions} partitions")
        results = []
        for role in ("faust", "aiokafka"):
            results.append(run_ceiling(role, b, "bench-samples", n, workdir))
            say(f"{role}: {results[-1].rate:,.0f} messages/s")
        res = phase(args, b, workdir, "one worker", "one", 1, good, say, broker.pid)
        results.append(res)
        total_good = good + int(res.rate / 2 * args.latency_seconds)
        # the same paced rate as for one worker, so that the two latencies compare
        results.append(
            phase(
                args, b, workdir, "two workers", "two", 2, total_good, say, broker.pid, res.rate / 2
            )
        )
        many_sim = parse_config({"simulator": {"seed": args.seed, **MANY}}).simulator
        _, many_good = preload(b, "bench-many", TrafficSimulator(many_sim, START), args.samples)
        store = f"sqlite:///{workdir / 'many.db'}"
        upgrade(store)
        many = worker_config(
            b, "bench-many", "many", store, args.partitions, args.stack, args.assignment
        )
        res3, workers, verdicts = run_workers(
            "one worker, many segments", many, 1, b, many_good, workdir, broker.pid
        )
        stop_all(workers, verdicts)
        results.append(res3)
    return results


def report(results: list[Result], args: argparse.Namespace) -> str:
    by = {r.name: r for r in results}
    a, b, c, d, e = (
        by[k]
        for k in ("faust", "aiokafka", "one worker", "two workers", "one worker, many segments")
    )
    lines = [
        f"driftmon throughput: {args.samples:,} samples, {args.partitions} partitions, "
        f"seed {args.seed}, {args.stack} classifiers, {args.assignment} assignment, "
        f"{os.cpu_count()} CPU(s), embedded Tansu",
        "",
        "| reader | samples/s | CPU µs/sample | peak RSS per process (MiB) | p50 / p95 "
        "produce→verdict (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {
        "faust": "(a) bare Faust agent, json.loads",
        "aiokafka": "(b) bare aiokafka consumer, json.loads",
        "one worker": "(c) one driftmon worker",
        "two workers": "(d) two driftmon workers",
        "one worker, many segments": "(e) one driftmon worker, many segments",
    }
    for r in results:
        lat = f"{r.latency_ms[0]:.0f} / {r.latency_ms[1]:.0f}" if r.latency_ms else "-"
        rss = " + ".join(f"{x:.0f}" for x in r.rss_mib)
        lines.append(f"| {labels[r.name]} | {r.rate:,.0f} | {r.cpu_us:,.0f} | {rss} | {lat} |")
    per_k = (e.rss_mib[0] - c.rss_mib[0]) / max(e.segments - c.segments, 1) * 1000
    lines += [
        "",
        f"c/a = {c.rate / a.rate:.2f} (target >= 0.5)   c/b = {c.rate / b.rate:.2f}   "
        f"d/c = {d.rate / c.rate:.2f} (target >= 1.6)   by CPU per sample: c/a = "
        f"{a.cpu_us / c.cpu_us:.2f}, c/b = {b.cpu_us / c.cpu_us:.2f}",
        f"segments: (c) {c.segments} with {c.streams} detector streams, (e) {e.segments} with "
        f"{e.streams} streams; peak RSS per 1,000 segments ≈ {per_k:,.0f} MiB "
        f"(({e.rss_mib[0]:.0f} - {c.rss_mib[0]:.0f}) MiB / {e.segments - c.segments} segments)",
        f"(d) the busiest worker read {max(d.shares):.0%} of the samples (samples are keyed by "
        f"segment, and segments are unequal): at most {1 / max(d.shares):.2f}x one worker "
        "even with a free core each",
        f"broker CPU µs/sample: (c) {c.broker_cpu_us:,.0f}, (d) {d.broker_cpu_us:,.0f}; "
        f"this benchmark's own (reading every verdict): (c) {c.driver_cpu_us:,.0f}, "
        f"(d) {d.driver_cpu_us:,.0f}; cores busy in (d), workers + broker + benchmark: "
        f"{(d.cpu_us + d.broker_cpu_us + d.driver_cpu_us) * d.rate / 1e6:.2f} of "
        f"{os.cpu_count()}; "
        # rate x CPU per sample: the cores the workers kept busy, steadier than d/c on a host
        # where a sample's CPU cost drifts between phases
        f"workers' cores, (d) over (c): {d.cpu_us * d.rate / (c.cpu_us * c.rate):.2f}",
        f"latency measured at {c.rate / 2:,.0f} samples/s (half of (c)) for "
        f"{args.latency_seconds:.0f} s; load average at the end {os.getloadavg()[0]:.1f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000, help="messages to pre-load")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of every topic")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    parser.add_argument(
        "--stack",
        default="default",
        help="classifier stack of the workers: rules, learned, or default (the config's)",
    )
    parser.add_argument(
        "--assignment",
        choices=("load", "round_robin"),
        default="load",
        help="how the workers share partitions (broker.assignment)",
    )
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="paced phase length")
    parser.add_argument("--role", choices=("faust", "aiokafka"), help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "faust":
        faust_ceiling(args.bootstrap, args.topic, args.expect, args.out)
        return 0
    if args.role == "aiokafka":
        aiokafka_ceiling(args.bootstrap, args.topic, args.expect, args.out)
        return 0
    if args.samples < 1000:
        parser.error(f"--samples must be at least 1000, got {args.samples}")
    started = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f}s] {msg}", file=sys.stderr, flush=True)

    print(report(bench(args, say), args))
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
