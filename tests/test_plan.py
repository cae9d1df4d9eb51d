"""`driftmon detectors plan`: ARL0 and expected delays from stated or observed traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import parse_config
from monitor.counts import CountRow
from monitor.plan import CHANGES, observed, plan, stated


def test_stated_traffic_gives_three_streams_per_segment_with_shrinking_delays() -> None:
    cfg = parse_config({"detectors": {"name": "bernoulli_cusum"}})
    rows = plan(cfg, stated(cfg))
    assert len(rows) == 3 * 3 * 3 * 4
    total = sum(r.per_hour for r in rows if r.metric == "refusal")
    assert abs(total - cfg.simulator.rate * 3600) < 1e-6
    for row in rows:
        up25, up50, x2, down25 = row.delays
        assert row.arl0 == 100_000
        assert up25 is not None and up50 is not None and x2 is not None
        assert x2 < up50 < up25 and down25 is not None


def test_budget_gives_busier_streams_a_larger_arl0() -> None:
    cfg = parse_config({"detectors": {"name": "bernoulli_cusum", "budget_pages_per_week": 1}})
    rows = plan(cfg, stated(cfg))
    busy = max(rows, key=lambda r: r.per_hour)
    quiet = min(rows, key=lambda r: r.per_hour)
    assert abs(busy.arl0 / quiet.arl0 - busy.per_hour / quiet.per_hour) < 1e-9
    weeks = sum(r.per_hour * 24 * 7 / r.arl0 for r in rows)
    assert abs(weeks - 1.0) < 1e-9, "the streams together expect one false page a week"


def test_observed_traffic_from_hourly_counts() -> None:
    hour = datetime(2026, 11, 20, 10, tzinfo=UTC)
    rows = [
        CountRow(
            hour,
            "m",
            "chat",
            "en",
            "none",
            samples=3600,
            classified=3600,
            refusals=360,
            harmful=720,
            benign=2880,
            over_refusals=144,
            under_refusals=72,
        ),
        CountRow(hour - timedelta(days=30), "old", "chat", "en", "none", samples=10, classified=10),
    ]
    (traffic,) = observed(rows, hour - timedelta(days=7))
    assert traffic.segment == "m|chat|en" and traffic.per_second == 1.0
    assert (traffic.refusal, traffic.harmful_share) == (0.1, 0.2)
    assert (traffic.over_refusal, traffic.under_refusal) == (0.05, 0.1)


def test_cli_prints_the_table_and_says_when_nothing_is_promised() -> None:
    result = CliRunner().invoke(app, ["detectors", "plan"])
    assert result.exit_code == 0
    assert "not calibrated" in result.output
    assert all(label in result.output for label, _ in CHANGES)
