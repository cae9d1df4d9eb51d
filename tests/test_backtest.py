"""The backtest runs the stream's core over a file: samples or already-labelled verdicts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from monitor.backtest import BacktestError, backtest
from monitor.classify import default_stack
from monitor.cli import app
from monitor.config import Config, parse_config
from monitor.schema import parse_sample
from monitor.segments import Segmenter
from monitor.simulate import TrafficSimulator

START = datetime(2026, 11, 16, tzinfo=UTC)
N = 30_000


@pytest.fixture(scope="module")
def cfg() -> Config:
    drift = {"after_seconds": 75, "model": "atlas-2", "surface": "chat"}
    return parse_config({"simulator": {"seed": 4, "bad_fraction": 0.001, "drift": drift}})


@pytest.fixture(scope="module")
def samples(cfg: Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bt") / "samples.jsonl"
    path.write_bytes(
        b"".join(m.value + b"\n" for m in TrafficSimulator(cfg.simulator, START).take(N))
    )
    return path


@pytest.fixture(scope="module")
def labelled(cfg: Config, samples: Path) -> list[dict]:
    return labelled_rows(cfg, samples)


def labelled_rows(cfg: Config, samples: Path) -> list[dict]:
    stack, segmenter, rows = default_stack(), Segmenter(cfg.segments), []
    parsed = []
    for line in samples.read_bytes().splitlines():
        try:
            parsed.append(parse_sample(line))
        except ValueError:
            continue
    segments = [segmenter.segment(s) for s in parsed]
    verdicts = [
        v
        for i in range(0, len(parsed), 256)
        for v in stack.classify_many(parsed[i : i + 256], segments[i : i + 256])
    ]
    for sample, v in zip(parsed, verdicts, strict=True):
        rows.append(
            {
                "sample_id": v.sample_id,
                "ts": v.ts.isoformat(),
                "model": sample.model,
                "surface": sample.surface,
                "locale": sample.locale,
                "policy_area": v.segment["policy_area"],
                "refusal": v.refusal.label,
                "prompt_harmful": v.prompt_harm.harmful,
                "violation": v.violation,
                "categories": sorted(c for c, s in v.violations.items() if s >= 0.5),
            }
        )
    return rows


def key(events: list) -> list[tuple]:
    return sorted((e.id, e.metric, e.change_offset, e.before, e.after) for e in events)


def test_samples_backtest_finds_the_injected_drift(cfg: Config, samples: Path) -> None:
    events, summary = backtest(cfg, samples)
    assert summary.rows == N and summary.verdicts + sum(summary.bad.values()) == N
    assert sum(summary.bad.values()) > 0
    refusal = [e for e in events if e.metric == "refusal"]
    assert refusal and all(e.segment["model"] == "atlas-2" for e in events)


CUSUM = {"name": "bernoulli_cusum", "params": {"arl0": 20_000, "min_events": 100}}


@pytest.mark.parametrize(
    ("fmt", "detector"), [("jsonl", None), ("parquet", None), ("parquet", CUSUM)]
)
def test_labelled_verdicts_give_the_same_events(
    cfg: Config,
    samples: Path,
    labelled: list[dict],
    tmp_path: Path,
    fmt: str,
    detector: dict | None,
) -> None:
    """The columnar path over labels (bulk updates per stream) raises exactly the events the
    per-verdict path raises over the samples, with river's ADWIN and with our CUSUM bank."""
    if detector is not None:
        cfg = cfg.model_copy(update={"detectors": parse_config({"detectors": detector}).detectors})
    rows = labelled
    path = tmp_path / f"verdicts.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        frame = pl.DataFrame(rows).with_columns(pl.col("ts").str.to_datetime(time_zone="UTC"))
        frame.write_parquet(path)
    from_labels, summary = backtest(cfg, path)
    from_samples, _ = backtest(cfg, samples)
    assert summary.verdicts == len(rows)
    assert from_samples and key(from_labels) == key(from_samples)
    assert [e.model_dump() for e in from_labels] == [e.model_dump() for e in from_samples]


def test_cli_writes_events_and_a_summary(samples: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "simulator:\n  seed: 4\n  drift: {after_seconds: 75, model: atlas-2, surface: chat}\n"
    )
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        app, ["backtest", str(samples), "--out", str(out), "-c", str(config)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["rows"] == N and summary["events_by_metric"]["refusal"] >= 1
    assert len(out.read_text().splitlines()) == sum(summary["events_by_metric"].values())


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n")
    result = CliRunner().invoke(app, ["backtest", str(bad)])
    assert result.exit_code == 2 and "x.csv" in result.output
    with pytest.raises(BacktestError):
        backtest(Config(), bad)


def test_a_tuned_backtest_runs_the_thresholds_a_worker_would(
    cfg: Config, labelled: list[dict], tmp_path: Path
) -> None:
    """`--tuned` shares the false-page budget by the store's traffic, as the worker does; each
    event records the ARL0 its stream ran."""
    from datetime import timedelta

    from monitor import migrate
    from monitor.store import Store
    from monitor.testing import hour_of_traffic

    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    n = 36_000  # 10 samples/s in atlas-2/chat/en-US, nothing elsewhere
    Store(url).add_counts([hour_of_traffic(hour, "en-US", n)])
    path = tmp_path / "verdicts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in labelled))
    config = tmp_path / "c.yaml"
    config.write_text(f"store: {{url: '{url}'}}\n")
    out = tmp_path / "events.jsonl"
    args = ["backtest", str(path), "--out", str(out), "-c", str(config)]
    result = CliRunner().invoke(app, [*args, "--tuned"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    refusal = [e for e in events if e["metric"] == "refusal" and e["segment"]["locale"] == "en-US"]
    assert refusal, "the injected rise is still found"
    # 3 streams in the store (refusal, over-refusal, violation): 3 weeks each, at 10/s over
    # the counted hour and the part of the current one gone by now (5 to 10/s)
    (arl0,) = {e["detector_params"]["arl0"] for e in refusal}
    assert 9_000_000 <= arl0 <= 18_000_000
    untuned = CliRunner().invoke(app, args)
    assert untuned.exit_code == 0
    assert {
        json.loads(line)["detector_params"]["arl0"] for line in out.read_text().splitlines()
    } == {1_000_000}
