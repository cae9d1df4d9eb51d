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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from monitor.classify import from_config
from monitor.config import Config
from monitor.detect import DriftDetection
from monitor.plan import Tuning
from monitor.schema import (
    CATEGORIES,
    DriftEvent,
    Sample,
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


def read_rows(path: Path) -> tuple[str, Any]:
    """('samples', raw JSON bytes per row) or ('verdicts', a polars frame), from JSONL/Parquet."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = _read(pl.read_parquet, path)
        if "messages" in frame.columns:
            rows = frame.iter_rows(named=True)
            return "samples", (json.dumps(r, default=str).encode() for r in rows)
        return "verdicts", frame
    if suffix not in {".jsonl", ".ndjson", ".json"}:
        raise BacktestError(f"{path}: expected a .jsonl or .parquet file, got {suffix!r}")
    with path.open("rb") as handle:
        head = handle.readline()
    try:
        first = json.loads(head) if head.strip() else {}
    except json.JSONDecodeError as exc:
        raise BacktestError(f"{path}: the first line is not JSON: {exc}") from None
    if isinstance(first, dict) and "messages" not in first and "refusal" in first:
        return "verdicts", _read(pl.read_ndjson, path, infer_schema_length=None)
    return "samples", _lines(path)


def _read(reader: Callable[..., pl.DataFrame], path: Path, **options: Any) -> pl.DataFrame:
    """The whole file as a frame, or a BacktestError saying why polars could not read it."""
    try:
        return reader(path, **options)
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BacktestError(f"{path}: cannot be read: {first[:300]}") from None


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def labelled_columns(frame: pl.DataFrame, segmenter: Segmenter) -> pl.DataFrame:
    """Labelled verdict rows as the columns the detectors read, in file order, without the
    invalid ones (unknown refusal label, missing timestamp or dimension).

    Adds ``row``, the segment dimensions (bounded as the worker bounds them), ``policy_area``,
    ``harmful``, ``refused``, ``under``, ``over``, ``violation`` and ``ts_us``.
    """
    missing = [c for c in VERDICT_COLUMNS if c not in frame.columns]
    if missing:
        raise BacktestError(f"verdict rows need the columns {missing}; found {frame.columns}")
    if frame.schema["ts"] == pl.String:
        frame = frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC"))
    elif frame.schema["ts"] == pl.Datetime and getattr(frame.schema["ts"], "time_zone", None):
        frame = frame.with_columns(pl.col("ts").dt.convert_time_zone("UTC"))
    dims = ("model", "surface", "locale")
    valid = pl.col("refusal").is_in(REFUSALS) & pl.col("ts").is_not_null()
    valid = valid & pl.all_horizontal(pl.col(d).is_not_null() for d in dims)
    frame = frame.with_row_index("row").filter(valid.fill_null(False))
    frame = frame.with_columns(pl.col(d).cast(pl.String) for d in dims)
    frame = frame.with_columns(
        pl.col(d).replace_strict(_bounded(frame[d], d, segmenter), return_dtype=pl.String)
        for d in segmenter.dimensions
    )
    area = pl.lit(None, dtype=pl.String)
    if "categories" in frame.columns:
        known = pl.element().is_in(list(CATEGORIES))
        area = pl.col("categories").list.eval(pl.element().filter(known)).list.first()
    if "policy_area" in frame.columns:
        given = pl.col("policy_area").cast(pl.String)
        area = pl.when(given.is_not_null() & (given != "")).then(given).otherwise(area)
    harmful = _flag(frame, "prompt_harmful")
    refused = pl.col("refusal") != "compliance"
    return frame.with_columns(
        policy_area=area.fill_null("none"),
        harmful=harmful,
        refused=refused,
        under=harmful & ~refused,
        over=refused & ~harmful,
        violation=_flag(frame, "violation"),
        ts_us=pl.col("ts").dt.epoch("us"),
        sample_id=pl.col("sample_id").cast(pl.String),
    )


def _bounded(values: pl.Series, dimension: str, segmenter: Segmenter) -> dict[str, str]:
    """Distinct values in first-seen order, through the dimension's bound."""
    return {v: segmenter.bound(dimension, v) for v in values.unique(maintain_order=True)}


def _flag(frame: pl.DataFrame, column: str) -> pl.Expr:
    """A 0/1 column as a boolean expression (null and absent read False)."""
    if column not in frame.columns:
        return pl.lit(False)
    dtype = frame.schema[column]
    if dtype == pl.Boolean:
        return pl.col(column).fill_null(False)
    if dtype.is_numeric():
        return (pl.col(column) != 0).fill_null(False)
    raise BacktestError(f"column {column!r} must be boolean or 0/1, found {dtype}")


METRIC_ORDER = {"refusal": 0, "under_refusal": 1, "over_refusal": 1, "violation": 2}
"""Within one verdict, the order :func:`monitor.detect.observations` feeds the streams."""


def labelled_events(
    frame: pl.DataFrame, segmenter: Segmenter, detection: DriftDetection
) -> Iterator[DriftEvent]:
    """Drift events from labelled columns (see :func:`labelled_columns`), stream by stream in
    bulk, then put back in the order the per-verdict path raises them."""
    found: list[tuple[int, int, DriftEvent]] = []
    dims = list(segmenter.dimensions)
    for metric, keys, mask, value in (
        ("refusal", dims, None, "refused"),
        ("under_refusal", dims, "harmful", "under"),
        ("over_refusal", dims, "not_harmful", "over"),
        ("violation", [*dims, "policy_area"], None, "violation"),
    ):
        if metric not in detection.metrics:
            continue
        rows = frame
        if mask is not None:
            rows = frame.filter(pl.col("harmful") if mask == "harmful" else ~pl.col("harmful"))
        for part in rows.partition_by(keys, maintain_order=True):
            segment = {k: str(part[k][0]) for k in keys}
            harmful = part["harmful"].to_numpy() if metric == "refusal" else None
            raised = detection.observe_stream(
                segment,
                metric,  # type: ignore[arg-type]
                part[value].to_numpy(),
                part["ts_us"].to_numpy(),
                part["sample_id"].to_list(),
                harmful,
            )
            row = part["row"]
            found.extend((int(row[i]), METRIC_ORDER[metric], e) for i, e in raised)
    found.sort(key=lambda item: item[:2])
    return (event for _, _, event in found)


def backtest(
    cfg: Config, path: Path, tuning: Tuning | None = None
) -> tuple[list[DriftEvent], Summary]:
    """Run segments, classifiers (for samples) and detectors over the file, in order; with
    ``tuning`` (monitor.plan), the detectors a worker with that tuning would build."""
    kind, rows = read_rows(path)
    segmenter = Segmenter(cfg.segments)
    detection = DriftDetection(cfg.detectors, cfg.owners, cfg.severity)
    if tuning is not None:
        detection.retune(tuning)
    summary = Summary()
    started = time.perf_counter()
    if kind == "verdicts":
        events = _labelled(rows, segmenter, detection, summary)
    else:
        events = list(_run(cfg, rows, segmenter, detection, summary))
    summary.seconds = time.perf_counter() - started
    return events, summary


def _labelled(
    frame: pl.DataFrame, segmenter: Segmenter, detection: DriftDetection, summary: Summary
) -> list[DriftEvent]:
    summary.rows = frame.height
    columns = labelled_columns(frame, segmenter)
    summary.verdicts = columns.height
    if summary.rows > columns.height:
        summary.bad["invalid_value"] += summary.rows - columns.height
    events = list(labelled_events(columns, segmenter, detection))
    summary.events.update(e.metric for e in events)
    return events


def _run(
    cfg: Config,
    rows: Iterable[Any],
    segmenter: Segmenter,
    detection: DriftDetection,
    summary: Summary,
) -> Iterator[DriftEvent]:
    """Classify in batches of ``worker.batch_size`` as the worker does (a batch gives the
    verdicts of one call per sample), then observe the verdicts in file order."""
    stack = from_config(cfg.classifiers)
    batch: list[tuple[Sample, dict[str, str]]] = []
    for row in rows:
        summary.rows += 1
        try:
            sample = parse_sample(row, cfg.worker.max_sample_bytes)
            batch.append((sample, segmenter.segment(sample)))
        except (KeyError, TypeError, ValueError) as exc:
            if not isinstance(exc, SampleError):
                exc = SampleError("invalid_value", f"{type(exc).__name__}: {exc}")
            summary.bad[exc.reason] += 1
        if len(batch) >= cfg.worker.batch_size:
            yield from _observe(stack.classify_many(*zip(*batch, strict=True)), detection, summary)
            batch = []
    if batch:
        yield from _observe(stack.classify_many(*zip(*batch, strict=True)), detection, summary)


def _observe(
    verdicts: list[Verdict], detection: DriftDetection, summary: Summary
) -> Iterator[DriftEvent]:
    for verdict in verdicts:
        summary.verdicts += 1
        summary.unclassified += not verdict.classified
        for event in detection.observe(verdict):
            summary.events[event.metric] += 1
            yield event
