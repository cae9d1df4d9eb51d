"""Backtest: the stream's core over a file, offline. Same segments, classifiers and detectors.

Input is JSONL or Parquet (read with polars) of either

- **samples** (the Sample contract, with ``messages``): parsed and classified as the worker
  does; bad rows are counted by reason, as the worker's DLQ would; or
- **verdicts already labelled**: ``sample_id, ts, model, surface, locale, refusal,
  prompt_harmful, violation, categories`` (and optionally ``policy_area``).

Rows are processed in file order, which is the order the worker sees within one segment when
the file is produced with ``driftmon produce`` (samples are keyed by model|surface|locale), so
both give the same drift events with the same ids.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from monitor.classify import build_stack
from monitor.config import Config
from monitor.detect import DriftDetection
from monitor.schema import (
    CATEGORIES,
    DriftEvent,
    PromptHarm,
    RefusalScore,
    SampleError,
    Verdict,
    parse_sample,
)
from monitor.segments import Segmenter

VERDICT_COLUMNS = ("sample_id", "ts", "model", "surface", "locale", "refusal", "prompt_harmful")
REFUSALS = ("compliance", "partial_refusal", "full_refusal")


class BacktestError(ValueError):
    """The input file cannot be backtested (unknown format, missing columns)."""


@dataclass
class Summary:
    rows: int = 0
    verdicts: int = 0
    unclassified: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return {
            "rows": self.rows,
            "verdicts": self.verdicts,
            "unclassified": self.unclassified,
            "bad_rows": dict(self.bad),
            "events_by_metric": dict(self.events),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(rate, 1),
        }


def read_rows(path: Path) -> tuple[str, Iterator[Any]]:
    """('samples', raw JSON bytes per row) or ('verdicts', dict per row), from JSONL/Parquet."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pl.read_parquet(path)
        if "messages" in frame.columns:
            rows = frame.iter_rows(named=True)
            return "samples", (json.dumps(r, default=str).encode() for r in rows)
        return "verdicts", _verdict_rows(frame)
    if suffix not in {".jsonl", ".ndjson", ".json"}:
        raise BacktestError(f"{path}: expected a .jsonl or .parquet file, got {suffix!r}")
    with path.open("rb") as handle:
        head = handle.readline()
    try:
        first = json.loads(head) if head.strip() else {}
    except json.JSONDecodeError as exc:
        raise BacktestError(f"{path}: the first line is not JSON: {exc}") from None
    if isinstance(first, dict) and "messages" not in first and "refusal" in first:
        return "verdicts", _verdict_rows(pl.read_ndjson(path, infer_schema_length=None))
    return "samples", _lines(path)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def _verdict_rows(frame: pl.DataFrame) -> Iterator[dict[str, Any]]:
    missing = [c for c in VERDICT_COLUMNS if c not in frame.columns]
    if missing:
        raise BacktestError(f"verdict rows need the columns {missing}; found {frame.columns}")
    if frame.schema["ts"] == pl.String:
        frame = frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC"))
    return frame.iter_rows(named=True)


def labelled_verdict(row: dict[str, Any], segmenter: Segmenter) -> Verdict:
    """A Verdict from an already-labelled row (no classifier run)."""
    refusal = row["refusal"]
    if refusal not in REFUSALS:
        raise SampleError("invalid_value", f"refusal must be one of {REFUSALS}, got {refusal!r}")
    harmful = bool(row["prompt_harmful"])
    categories = [c for c in (row.get("categories") or []) if c in CATEGORIES]
    area = row.get("policy_area") or (categories[0] if categories else "none")
    ts = row["ts"]
    if isinstance(ts, datetime) and ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    segment = segmenter.segment(_Dims(row))
    refused = refusal != "compliance"
    return Verdict.model_construct(
        sample_id=str(row["sample_id"]),
        ts=ts,
        segment={**segment, "policy_area": area},
        refusal=RefusalScore(label=refusal, score=1.0),
        prompt_harm=PromptHarm(harmful=harmful, score=1.0, policy_area=area),
        violations={c: 1.0 for c in categories},
        violation=bool(row.get("violation")),
        over_refusal=refused and not harmful,
        under_refusal=harmful and not refused,
        classifiers={"labels": "file"},
        unclassified=None,
    )


class _Dims:
    def __init__(self, row: dict[str, Any]) -> None:
        self.model, self.surface, self.locale = row["model"], row["surface"], row["locale"]


def backtest(cfg: Config, path: Path) -> tuple[list[DriftEvent], Summary]:
    """Run segments, classifiers (for samples) and detectors over the file, in order."""
    kind, rows = read_rows(path)
    segmenter = Segmenter(cfg.segments)
    detection = DriftDetection(cfg.detectors, cfg.owners)
    summary = Summary()
    started = time.perf_counter()
    events = list(_run(cfg, kind, rows, segmenter, detection, summary))
    summary.seconds = time.perf_counter() - started
    return events, summary


def _run(
    cfg: Config,
    kind: str,
    rows: Iterable[Any],
    segmenter: Segmenter,
    detection: DriftDetection,
    summary: Summary,
) -> Iterator[DriftEvent]:
    stack = build_stack(cfg.classifiers.stack, cfg.classifiers.violation_threshold)
    for row in rows:
        summary.rows += 1
        try:
            if kind == "samples":
                sample = parse_sample(row, cfg.worker.max_sample_bytes)
                verdict = stack.classify(sample, segmenter.segment(sample))
            else:
                verdict = labelled_verdict(row, segmenter)
        except (KeyError, TypeError, ValueError) as exc:
            if not isinstance(exc, SampleError):
                exc = SampleError("invalid_value", f"{type(exc).__name__}: {exc}")
            summary.bad[exc.reason] += 1
            continue
        summary.verdicts += 1
        summary.unclassified += not verdict.classified
        for event in detection.observe(verdict):
            summary.events[event.metric] += 1
            yield event
