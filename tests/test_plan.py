"""Per-stream tuning (budget → ARL0, small segments → prior) and `driftmon detectors plan`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import parse_config
from monitor.counts import CountRow
from monitor.plan import CHANGES, observed, plan, stated, tuning

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_without_a_budget_every_stream_runs_the_configured_arl0() -> None:
    cfg = parse_config({"detectors": {"budget_pages_per_week": None}})
    rows = plan(cfg, stated(cfg))
    assert len(rows) == 3 * 3 * 3 * 4
    total = sum(r.per_hour for r in rows if r.metric == "refusal")
    assert abs(total - cfg.simulator.rate * 3600) < 1e-6
    for row in rows:
        up25, up50, x2, down25 = row.delays
        assert row.arl0 == 1_000_000
        assert up25 is not None and up50 is not None and x2 is not None
        assert x2 < up50 < up25 and down25 is not None


def test_the_budget_gives_busier_streams_a_larger_arl0_and_sums_to_one_page_a_week() -> None:
    cfg = parse_config({"detectors": {"budget_pages_per_week": 1}})
    rows = plan(cfg, stated(cfg))
    busy = max(rows, key=lambda r: r.per_hour)
    quiet = min(rows, key=lambda r: r.per_hour)
    assert busy.arl0 > quiet.arl0
    assert abs(busy.arl0 / quiet.arl0 / (busy.per_hour / quiet.per_hour) - 1) < 0.1
    pages = sum(r.per_hour * 24 * 7 / r.arl0 for r in rows)
    assert 0.9 < pages < 1.1, "rounded to two digits, the streams still share one page a week"


def row(locale: str, samples: int, refusals: int, area: str = "none", **kw: int) -> CountRow:
    return CountRow(
        HOUR,
        "m",
        "chat",
        locale,
        area,
        samples=samples,
        classified=samples,
        refusals=refusals,
        **kw,
    )


def test_observed_traffic_per_stream_from_hourly_counts() -> None:
    rows = [
        row("en", 3600, 360, harmful=720, benign=2880, over_refusals=144, under_refusals=72),
        row("en", 0, 0, area="cyber", violations=0),
        CountRow(HOUR - timedelta(days=30), "old", "chat", "en", "none", samples=10, classified=10),
    ]
    traffic = {(t.label, t.metric): t for t in observed(rows, HOUR - timedelta(days=7))}
    refusal = traffic[("m|chat|en", "refusal")]
    assert refusal.per_second == 1.0 and refusal.rate == 0.1
    assert traffic[("m|chat|en", "over_refusal")].rate == 0.05
    assert traffic[("m|chat|en", "under_refusal")].rate == 0.1
    assert traffic[("m|chat|en|none", "violation")].per_second == 1.0
    assert not any(seg.startswith("old") for seg, _ in traffic)
    assert refusal.key == ("locale=en|model=m|surface=chat", "refusal")


def test_small_segments_pool_toward_their_parent_and_busy_ones_do_not() -> None:
    cfg = parse_config({"detectors": {"pool_events": 250, "metrics": ["refusal"]}})
    # a week of hours: en sees 100 refusals an hour, is (a tiny locale) 1 refusal a week
    rows = [
        CountRow(
            HOUR - timedelta(hours=h), "m", "chat", loc, "none", samples=n, classified=n, refusals=k
        )
        for h in range(168)
        for loc, n, k in (("en", 1000, 100), ("is", 1 if h % 2 else 0, 1 if h == 1 else 0))
    ]
    traffic = observed(rows, HOUR - timedelta(days=7))
    tuned = tuning(cfg, traffic)
    small = tuned.streams[("locale=is|model=m|surface=chat", "refusal")]
    busy = tuned.streams[("locale=en|model=m|surface=chat", "refusal")]
    assert "prior_rate" not in busy
    parent = (168 * 100 + 1) / (168 * 1000 + 84)
    assert abs(small["prior_rate"] - parent) < 1e-12
    assert abs(small["prior_weight"] * parent - 250) < 1e-6, "worth 250 events of the parent"
    assert small["arl0"] < busy["arl0"]
    unseen = tuned.params(("locale=fr|model=m|surface=chat", "refusal"))
    assert small["arl0"] < unseen["arl0"] < busy["arl0"], "an unseen stream: the median"
    assert "prior_rate" not in unseen


def test_other_detectors_are_not_tuned() -> None:
    cfg = parse_config({"detectors": {"name": "adwin"}})
    assert tuning(cfg, stated(cfg)).streams == {}
    assert all(r.arl0 is None for r in plan(cfg, stated(cfg)))


def test_cli_prints_the_table_and_says_when_nothing_is_promised(tmp_path) -> None:
    result = CliRunner().invoke(app, ["detectors", "plan"])
    assert result.exit_code == 0, result.output
    assert all(label in result.output for label, _ in CHANGES)
    assert "budget of 1 false page(s)/week" in result.output
    path = tmp_path / "adwin.yaml"
    path.write_text("detectors: {name: adwin}\n")
    result = CliRunner().invoke(app, ["detectors", "plan", "--config", str(path)])
    assert result.exit_code == 0 and "not calibrated" in result.output


def test_rates_are_averaged_over_the_time_gone_by_quiet_hours_included() -> None:
    rows = [row("en", 1800, 180)]  # HOUR, 10:00, half an hour of traffic so far
    (now,) = [
        t
        for t in observed(rows, HOUR - timedelta(days=7), until=HOUR + timedelta(minutes=30))
        if t.metric == "refusal"
    ]
    assert now.per_second == 1.0, "the current hour counts only as far as it has gone"
    later = [
        row("en", 3600, 360),
        CountRow(
            HOUR + timedelta(hours=3), "m", "chat", "en", "none", samples=3600, classified=3600
        ),
    ]
    refusal = [t for t in observed(later, HOUR - timedelta(days=7)) if t.metric == "refusal"]
    assert refusal[0].per_second == 7200 / (4 * 3600), "two quiet hours between are counted"
