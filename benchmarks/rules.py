"""Cost of each rule-based classifier per sample, and what the prompt-harm word gate saves.

Run from the repository root::

    python benchmarks/rules.py [--data PATH] [--samples N] [--repeats R]

Times ``RuleRefusal``, ``RulePromptHarm`` and ``RuleViolation`` on the first ``N`` xstest_v2
and gptfuzz rows of the labelled data (the rows ``benchmarks/classifiers.py`` times), best of
``R`` passes each. The prompt-harm classifier is then timed with its word gate on and off
(:class:`monitor.rules.WordGated` searching every pattern regardless), alternating in the same
process, and the ratio printed: this machine is shared, so only the ratio is comparable across
runs. The gate-off passes still read the word openings, so the ratio slightly understates the
saving.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor import rules, train

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/labelled/labelled.jsonl"


def best_us(run: Callable[[], Any], n: int, repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``run``, in µs per item of ``n``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled.jsonl path")
    parser.add_argument("--samples", type=int, default=5000, help="rows to time")
    parser.add_argument("--repeats", type=int, default=5, help="passes; the best one counts")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no labelled data at {args.data}; pass --data PATH to labelled.jsonl")
    rows = [r for r in train.load_rows(args.data) if r["source"] in ("xstest_v2", "gptfuzz")]
    pairs = [(r["prompt"] or "", r["response"] or "") for r in rows[: args.samples]]
    n = len(pairs)
    refusal, harm, violation = rules.RuleRefusal(), rules.RulePromptHarm(), rules.RuleViolation()

    def judge_harm() -> None:
        for prompt, _ in pairs:
            harm.prompt_harm(prompt)

    parts: dict[str, Callable[[], Any]] = {
        "refusal": lambda: [refusal.refusal(p, r) for p, r in pairs],
        "prompt harm": judge_harm,
        "violation": lambda: [violation.violations(r) for _, r in pairs],
    }
    print(f"rule classifiers, {n:,} xstest_v2/gptfuzz rows, best of {args.repeats} passes")
    for name, run in parts.items():
        print(f"{name:12s} {best_us(run, n, args.repeats):7.1f} µs/sample")

    gated = rules.WordGated.search
    times: dict[str, list[float]] = {"gate on": [], "gate off": []}
    try:
        for _ in range(args.repeats):
            for label, search in (("gate on", gated), ("gate off", _ungated)):
                rules.WordGated.search = search  # type: ignore[method-assign]
                times[label].append(best_us(judge_harm, n, 1))
    finally:
        rules.WordGated.search = gated  # type: ignore[method-assign]
    on, off = min(times["gate on"]), min(times["gate off"])
    print(f"prompt harm, word gate on {on:.1f} / off {off:.1f} µs/sample: ratio {on / off:.2f}")
    return 0


def _ungated(self: rules.WordGated, text: str, openings: object) -> Any:
    return self.pattern.search(text)


if __name__ == "__main__":
    raise SystemExit(main())
