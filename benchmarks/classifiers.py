"""Accuracy and speed of the rule-based classifier stack on public human-labelled data.

Run from the repository root::

    python benchmarks/classifiers.py [--data PATH] [--throughput N]

It prints one Markdown table row per figure (paste-ready for a README) with the published
baselines beside, then notes on what was scored and what the rules were tuned on. Every
figure comes from ``ClassifierStack.classify`` on real :class:`~monitor.schema.Sample` objects,
the same call the stream makes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.classify import ClassifierStack, default_stack  # noqa: E402
from monitor.schema import Sample, Verdict  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "labelled" / "labelled.jsonl"
FAMILIES = {
    "gpt4": ("gpt4",),
    "llama2*": ("llama2new", "llama2orig"),
    "mistral*": ("mistralguard", "mistralinstruct"),
}
TS = datetime(2025, 1, 1, tzinfo=UTC)
# Published on xstest_v2 (data README): 3-class accuracy / refused-vs-compliance F1.
PUBLISHED = {
    "XSTest string match": (0.839, 0.879),
    "GPT-4 judge": (0.804, 0.806),
    "human annotators (agreement)": (0.964, 0.979),
}


@dataclass(frozen=True)
class Row:
    data: dict[str, Any]
    verdict: Verdict

    @property
    def gold(self) -> str:
        return str(self.data["refusal_label"])

    @property
    def label(self) -> str | None:
        return self.verdict.refusal.label if self.verdict.refusal is not None else None

    @property
    def harmful(self) -> bool:
        return self.verdict.prompt_harm is not None and self.verdict.prompt_harm.harmful


def sample_of(row: dict[str, Any]) -> Sample:
    messages = []
    if row.get("prompt"):
        messages.append({"role": "user", "content": row["prompt"]})
    messages.append({"role": "assistant", "content": row.get("response") or ""})
    return Sample(
        sample_id=row["id"],
        ts=TS,
        model=row.get("model") or row["source"],
        surface="benchmark",
        locale="en",
        messages=messages,
    )


def f1(pairs: Iterable[tuple[bool, bool]]) -> tuple[float, int]:
    """F1 of the positive class over (gold, predicted) pairs, and how many pairs."""
    tp = fp = fn = n = 0
    for gold, pred in pairs:
        n += 1
        tp += gold and pred
        fp += pred and not gold
        fn += gold and not pred
    return (2 * tp / (2 * tp + fp + fn) if tp else 0.0), n


def heldout(row: dict[str, Any]) -> bool:
    """The half of the moderation/hate rows never looked at while writing the lexicons."""
    return int(hashlib.sha1(row["id"].encode()).hexdigest(), 16) % 2 == 1


def string_match(rows: list[Row], prefixes: list[str]) -> tuple[float, float]:
    """The XSTest paper's rule, re-run here: refused iff the answer starts with a prefix."""
    hits = [r.data["response"].lower().strip().startswith(tuple(prefixes)) for r in rows]
    gold = [r.data["refusal_label"] != "compliance" for r in rows]
    acc = sum(
        (h and r.data["refusal_label"] == "full_refusal")
        or (not h and r.data["refusal_label"] == "compliance")
        for h, r in zip(hits, rows, strict=True)
    ) / len(rows)
    return f1(zip(gold, hits, strict=True))[0], acc


def throughput(stack: ClassifierStack, samples: list[Sample], repeats: int = 3) -> float:
    """Best of ``repeats`` passes, in samples per second on this one core."""
    segment = {"model": "bench", "surface": "benchmark"}
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for sample in samples:
            stack.classify(sample, segment)
        best = min(best, time.perf_counter() - start)
    return len(samples) / best


def table(lines: list[tuple[str, str, str, str, str]]) -> str:
    head = ("figure", "rules stack", "baseline", "n", "scored on")
    out = [f"| {' | '.join(head)} |", f"|{'|'.join('---' for _ in head)}|"]
    out += [f"| {' | '.join(cells)} |" for cells in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled.jsonl path")
    parser.add_argument("--throughput", type=int, default=5000, help="samples to time")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no labelled data at {args.data}; pass --data PATH to labelled.jsonl")
    raw = [json.loads(line) for line in args.data.open(encoding="utf-8")]
    stack = default_stack()
    segment = {"surface": "benchmark"}
    by_source: dict[str, list[Row]] = {}
    for data in raw:
        by_source.setdefault(data["source"], []).append(
            Row(data, stack.classify(sample_of(data), segment))
        )
    lines: list[tuple[str, str, str, str, str]] = []

    def add(name: str, value: float, n: int, baseline: str = "", scope: str = "") -> None:
        lines.append((name, f"{value:.3f}", baseline, str(n), scope))

    xs = [r for r in by_source.get("xstest_v2", []) if r.data["refusal_label"]]
    if not xs:
        parser.error(f"no xstest_v2 rows with a refusal label in {args.data}")
    unclassified = sum(not r.verdict.classified for r in xs)
    sm_f1 = sm_acc = None
    strmatch = args.data.parent / "baseline_lists" / "xstest_strmatch.json"
    if strmatch.is_file() and xs:
        sm_f1, sm_acc = string_match(xs, json.loads(strmatch.read_text())["prefixes"])
    pub_acc, pub_f1 = PUBLISHED["XSTest string match"]
    rerun_f1 = f" (re-run here: {sm_f1:.3f})" if sm_f1 is not None else ""
    rerun_acc = f" (re-run here: {sm_acc:.3f})" if sm_acc is not None else ""

    def refused(r: Row) -> tuple[bool, bool]:
        return r.gold != "compliance", r.verdict.refused

    value, n = f1(map(refused, xs))
    add("xstest_v2 refused-vs-compliance F1", value, n, f"{pub_f1} string match{rerun_f1}", "all")
    for family, models in FAMILIES.items():
        value, n = f1(refused(r) for r in xs if r.data["model"] in models)
        add(f"xstest_v2 refused F1, {family}", value, n, "", family)
    accuracy = sum(r.label == r.gold for r in xs) / len(xs)
    add(
        "xstest_v2 3-class accuracy", accuracy, len(xs), f"{pub_acc} string match{rerun_acc}", "all"
    )
    value, n = f1((r.gold == "partial_refusal", r.label == "partial_refusal") for r in xs)
    add("xstest_v2 partial_refusal F1", value, n, "0 (string match cannot say partial)", "all")
    value, n = f1((bool(r.data["prompt_harmful"]), r.harmful) for r in xs)
    add("xstest_v2 prompt-harm F1 (harmful)", value, n, "", "all, gold prompt_harmful")
    over = (
        (r.gold != "compliance" and not r.data["prompt_harmful"], r.verdict.over_refusal)
        for r in xs
    )
    value, n = f1(over)
    add("xstest_v2 over-refusal F1", value, n, "", "predicted prompt harm")
    under = (
        (r.gold == "compliance" and bool(r.data["prompt_harmful"]), r.verdict.under_refusal)
        for r in xs
    )
    value, n = f1(under)
    add("xstest_v2 under-refusal F1", value, n, "", "predicted prompt harm")

    fuzz = by_source.get("gptfuzz", [])
    split = [r for r in fuzz if r.data.get("meta", {}).get("split") == "evaluate"] or fuzz
    value, n = f1(
        (
            bool(r.data["response_harmful"]),
            r.label == "compliance" and (r.harmful or r.verdict.violation),
        )
        for r in split
    )
    scope = "meta.split=evaluate" if len(split) < len(fuzz) else "all rows (no split)"
    add("gptfuzz harmful-compliance F1", value, n, "", scope)

    moderation = by_source.get("openai_moderation", []) + by_source.get("hatecheck", [])
    for name, rows in (
        ("openai_moderation + hatecheck violation F1", moderation),
        ("  openai_moderation only", by_source.get("openai_moderation", [])),
        ("  hatecheck only", by_source.get("hatecheck", [])),
    ):
        held = [r for r in rows if heldout(r.data)]
        value, n = f1((bool(r.data["response_harmful"]), r.verdict.violation) for r in held)
        add(f"{name} (held-out half)", value, n, "", "sha1(id) odd")
        value, n = f1((bool(r.data["response_harmful"]), r.verdict.violation) for r in rows)
        add(f"{name} (all rows)", value, n, "", "incl. the half read while writing rules")

    timed_rows = [r.data for r in xs] + [r.data for r in fuzz]
    timed = [sample_of(d) for d in timed_rows[: args.throughput]]
    chars = sum(len(s.response) + len(s.prompt) for s in timed) / max(len(timed), 1)
    rate = throughput(default_stack(), timed)
    lines.append(
        (
            "ClassifierStack.classify throughput",
            f"{rate:,.0f} samples/s",
            ">= 3,000 target",
            str(len(timed)),
            f"xstest_v2+gptfuzz, one core, mean {chars:.0f} chars",
        )
    )

    print(table(lines))
    print()
    others = "; ".join(f"{k} {a:.3f} acc / {b:.3f} F1" for k, (a, b) in PUBLISHED.items())
    print(f"Published xstest_v2 references (data README): {others}.")
    print(
        "Notes:\n"
        f"- Stack: {', '.join(f'{k}={v}' for k, v in stack.classifiers.items())}; violation "
        f"threshold {stack.violation_threshold}. Unclassified xstest_v2 rows: {unclassified} "
        "(an unclassified row is never counted as a compliance).\n"
        "- Refusal rules were tuned on xstest_v1 (gpt4, llama2 responses to 200 safe prompts) and "
        "the gptfuzz train split, never on xstest_v2 rows. xstest_v1 shares most prompts and the "
        "gpt4/llama2 model families with xstest_v2, so the mistral* row is the cleanest held-out "
        "figure; gpt4 and llama2* are same-family, different-response.\n"
        "- Prompt-harm rules were tuned on the gptfuzz questions (harmful) and xstest_v1 prompts "
        "(benign), plus hand-written homonym/contrast examples; the xstest_v2 contrast prompts "
        "were not read. Over-/under-refusal use the predicted prompt harm.\n"
        "- During development this script's xstest_v2 figures were looked at three times, with "
        "aggregate counts (per-family refused confusion, per-type prompt-harm recall on gpt4 "
        "rows) but no row text; the fixes made after that came from hand-written examples.\n"
        "- Refusal phrases cover en, es, fr, de, pt, it, ja, zh; prompt-harm and violation rules "
        "are English first (prompt harm has a few es/fr/de core phrases per area).\n"
        "- gptfuzz gold is response_harmful (jailbroken); predicted = refusal label compliance "
        "AND (prompt predicted harmful OR response violation). Scored on the evaluate split.\n"
        "- Violation lexicons were written while reading the other half (sha1(id) even) of "
        "openai_moderation and hatecheck; the held-out line is the honest one. No public set "
        "here has responses in the weapons, CBRN, cyber or privacy areas, so those rules are "
        "unmeasured.\n"
        "- Throughput: best of 3 timed passes of ClassifierStack.classify over pre-parsed "
        "samples in this process (no I/O); other load on the machine lowers it."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
