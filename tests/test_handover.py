"""Exactly-once counts and detector continuity across crashes and handovers, without Kafka.

A partitioned log of synthetic verdicts (with their source positions) is fed to a worker's
Pipeline that writes to a shared in-memory store on a cadence, "crashes" at an arbitrary
point (everything in memory is lost), and a second Pipeline takes over from the store,
re-reading from the offset Kafka would have committed, with the classify stage's re-sends
mixed in. The stored counts must equal those of one clean run, and the drift events too.
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.app import Pipeline, _key
from monitor.config import parse_config
from monitor.ledger import Cut, Ledger, parse_source, source_header
from monitor.schema import RefusalScore, Verdict
from monitor.testing import ListStore

START = datetime(2026, 11, 16, 9, tzinfo=UTC)
PARTITIONS = 4
CFG = parse_config({"detectors": {"name": "adwin", "warmup": 100, "min_samples": 30}})
SEGMENTS = list(itertools.product(["atlas-2", "nimbus-1"], ["chat", "api"], ["en-US", "fr-FR"]))
Entry = tuple[int, Verdict, tuple[int, int]]  # (offset, verdict, source)


def build_log() -> dict[int, list[Entry]]:
    """Verdicts of 6,000 samples in 8 segments, partitioned by key like Kafka would; the
    refusal rate of one segment quadruples halfway through."""
    rng = random.Random(3)
    log: dict[int, list[Entry]] = {n: [] for n in range(PARTITIONS)}
    for offset in range(6000):
        model, surface, locale = rng.choice(SEGMENTS)
        drifting = (model, surface, locale) == SEGMENTS[0] and offset >= 3000
        refused = rng.random() < (0.4 if drifting else 0.1)
        verdict = Verdict(
            sample_id=f"s{offset}",
            ts=START + timedelta(milliseconds=10 * offset),
            segment={"model": model, "surface": surface, "locale": locale},
            refusal=RefusalScore(label="full_refusal" if refused else "compliance", score=0.9),
        )
        partition = zlib.crc32(_key(verdict)) % PARTITIONS
        log[partition].append((len(log[partition]), verdict, (0, offset)))
    return log


LOG = build_log()
TOTAL = sum(len(entries) for entries in LOG.values())


def run(p: Pipeline, entries: list[tuple[int, Entry]], flush_every: int, states_every: int):
    """Feed (partition, entry) pairs through the ledger as the detect agent does."""
    events = []
    for n, (partition, (offset, verdict, source)) in enumerate(entries, 1):
        admission = p.ledger.admit(partition, offset, source)
        if admission.apply:
            events += p.detect(verdict, partition, admission)
        if n % flush_every == 0:
            p.requeue(p.write(p.take_writes(states=n % states_every == 0))[0])
    return events


def interleave(log: dict[int, list[Entry]], start: dict[int, int]) -> list[tuple[int, Entry]]:
    """Round-robin over the partitions from each one's start offset (Kafka's fetch order)."""
    iters = {p: iter(entries[start.get(p, 0) :]) for p, entries in log.items()}
    out = []
    while iters:
        for p in list(iters):
            item = next(iters[p], None)
            if item is None:
                del iters[p]
            else:
                out.append((p, item))
    return out


def fresh(store: ListStore) -> Pipeline:
    p = Pipeline(CFG, store_factory=lambda url: store)
    p.resume(set(range(PARTITIONS)), store.load_states())
    return p


def stored_samples(store: ListStore) -> Counter:
    return Counter({row.key: row.samples for row in store.counts()})


CLEAN_STORE = ListStore()
CLEAN_EVENTS = {e.id for e in run(fresh(CLEAN_STORE), interleave(LOG, {}), 200, 1000)}
fresh(CLEAN_STORE).flush()


def test_a_clean_run_counts_everything_and_sees_the_drift() -> None:
    assert sum(stored_samples(CLEAN_STORE).values()) == TOTAL
    assert CLEAN_EVENTS, "the injected drift was detected"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    crash_at=st.integers(1, TOTAL - 1),
    flush_every=st.sampled_from([37, 250, 1000]),
    states_every=st.sampled_from([1, 3, 1_000_000]),
    resent=st.integers(0, 400),
)
def test_a_crash_and_takeover_count_each_verdict_once(
    crash_at: int, flush_every: int, states_every: int, resent: int
) -> None:
    store = ListStore()
    order = interleave(LOG, {})
    first = run(fresh(store), order[:crash_at], flush_every, flush_every * states_every)
    # Kafka's committed offsets: what the store's cuts cover (the handover commits those).
    committed = fresh(store).ledger.committable()
    # The restarted classify stage re-sends the verdicts of the last `resent` samples it had
    # read: same source positions, new verdict offsets at the end of each partition.
    replay_log = {p: list(entries) for p, entries in LOG.items()}
    done = {p: 0 for p in LOG}
    for p, (offset, _, _) in order[:crash_at]:
        done[p] = offset + 1
    resend = sorted(order[:crash_at], key=lambda item: item[1][2][1])[-resent:] if resent else []
    for p, (_, verdict, source) in resend:
        replay_log[p].insert(done[p], (-1, verdict, source))
    for p, entries in replay_log.items():
        replay_log[p] = [(i, v, s) for i, (_, v, s) in enumerate(entries)]
    second = fresh(store)
    events = run(second, interleave(replay_log, committed), 250, 1000)
    second.flush()
    assert stored_samples(store) == stored_samples(CLEAN_STORE)
    assert {e.id for e in first + events} == CLEAN_EVENTS, "the same drift, detected once"


def test_a_worker_that_loses_a_partition_forgets_it_and_the_next_owner_continues() -> None:
    store = ListStore()
    a = fresh(store)
    order = interleave(LOG, {})
    half = len(order) // 2
    run(a, order[:half], 100, 100)
    a.requeue(a.write(a.take_writes())[0])  # the revocation flush
    a.release({0, 1})
    assert all(a._partition_of_stream(s.segment) not in {0, 1} for s in a.detection)
    assert a.ledger.partitions == {2, 3}
    b = Pipeline(CFG, store_factory=lambda url: store)
    restored = b.resume({0, 1}, store.load_states())
    assert restored > 0, "the new owner continues the baselines"
    rest = order[half:]
    run(a, [item for item in rest if item[0] in {2, 3}], 100, 100)
    run(b, [item for item in rest if item[0] in {0, 1}], 100, 100)
    a.flush()
    b.flush()
    assert stored_samples(store) == stored_samples(CLEAN_STORE)


def test_the_ledger_skips_what_the_cuts_hold_and_re_sent_sources() -> None:
    ledger = Ledger()
    ledger.resume(0, counts=Cut(10, {0: 100}), states=None)
    first = ledger.admit(0, 0, (0, 5))
    assert (first.count, first.detect) == (False, True), "states replay from the start"
    assert ledger.admit(0, 0, (0, 5)).reason == "replayed"
    assert ledger.admit(0, 1, (0, 5)).reason == "duplicate"
    assert ledger.committable() == {}, "nothing to commit until states are stored too"
    ledger.stored("states", {0: Cut(1)})
    assert ledger.committable() == {0: 2}
    assert parse_source([("driftmon-source", source_header(3, 9))]) == (3, 9)
