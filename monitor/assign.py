"""Partitions dealt to workers by load, so that two workers split the traffic, not the keys.

Faust hands a group's partitions out round robin: with two workers each takes every other
partition, which for any even partition count is the parity of the key's hash, so a busy
segment makes one worker the busier whatever the partition count (``docs/performance.md``:
58% of the samples in every two-worker run). The assignor here keeps everything Faust decides
(which topics are co-partitioned, tables' standbys, the metadata members exchange) and re-deals
the partitions of the samples topic's group: busiest first, each to the worker with the least
load so far (longest processing time first; the busiest worker ends within one partition's
load of the mean). Partition ``p`` of every topic in the group still goes to one worker, so a
segment's samples and verdicts stay together.

The load of a partition is the number of messages the broker keeps for it (end minus
beginning offset), read when the group rebalances: on a backlog it is exactly the work to do,
on live traffic the long-run share, which is what keyed traffic keeps. When the offsets cannot
be read, or every partition is empty, Faust's own assignment stands.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from faust.assignor import PartitionAssignor
from kafka import KafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

OFFSETS_TIMEOUT_MS = 5000  # a rebalance waits at most this long for the partitions' sizes


def deal(owners: Mapping[str, Collection[int]], load: Mapping[int, float]) -> dict[str, set[int]]:
    """Give every partition of ``owners`` to one of them: the heaviest first, each to the
    owner with the least load (then the fewest partitions, then the first by name).

    >>> deal({"a": [0, 2], "b": [1, 3]}, {0: 17, 1: 30, 2: 25, 3: 28})  # round robin: 42/58
    {'a': {0, 1}, 'b': {2, 3}}
    >>> deal({"a": [0, 2], "b": [1, 3]}, {})  # no load known: as even as round robin
    {'a': {0, 2}, 'b': {1, 3}}
    """
    names = sorted(owners)
    partitions = {p for ps in owners.values() for p in ps}
    dealt: dict[str, set[int]] = {name: set() for name in names}
    carried = dict.fromkeys(names, 0.0)
    for partition in sorted(partitions, key=lambda p: (-load.get(p, 0.0), p)):
        # min() keeps the first of equals, and names are sorted: ties go to the first name
        name = min(names, key=lambda n: (carried[n], len(dealt[n])))
        dealt[name].add(partition)
        carried[name] += load.get(partition, 0.0)
    return dealt


def partition_sizes(bootstrap: str, topic: str, partitions: Collection[int]) -> dict[int, float]:
    """Messages the broker keeps per partition of ``topic`` (raises when it cannot tell)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        request_timeout_ms=OFFSETS_TIMEOUT_MS + 1000,
        bootstrap_timeout_ms=OFFSETS_TIMEOUT_MS,
        enable_auto_commit=False,  # no group: it only reads offsets
    )
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        return {tp.partition: float(max(ends[tp] - starts[tp], 0)) for tp in tps}
    finally:
        consumer.close()


class LoadAssignor(PartitionAssignor):  # type: ignore[misc]
    """Faust's assignor, with the samples topic's group re-dealt by :func:`deal`.

    Faust builds it with the app; :func:`load_assignor` names the topic and the broker.
    """

    topic = ""
    bootstrap = ""

    def _protocol_assignments(
        self,
        assignments: Any,
        cl_distribution: Any,
        tp_distribution: Any,
        topic_groups: Mapping[str, int],
    ) -> Any:
        if self._redeal(assignments, topic_groups):
            cl_distribution = self._get_changelog_distribution(assignments)
            tp_distribution = self._get_external_topic_distribution(assignments)
        return super()._protocol_assignments(
            assignments, cl_distribution, tp_distribution, topic_groups
        )

    def _redeal(self, assignments: Any, topic_groups: Mapping[str, int]) -> bool:
        """Re-deal the group's active partitions in place; False if it left them alone."""
        if self.topic not in topic_groups or len(assignments) < 2:
            return False
        group = [t for t, g in topic_groups.items() if g == topic_groups[self.topic]]
        if set(group) & set(self._table_manager.changelog_topics):
            return False  # tables: their standby replicas are Faust's to place
        if any(set(a.actives) & set(group) != set(group) for a in assignments.values()):
            return False  # a member that does not read every topic of the group
        owners = {m: a.actives[self.topic] for m, a in assignments.items()}
        partitions = {p for ps in owners.values() for p in ps}
        try:
            sizes = partition_sizes(self.bootstrap, self.topic, partitions)
        except Exception as exc:  # a rebalance must not fail for want of a balance
            log.warning("sizes of %s unread (%s): Faust's assignment stands", self.topic, exc)
            return False
        if not any(sizes.values()):
            return False
        dealt = deal(owners, sizes)
        for member, share in dealt.items():
            for topic in group:
                assignments[member].actives[topic] = sorted(share)
                # Faust lists standbys for every topic; a partition is never both (as it does)
                standbys = assignments[member].standbys
                standbys[topic] = sorted(set(standbys.get(topic, ())) - share)
        shares = {m: sum(sizes[p] for p in ps) for m, ps in dealt.items()}
        log.info("partitions of %s dealt by load (messages per member): %s", self.topic, shares)
        return True


def load_assignor(bootstrap: str, topic: str) -> type[LoadAssignor]:
    """The assignor class for an app whose heavy topic is ``topic`` on ``bootstrap``."""
    return type("LoadAssignor", (LoadAssignor,), {"topic": topic, "bootstrap": bootstrap})
