"""How soon a change pages: the severity it is detected at, and when the regrade raises it.

A change is graded on the values that confirmed it (``monitor.detect.grade``), and the bigger
it is, the fewer they are: too few for ``critical`` (200 by default). While the event is open,
the worker regrades it on the values since its change point (``monitor.lifecycle.regraded``).
This script measures both on one refusal stream with the default detector and severity
policy: the values from the change to the first event, its severity, and the values until the
regrade makes it ``critical`` (a 1.8× rise, short of critical's 2×, should rarely get there);
and, on streams with no change at a short ARL0 (many false alarms), how many false alarms the
regrade raises.

    python benchmarks/regrade.py [--runs 12] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, this folder would shadow the `detectors` package with detectors.py.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from detectors.rate import Rate  # noqa: E402
from monitor.config import Detectors, Owners, SeverityPolicy  # noqa: E402
from monitor.detect import DriftDetection, regrade  # noqa: E402
from monitor.lifecycle import since_change  # noqa: E402
from monitor.schema import DriftEvent, RefusalScore, Verdict, graver  # noqa: E402

T0 = datetime(2026, 11, 16, tzinfo=UTC)
SEGMENT = {"model": "m", "surface": "chat", "locale": "en", "policy_area": "none"}
CHANGES = ((0.02, 3.0), (0.05, 4.0), (0.1, 1.8), (0.1, 2.0), (0.1, 3.0), (0.2, 2.5))  # 1.8: short
AFTER = 4_000  # values watched after the change
EVERY = 10  # values between two regrades (a refresh)


def verdict(i: int, refused: bool) -> Verdict:
    label = "full_refusal" if refused else "compliance"
    return Verdict(
        sample_id=f"s{i}",
        ts=T0 + timedelta(seconds=i),
        segment=SEGMENT,
        refusal=RefusalScore(label=label, score=0.9),
    )


def since(detection: DriftDetection, event: DriftEvent) -> Rate | None:
    """The rate of the (one) stream since ``event``'s change point, as the worker regrades on."""
    watch = detection.streams[next(iter(detection.streams))].watch
    return since_change(watch, event.change_offset)


def follow(p0: float, factor: float, seed: int, cfg: Detectors) -> tuple[str, int, int | None]:
    """(severity at detection, values to the first event, values to critical or None)."""
    detection, rng, policy = DriftDetection(cfg, Owners()), random.Random(seed), SeverityPolicy()
    change = int(1500 / p0)  # after the warm-up: 1,500 expected events
    event: DriftEvent | None = None
    found = 0
    for i in range(change + AFTER):
        p = p0 * factor if i >= change else p0
        events = [e for e in detection.observe(verdict(i, rng.random() < p)) if i >= change]
        if event is None and events:
            event, found = events[0], i - change + 1
        if event is None:
            continue
        if event.severity == "critical":
            return event.severity, found, found
        if (i - change) % EVERY == 0:
            rate = since(detection, event)
            if rate is not None and regrade(event, rate, policy) == "critical":
                return event.severity, found, i - change + 1
    return (event.severity, found, None) if event else ("none", 0, None)


def false_alarms(streams: int, length: int, seed: int) -> tuple[Counter[str], int]:
    """False alarms on no-change streams at ARL0 = 10⁴, by severity, and how many the regrade
    raises 500 values later."""
    cfg = Detectors(metrics=["refusal"], params={"arl0": 10_000})
    alarms: Counter[str] = Counter()
    raised = 0
    for s in range(streams):
        detection, rng = DriftDetection(cfg, Owners()), random.Random(seed + s)
        pending: list[tuple[int, DriftEvent]] = []
        for i in range(length):
            for e in detection.observe(verdict(i, rng.random() < 0.1)):
                alarms[e.severity] += 1
                pending.append((i + 500, e))
            while pending and pending[0][0] == i:
                _, e = pending.pop(0)
                rate = since(detection, e)
                level = regrade(e, rate, SeverityPolicy()) if rate is not None else "info"
                raised += graver(level, e.severity)
    return alarms, raised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    cfg = Detectors(metrics=["refusal"])  # the default detector and baseline
    print(f"# Severity at detection and after the regrade ({args.runs} runs a change)\n")
    print(
        "| refusal rate | detected at | first event after (median values) | critical at "
        "detection | critical with the regrade | values to critical (median, range) |"
    )
    print("|---|---|---:|---:|---:|---|")
    for p0, factor in CHANGES:
        rows = [follow(p0, factor, args.seed + r, cfg) for r in range(args.runs)]
        levels = Counter(level for level, _, _ in rows)
        found = statistics.median(f for _, f, _ in rows)
        at_detection = sum(level == "critical" for level, _, _ in rows)
        crit = [c for _, _, c in rows if c is not None]
        spread = f"{statistics.median(crit):.0f} ({min(crit)}–{max(crit)})" if crit else "-"
        print(
            f"| {p0:.0%} → {p0 * factor:.0%} | {dict(levels)} | {found:.0f} | "
            f"{at_detection}/{args.runs} | {len(crit)}/{args.runs} | {spread} |"
        )
    alarms, raised = false_alarms(20, 100_000, args.seed + 1000)
    print(
        f"\nno change (p0 = 10%, ARL0 = 10⁴, 20 streams of 100,000 values): "
        f"{sum(alarms.values())} false alarms {dict(alarms)}; raised by the regrade 500 values "
        f"later: {raised}"
    )
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
