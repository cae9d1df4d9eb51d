"""Backtest throughput: labelled verdicts per second through the stream's detection core.

Builds a Parquet file of seeded labelled verdicts (36 segments, a refusal rise in one), runs
``monitor.backtest.backtest`` over it, and prints verdicts/s beside the cost of merely reading
the same rows with polars (the I/O floor), as a ratio, so a noisy machine still gives a
comparable figure.

    python benchmarks/backtest.py [--rows 300000] [--detector adwin|bernoulli_cusum]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, this folder would shadow the `detectors` package with detectors.py.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import polars as pl  # noqa: E402

from monitor.backtest import backtest  # noqa: E402
from monitor.config import parse_config  # noqa: E402

MODELS, SURFACES, LOCALES = ("a", "b", "c"), ("chat", "api", "agent"), ("en", "es", "fr", "de")


def make(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 11, 16, tzinfo=UTC)
    cols: dict[str, list] = {k: [] for k in ("sample_id", "ts", "model", "surface", "locale")}
    cols.update(refusal=[], prompt_harmful=[], violation=[], categories=[])
    for i in range(rows):
        m, s, loc = rng.choice(MODELS), rng.choice(SURFACES), rng.choice(LOCALES)
        harmful = rng.random() < 0.3
        p = (0.8 if harmful else 0.04) * (2 if (m, s) == ("a", "chat") and i > rows // 2 else 1)
        cols["sample_id"].append(f"v{i}")
        cols["ts"].append(start + timedelta(seconds=i / 100))
        cols["model"].append(m)
        cols["surface"].append(s)
        cols["locale"].append(loc)
        cols["refusal"].append("full_refusal" if rng.random() < p else "compliance")
        cols["prompt_harmful"].append(harmful)
        cols["violation"].append(rng.random() < 0.02)
        cols["categories"].append([])
    pl.DataFrame(cols, schema_overrides={"categories": pl.List(pl.String)}).write_parquet(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--detector", default="adwin")
    args = parser.parse_args()
    cfg = parse_config({"detectors": {"name": args.detector}})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "verdicts.parquet"
        make(path, args.rows)
        started = time.perf_counter()
        n = sum(1 for _ in pl.read_parquet(path).iter_rows(named=True))
        floor = n / (time.perf_counter() - started)
        events, summary = backtest(cfg, path)
    rate = summary.verdicts / summary.seconds
    print(f"detector              {args.detector} {cfg.detectors.params}")
    print(f"verdicts              {summary.verdicts:,}")
    print(f"events                {len(events)} {dict(summary.events)}")
    print(f"backtest              {rate:,.0f} verdicts/s (one core)")
    print(f"polars read floor     {floor:,.0f} rows/s")
    print(f"ratio backtest/floor  {rate / floor:.3f}")
    print("target                200,000 verdicts/s (issue 3)")


if __name__ == "__main__":
    main()
