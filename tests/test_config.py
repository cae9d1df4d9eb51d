"""Config and CLI misuse: a message naming the key and the problem, exit code 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from monitor.classify import OVERTURN_AT, RefusalCascade, from_config
from monitor.cli import app
from monitor.config import (
    MAX_DURATION,
    Config,
    ConfigError,
    ago,
    duration_seconds,
    load_config,
    parse_config,
)

runner = CliRunner()


def test_defaults_need_no_file() -> None:
    cfg = load_config(None)
    assert cfg == Config()
    assert cfg.broker.bootstrap_servers is None
    assert cfg.segments.dimensions == ["model", "surface", "locale"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"broker": {"partitions": 0}}, "broker.partitions"),
        ({"detectors": {"name": "magic"}}, "unknown detector .magic."),
        ({"detectors": {"name": "adwin", "params": {"arl0": 5}}}, "no parameter"),
        ({"store": {"url": "mysql://x"}}, "store.url"),
        ({"simulator": {"models": {"a": -1}}}, "simulator.models"),
        ({"simulator": {"drift": {"after_seconds": 60, "until_seconds": 30}}}, "simulator.drift"),
        ({"segments": {"allow": {"colour": ["red"]}}}, "segments.allow"),
        ({"worker": {"typo_key": 1}}, "worker.typo_key"),
    ],
)
def test_bad_values_name_the_key(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_config(data, "test.yaml")


def test_cli_exits_2_on_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("broker:\n  partitions: lots\n")
    result = runner.invoke(app, ["classify", str(bad), "--config", str(bad)])
    assert result.exit_code == 2
    assert "broker.partitions" in result.output and "lots" in result.output


@pytest.mark.parametrize(
    "text", ["broker: [1, 2\n", "- just\n- a list\n"], ids=["not-yaml", "not-a-mapping"]
)
def test_cli_exits_2_on_unreadable_config(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = runner.invoke(app, ["db", "upgrade", "--config", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output


def test_cli_exits_2_without_a_broker(tmp_path: Path) -> None:
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "bootstrap" in result.output


def test_cli_exits_2_on_missing_file_and_bad_option() -> None:
    assert runner.invoke(app, ["classify", "/nonexistent.jsonl"]).exit_code == 2
    assert runner.invoke(app, ["up", "--duration", "-5"]).exit_code == 2
    for option, value in [("--duration", "nan"), ("--rate", "inf"), ("--rate", "0")]:
        refused = runner.invoke(app, ["up", option, value])
        assert refused.exit_code == 2 and f"{option} must be a positive number" in refused.output


@pytest.mark.parametrize(
    ("section", "values"),
    [("simulator", {"rate": ".inf"}), ("worker", {"flush_interval": ".nan"})],
)
def test_config_numbers_must_be_finite(tmp_path: Path, section: str, values: dict) -> None:
    """YAML spells infinity .inf: a simulator at an infinite rate would spin, a flush every
    NaN seconds never come."""
    path = tmp_path / "inf.yaml"
    path.write_text(f"{section}:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items()))
    with pytest.raises(ConfigError, match="finite number"):
        load_config(path)
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


def test_unknown_classifier_names_the_role() -> None:
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*no classifier 'magic' for refusal"):
        parse_config({"classifiers": {"stack": "magic"}})
    assert parse_config({"classifiers": {"stack": {"refusal": "rules"}}})


def test_the_refusal_and_violation_roles_take_a_list() -> None:
    cfg = parse_config({"classifiers": {"stack": {"violation": ["rules", "learned"]}}})
    assert cfg.classifiers.stack == {"violation": ["rules", "learned"]}
    assert parse_config({}).classifiers.stack["violation"] == ["rules", "learned"]
    assert parse_config({}).classifiers.stack["refusal"] == ["rules", "learned"]
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*prompt_harm: one classifier name"):
        parse_config({"classifiers": {"stack": {"prompt_harm": ["rules", "learned"]}}})
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*list of classifiers is empty"):
        parse_config({"classifiers": {"stack": {"violation": []}}})
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*refusal: the list .* is empty"):
        parse_config({"classifiers": {"stack": {"refusal": []}}})


def test_the_overturn_score_is_configured_and_checked() -> None:
    assert parse_config({}).classifiers.refusal_overturn_at == OVERTURN_AT
    cfg = parse_config({"classifiers": {"refusal_overturn_at": 0.9}})
    cascade = from_config(cfg.classifiers).refusal
    assert isinstance(cascade, RefusalCascade) and cascade.overturn_at == 0.9
    with pytest.raises(ConfigError, match=r"classifiers\.refusal_overturn_at"):
        parse_config({"classifiers": {"refusal_overturn_at": 1.5}})
    with pytest.raises(ConfigError, match=r"classifiers\.stack.*no classifier 'magic' for viol"):
        parse_config({"classifiers": {"stack": {"violation": ["rules", "magic"]}}})


@given(st.from_regex(r"([0-9]{1,14}(y|w|d|h|m|s|ms)){1,3}", fullmatch=True))
def test_a_duration_is_refused_or_a_span_dates_can_move_by(text: str) -> None:
    """Durations come from config files, CLI options and query strings: however large the
    number, the answer is a ValueError or a span a datetime can be moved by both ways."""
    try:
        seconds = duration_seconds(text)
    except ValueError:
        return
    assert 0 < seconds <= MAX_DURATION
    now = datetime.now(UTC)
    assert ago(text, now) < now < now + timedelta(seconds=seconds)


def test_durations_read_like_prometheus_and_stay_within_a_century() -> None:
    assert duration_seconds("1h30m") == 5400 and duration_seconds("100y") == MAX_DURATION
    for bad, says in [("100y1s", "at most 100y"), ("0s", "longer than zero"), ("5m1h", "like")]:
        with pytest.raises(ValueError, match=says):
            duration_seconds(bad)
