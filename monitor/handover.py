"""Moving verdict partitions between workers without losing or repeating a verdict.

Verdicts are keyed by segment, so each detector lives in the worker that owns its verdict
partition. When partitions move (a worker joins, leaves, or dies), this module:

- on revocation, writes everything owed (counts, detector states, the ledger's cuts) before
  the partitions are given up;
- on assignment, forgets the partitions that went elsewhere and takes over the new ones from
  the store: their cuts into the ledger, their detector streams into the detectors. If the
  store is down then, the detect agent waits for it on the first verdict of such a partition;
- after each successful write, commits the verdicts topic's offsets up to what the store
  holds (Faust's own acking is off for that topic), so Kafka never runs ahead of the store.

It also checks the broker every few seconds (``driftmon_broker_up``) for the health endpoints.
See docs/guarantees.md for what this guarantees and what it does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import faust
from faust.types import TP

from monitor.ledger import UNPARTITIONED, Admission, parse_source
from monitor.store import StoreError

if TYPE_CHECKING:
    from monitor.app import Pipeline, Writes

log = logging.getLogger("driftmon.worker")


class Handover:
    """The rebalance and commit glue between one Faust app and its :class:`Pipeline`."""

    def __init__(self, app: faust.App, pipeline: Pipeline, verdicts_topic: str) -> None:
        self.app = app
        self.p = pipeline
        self.topic = verdicts_topic
        self._lock = asyncio.Lock()  # one store write at a time: a handover waits for the last
        self._committed: dict[int, int] = {}
        self.broker_up: bool | None = None  # unknown until the first check
        self.assigned: frozenset[int] = frozenset()

    # --- writes ---------------------------------------------------------------------------

    async def write(self, writes: Writes) -> bool:
        """Write to the store (in a thread), keep what failed, commit what the store holds."""
        async with self._lock:
            unwritten, error = await asyncio.to_thread(self.p.write, writes)
            self.p.requeue(unwritten)
            if error is not None:
                log.error("store write deferred to the next flush: %s", error)
            await self._commit()
            return error is None

    async def _commit(self) -> None:
        """Commit verdict offsets the store's cuts cover; skipped (not fatal) if it fails."""
        offsets = {
            TP(self.topic, p): o
            for p, o in self.p.ledger.committable().items()
            if p in self.assigned and self._committed.get(p) != o
        }
        if not offsets or not self.broker_up:
            return
        try:
            # Faust's own commit path (acks) is off for this topic; this is its driver call.
            done = await self.app.consumer._commit(offsets)
        except Exception as exc:  # a rebalance or an outage: the next write commits again
            log.info("verdict offsets not committed: %s", exc)
            return
        if done:
            self._committed.update({tp.partition: o for tp, o in offsets.items()})
            with contextlib.suppress(Exception):  # lag metric bookkeeping only
                self.app.monitor.on_tp_commit(offsets)

    # --- rebalance ------------------------------------------------------------------------

    async def on_revoked(self, revoked: set[TP]) -> None:
        """Before partitions go: write everything owed (counts, all dirty states, cuts)."""
        if any(tp.topic == self.topic for tp in revoked):
            await self.write(self.p.take_writes())

    async def on_assigned(self, assigned: set[TP]) -> None:
        mine = frozenset(tp.partition for tp in assigned if tp.topic == self.topic)
        previous, self.assigned = self.assigned, mine
        lost = set(previous | self.p.ledger.partitions) - mine
        lost.discard(UNPARTITIONED)
        if lost:
            self.p.release(lost)
            for partition in lost:
                self._committed.pop(partition, None)
            log.warning("verdict partitions %s moved to another worker", sorted(lost))
        new = mine - self.p.ledger.partitions
        if new:
            with contextlib.suppress(StoreError):
                await self._resume(set(new))

    async def _resume(self, partitions: set[int], only_assigned: bool = True) -> None:
        try:
            stored = await asyncio.to_thread(self.p.store.load_states)
        except StoreError as exc:
            self.p.metrics.store_errors.labels("detector_state").inc()
            self.p.metrics.store_up.set(0)
            log.error("verdict partitions %s wait for the store: %s", sorted(partitions), exc)
            raise
        self.p.metrics.store_up.set(1)
        partitions = {
            p
            for p in partitions
            if (p in self.assigned or not only_assigned) and p not in self.p.ledger
        }
        restored = self.p.resume(partitions, stored)
        log.warning(
            "continuing %d detector baseline(s) from the store for verdict partitions %s",
            restored,
            sorted(partitions),
        )

    async def admit(self, message: Any) -> Admission:
        """The ledger's decision on one verdict message; waits for the store if its partition
        could not be taken over yet (never applies a verdict without knowing the cuts)."""
        partition = message.partition
        delay = 0.5
        while partition not in self.p.ledger:
            try:
                await self._resume({partition}, only_assigned=False)
            except StoreError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        return self.p.ledger.admit(partition, message.offset, parse_source(message.headers))

    # --- broker ---------------------------------------------------------------------------

    async def check_broker(self, bootstrap: str, timeout: float = 2.0) -> bool:
        """Can any bootstrap server be reached? Sets ``driftmon_broker_up``."""
        up = False
        for server in bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, int(port)), timeout
                )
            except (OSError, ValueError, TimeoutError):
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            up = True
            break
        if up != self.broker_up and (self.broker_up is not None or not up):
            (log.warning if up else log.error)(
                "broker %s %s", bootstrap, "reachable again" if up else "unreachable"
            )
        self.broker_up = up
        self.p.metrics.broker_up.set(1 if up else 0)
        return up

    def health(self) -> dict[str, Any]:
        """What /healthz and /readyz report: broker, store, owned verdict partitions."""
        store = self.p.metrics.registry.get_sample_value("driftmon_store_up")
        return {
            "broker": {True: "up", False: "down", None: "unknown"}[self.broker_up],
            "store": {1.0: "up", 0.0: "down"}.get(store if store is not None else -1, "unknown"),
            "verdict_partitions": sorted(self.assigned),
        }
