"""Where a learned refusal head may overturn the rules' compliance: false and recovered
refusals on simulated traffic, per threshold.

Run from the repository root::

    python benchmarks/overturn.py [--samples N] [--seed S]

Classifies ``N`` messages of the default simulator (seed ``S``) with ``RuleRefusal`` and
``LearnedRefusal`` and, for each threshold, counts against the simulator's truth what
:class:`monitor.classify.RefusalCascade` would do: the refusals it adds that are false, and the
refusals the rules missed that it recovers. This is how ``OVERTURN_AT`` was chosen: on traffic
that no held-out figure is computed on, so the labelled data's figures stay untuned.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # before benchmarks/detectors.py

from monitor.classify import OVERTURN_AT, RefusalCascade
from monitor.config import Simulator
from monitor.learned import LearnedRefusal
from monitor.rules import RuleRefusal
from monitor.schema import parse_sample
from monitor.simulate import TrafficSimulator

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="messages to simulate")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error(f"--samples must be at least 1, got {args.samples}")
    sim = TrafficSimulator(Simulator(seed=args.seed), datetime(2025, 1, 1, tzinfo=UTC))
    good = [m for m in sim.take(args.samples) if m.truth is not None]
    samples = [parse_sample(m.value) for m in good]
    truth = [m.truth["refusal"] != "compliance" for m in good]
    prompts, responses = [s.prompt for s in samples], [s.response for s in samples]
    rules, learned = RuleRefusal(), LearnedRefusal()
    by_rules = [
        rules.refusal(p, r).label != "compliance" for p, r in zip(prompts, responses, strict=True)
    ]
    missed = sum(t and not r for t, r in zip(truth, by_rules, strict=True))
    false = sum(r and not t for t, r in zip(truth, by_rules, strict=True))
    print(
        f"{len(good):,} simulated samples, {sum(truth):,} refusals; the rules alone: "
        f"{false} false refusals, {missed} missed"
    )
    print()
    print("| overturn at | false refusals added | missed refusals recovered |")
    print("|---:|---:|---:|")
    for at in THRESHOLDS:
        cascade = RefusalCascade([rules, learned], overturn_at=at)
        labels = [a.label != "compliance" for a in cascade.refusal_many(prompts, responses)]
        added = sum(c and not r and not t for c, r, t in zip(labels, by_rules, truth, strict=True))
        found = sum(c and not r and t for c, r, t in zip(labels, by_rules, truth, strict=True))
        mark = " (shipped)" if at == OVERTURN_AT else ""
        print(f"| {at}{mark} | {added} | {found} of {missed} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
