"""Weekly report build time for a week of hourly counts of many segments, in SQLite.

Fills a SQLite store with synthetic hourly counts (``--segments`` segments, every hour of the
report's week and of its 4-week baseline) and a few drift events, then times:

- *read*: reading the rows back from the store (``Store.counts``), the floor any report pays;
- *report*: :func:`monitor.report.load` + :func:`monitor.report.build` (the numbers);
- *render*: drawing the charts and writing the self-contained HTML.

It prints each figure and the report/read ratio, which stays comparable on a noisy machine.

    python benchmarks/report.py [--segments 1000] [--baseline-weeks 4]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, this folder would shadow the `detectors` package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import sqlalchemy as sa  # noqa: E402

from monitor.counts import DIMENSIONS, CountRow  # noqa: E402
from monitor.migrate import upgrade  # noqa: E402
from monitor.report import Scope, Week, build, load  # noqa: E402
from monitor.report_charts import charts  # noqa: E402
from monitor.report_render import render_html  # noqa: E402
from monitor.schema import DriftEvent, Interval  # noqa: E402
from monitor.store import COUNTS, Store, make_engine  # noqa: E402

WEEK = Week.parse("2026-W47")
AREAS = ("none", "cyber", "self_harm", "violence", "privacy_pii")
SURFACES = ("chat", "api", "agent", "voice", "batch")
LOCALES = ("en-US", "es-ES", "fr-FR", "de-DE")


def segments(n: int) -> list[tuple[str, str, str, str]]:
    out = []
    per_model = len(AREAS) * len(SURFACES) * len(LOCALES)
    for i in range(n):
        rest, model = i % per_model, f"model-{i // per_model}"
        area, rest = AREAS[rest % len(AREAS)], rest // len(AREAS)
        out.append((model, SURFACES[rest % len(SURFACES)], LOCALES[rest // len(SURFACES)], area))
    return out


def fill(store: Store, n_segments: int, weeks: int, seed: int = 3) -> int:
    rnd = random.Random(seed)
    segs = segments(n_segments)
    start = WEEK.shifted(-weeks).start
    engine = make_engine(store.url)
    total = 0
    for hour_index in range((weeks + 1) * 7 * 24):
        hour = start + timedelta(hours=hour_index)
        rows = []
        for model, surface, locale, area in segs:
            benign, harmful = rnd.randint(5, 40), rnd.randint(0, 15)
            rows.append(
                CountRow(
                    hour, model, surface, locale, area,
                    samples=benign + harmful + 1, classified=benign + harmful, unclassified=1,
                    refusals=harmful, full_refusals=harmful, benign=benign, harmful=harmful,
                    over_refusals=rnd.randint(0, 2), under_refusals=rnd.randint(0, 2),
                    violations=rnd.randint(0, 1),
                )
            )  # fmt: skip
        with engine.begin() as conn:  # new cells only: a plain bulk INSERT, not add_counts
            conn.execute(
                sa.insert(COUNTS),
                [
                    {"hour": r.hour, **dict(zip(DIMENSIONS, r.key[1:], strict=True))}
                    | r.counters()
                    | {"categories": {}}
                    for r in rows
                ],
            )
        total += len(rows)
    change = WEEK.start + timedelta(days=2)
    store.add_events(
        DriftEvent(
            id=f"bench-{i}",
            segment={"model": m, "surface": s, "locale": loc},
            metric="refusal",
            direction="up",
            detector="bernoulli_cusum",
            change_offset=1,
            change_ts=change + timedelta(hours=i),
            detected_ts=change + timedelta(hours=i, minutes=20),
            before=Interval(rate=0.1, low=0.09, high=0.11, n=1000, k=100),
            after=Interval(rate=0.2, low=0.18, high=0.22, n=500, k=100),
            owner="bench",
        )
        for i, (m, s, loc, _) in enumerate(segs[:10])
    )
    engine.dispose()
    return total


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1000)
    parser.add_argument("--baseline-weeks", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        store = Store(url)
        rows, fill_s = timed(lambda: fill(store, args.segments, args.baseline_weeks))
        print(f"filled {rows:,} hourly rows ({args.segments:,} segments) in {fill_s:.1f} s")
        first = WEEK.shifted(-args.baseline_weeks).start
        read, read_s = timed(lambda: store.counts(first, WEEK.end))
        now = datetime(2026, 11, 30, tzinfo=UTC)
        report, report_s = timed(lambda: build(load(store, WEEK, Scope(), now)))
        _, render_s = timed(lambda: render_html(report, charts(report)))
        store.close()
    print(f"read rows:     {read_s:6.2f} s  ({len(read):,} rows)")
    print(f"build report:  {report_s:6.2f} s  ({len(report['headline']):,} headline rows)")
    print(f"render html:   {render_s:6.2f} s  (2 charts)")
    print(f"report / read: {report_s / read_s:6.2f}x")


if __name__ == "__main__":
    main()
