"""The command-line edges: offline classify, db upgrade on both backends, produce to a broker."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.broker import BrokerError, EmbeddedBroker, free_port
from monitor.classify import from_config
from monitor.cli import app
from monitor.config import parse_config
from monitor.run import classify_file
from monitor.schema import Verdict, parse_sample
from monitor.segments import Segmenter
from monitor.simulate import TrafficSimulator
from monitor.store import Store
from monitor.testing import consume

runner = CliRunner()
START = datetime(2026, 11, 16, tzinfo=UTC)


def samples_file(tmp_path: Path, n: int = 60) -> Path:
    cfg = parse_config({"simulator": {"seed": 2, "bad_fraction": 0.0}})
    lines = [m.value for m in TrafficSimulator(cfg.simulator, START).take(n)]
    lines[10:10] = [b"{not json", b'{"sample_id": "no-ts"}']
    path = tmp_path / "samples.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    return path


def test_classify_writes_one_verdict_per_good_line(tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    result = runner.invoke(app, ["classify", str(samples_file(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    verdicts = [Verdict.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(verdicts) == 60
    assert "60 verdict(s), 2 bad line(s) skipped" in result.output
    assert all(v.classifiers and v.segment["policy_area"] for v in verdicts)


def test_classify_batches_give_the_verdicts_of_one_call_per_sample(tmp_path: Path) -> None:
    """Batches of 7 (not a divisor of 60) through the batch path, the bar fed every byte."""
    path = samples_file(tmp_path)
    cfg = parse_config({"worker": {"batch_size": 7}})
    out, read = io.StringIO(), []
    assert classify_file(path, cfg, out, read.append) == (60, 2)
    assert sum(read) == path.stat().st_size
    stack, segmenter = from_config(cfg.classifiers), Segmenter(cfg.segments)
    alone = []
    for line in path.read_bytes().splitlines():
        try:
            sample = parse_sample(line)
        except ValueError:
            continue
        alone.append(stack.classify(sample, segmenter.segment(sample)).model_dump_json())
    assert out.getvalue().splitlines() == alone


def test_classify_shows_a_progress_bar_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    args = ["classify", str(samples_file(tmp_path)), "--out", str(out)]
    shown = runner.invoke(app, [*args, "--progress"])
    assert shown.exit_code == 0, shown.output
    assert "classifying samples.jsonl" in shown.output and "100%" in shown.output
    quiet = runner.invoke(app, args)  # not a terminal, and a small file
    assert "classifying" not in quiet.output


@pytest.mark.parametrize(
    "backend", ["sqlite_url", pytest.param("pg_url", marks=pytest.mark.integration)]
)
def test_db_upgrade_creates_the_tables(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(backend)
    result = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    store = Store(url)
    assert store.events() == [] and store.counts() == []
    store.close()


def test_db_upgrade_reports_an_unreachable_server() -> None:
    url = "postgresql+psycopg://postgres:secret@127.0.0.1:1/none"
    result = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 1
    assert "secret" not in result.output


@pytest.mark.integration
def test_produce_publishes_every_line_unchanged(
    broker: EmbeddedBroker, topics: dict, tmp_path: Path
) -> None:
    path = samples_file(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(f"broker:\n  topics:\n    samples: {topics['topics']['samples']}\n")
    args = ["produce", str(path), "--config", str(config), "--bootstrap", broker.bootstrap]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    got = consume(broker.bootstrap, topics["topics"]["samples"], 62)
    expected = [line for line in path.read_bytes().splitlines() if line.strip()]
    assert sorted(got) == sorted(expected)


@pytest.mark.integration
def test_simulate_publishes_the_configured_traffic(
    broker: EmbeddedBroker, topics: dict, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"broker:\n  topics:\n    samples: {topics['topics']['samples']}\n"
        "simulator:\n  rate: 400\n  bad_fraction: 0\n"
        "  drift: {after_seconds: 1, model: atlas-3, factor: 2}\n"
    )
    args = ["simulate", "--duration", "5", "--fast", "-c", str(config), "--bootstrap"]
    result = runner.invoke(app, [*args, broker.bootstrap])
    assert result.exit_code == 0, result.output
    assert "published 2000 simulated message(s)" in result.output
    got = consume(broker.bootstrap, topics["topics"]["samples"], 2000)
    parsed = [parse_sample(v) for v in got]
    assert len({s.sample_id for s in parsed}) == 2000
    assert {s.model for s in parsed} == {"atlas-2", "atlas-3", "nimbus-1"}


# --- mistakes and outages: one line, the right exit code, no traceback -----------------------


def test_an_unwritable_out_is_a_usage_error(tmp_path: Path) -> None:
    samples = samples_file(tmp_path)
    nowhere = tmp_path / "missing" / "out.jsonl"
    for command in ("classify", "backtest"):
        done = runner.invoke(app, [command, str(samples), "--out", str(nowhere)])
        assert done.exit_code == 2, (command, done.output)
        assert f"--out: cannot write {nowhere}" in done.output


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("bad.parquet", b"garbage", "cannot be read: parquet"),
        (
            "verdicts.jsonl",
            b'{"sample_id": "a", "refusal": true}\n{"sample_id": 5, broken\n',
            "cannot be read",
        ),
    ],
)
def test_a_file_polars_cannot_read_is_a_usage_error(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    done = runner.invoke(app, ["backtest", str(path)])
    assert done.exit_code == 2 and says in done.output, done.output


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["produce", "{samples}"], "produce_file"),
        (["simulate", "--duration", "1"], "publish_simulation"),
        (["worker"], "run_worker"),
    ],
)
def test_an_unreachable_broker_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], target: str
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise BrokerError("cannot reach Kafka at 127.0.0.1:1: KafkaTimeoutError")

    monkeypatch.setattr(f"monitor.run.{target}", unreachable)
    args = [a.replace("{samples}", str(samples_file(tmp_path))) for a in command]
    done = runner.invoke(app, [*args, "--bootstrap", "127.0.0.1:1"])
    assert done.exit_code == 1, done.output
    assert done.output.strip() == "driftmon: cannot reach Kafka at 127.0.0.1:1: KafkaTimeoutError"


def test_simulate_takes_only_a_positive_finite_duration() -> None:
    for value in ("nan", "inf", "0"):
        done = runner.invoke(app, ["simulate", "--duration", value, "--bootstrap", "x:1"])
        assert done.exit_code == 2 and "--duration must be a positive number" in done.output


def test_up_refuses_a_bad_store_url_and_reports_an_unreachable_store(tmp_path: Path) -> None:
    bad = runner.invoke(app, ["up", "--store", "notaurl", "--duration", "5"])
    assert bad.exit_code == 2 and "--store must be a sqlite:// or postgresql://" in bad.output
    down = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    gone = runner.invoke(app, ["up", "--store", down, "--duration", "5"])
    assert gone.exit_code == 1 and "driftmon: migrating up to head failed" in gone.output
