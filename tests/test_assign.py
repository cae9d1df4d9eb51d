"""Partitions dealt by load: the pure deal, and the assignor against the embedded broker."""

from __future__ import annotations

import uuid

import faust
import pytest
from faust.assignor.client_assignment import ClientAssignment
from hypothesis import given
from hypothesis import strategies as st
from kafka import KafkaProducer

import monitor.assign
from monitor.assign import deal, load_assignor, partition_sizes
from monitor.broker import EmbeddedBroker, ensure_topics


@given(
    st.dictionaries(st.integers(0, 63), st.floats(0, 1e6), min_size=1, max_size=40),
    st.integers(1, 6),
)
def test_every_partition_goes_to_one_owner_and_the_busiest_is_near_the_mean(
    load: dict[int, float], n_owners: int
) -> None:
    names = [f"w{i}" for i in range(n_owners)]
    owners = {name: sorted(load)[i::n_owners] for i, name in enumerate(names)}
    dealt = deal(owners, load)
    assert set(dealt) == set(names)
    assert sorted(p for ps in dealt.values() for p in ps) == sorted(load)
    carried = [sum(load[p] for p in ps) for ps in dealt.values()]
    # longest processing time first: the busiest owner is within one partition of the mean
    assert max(carried) <= sum(load.values()) / n_owners + max(load.values()) + 1e-6


@given(st.integers(1, 64), st.integers(1, 6))
def test_without_load_the_deal_is_as_even_as_round_robin(n_partitions: int, n_owners: int) -> None:
    owners = {f"w{i}": list(range(n_partitions))[i::n_owners] for i in range(n_owners)}
    sizes = [len(ps) for ps in deal(owners, {}).values()]
    assert max(sizes) - min(sizes) <= 1


def test_the_keys_of_a_busy_segment_no_longer_decide_the_split() -> None:
    """The shares of the throughput benchmark's four partitions: round robin gives 42/58."""
    dealt = deal({"a": [0, 2], "b": [1, 3]}, {0: 17, 1: 30, 2: 25, 3: 28})
    assert sorted(sum({0: 17, 1: 30, 2: 25, 3: 28}[p] for p in ps) for ps in dealt.values()) == [
        47,
        53,
    ]


def _fill(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    """One batch per message: Tansu answers a partition's end offset with its last batch's
    base offset + 1, which counts messages only when every batch holds one."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for partition, n in per_partition.items():
        for i in range(n):
            producer.send(topic, value=b"x%d" % i, partition=partition)
            producer.flush(timeout=30)
    producer.close()


def _round_robin(topics: list[str]) -> dict[str, ClientAssignment]:
    """What Faust's own assignor gives two members for a four-partition group (with its
    default of one standby replica, listed for every topic)."""
    split = {"member-a": [0, 2], "member-b": [1, 3]}
    return {
        m: ClientAssignment(
            actives={t: list(ps) for t in topics},
            standbys={t: [p for p in range(4) if p not in ps] for t in topics},
        )
        for m, ps in split.items()
    }


def test_the_assignor_deals_the_samples_group_by_messages_held(broker: EmbeddedBroker) -> None:
    tag = uuid.uuid4().hex[:8]
    samples, verdicts = f"assign-samples-{tag}", f"assign-verdicts-{tag}"
    ensure_topics(broker.bootstrap, [samples, verdicts], 4)
    _fill(broker.bootstrap, samples, {0: 10, 1: 40, 2: 30, 3: 20})
    assert partition_sizes(broker.bootstrap, samples, range(4)) == {0: 10, 1: 40, 2: 30, 3: 20}
    assignor = load_assignor(broker.bootstrap, samples)(faust.App("assign-test"))
    assignments = _round_robin([samples, verdicts])
    assert assignor._redeal(assignments, {samples: 0, verdicts: 0})
    dealt = {m: a.actives[samples] for m, a in assignments.items()}
    assert dealt == {"member-a": [0, 1], "member-b": [2, 3]}  # 50 and 50 messages
    # partition p of every topic of the group stays with one member
    assert all(a.actives[verdicts] == a.actives[samples] for a in assignments.values())
    # Faust's standby bookkeeping (one replica: the other member's partitions) stays disjoint
    assert all(not set(a.standbys[samples]) & set(a.actives[samples]) for a in assignments.values())


def test_the_assignor_leaves_faust_alone_when_it_cannot_tell(
    broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"assign-empty-{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap, [topic], 4)
    app = faust.App("assign-test-2")
    empty = load_assignor(broker.bootstrap, topic)(app)
    assignments = _round_robin([topic])
    assert not empty._redeal(assignments, {topic: 0})  # no message anywhere: nothing to weigh
    assert assignments["member-a"].actives[topic] == [0, 2]

    def unreachable(*args: object) -> dict[int, float]:
        raise ConnectionError("broker away")

    with monkeypatch.context() as patched:  # a rebalance goes on without the sizes
        patched.setattr(monitor.assign, "partition_sizes", unreachable)
        assert not empty._redeal(_round_robin([topic]), {topic: 0})

    _fill(broker.bootstrap, topic, {1: 5})
    monkeypatch.setattr(type(app.tables), "changelog_topics", {topic}, raising=False)
    assert not empty._redeal(_round_robin([topic]), {topic: 0})  # a table's: Faust's to place
    assert not empty._redeal(_round_robin([topic]), {"other": 0})  # not this group
