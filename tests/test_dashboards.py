"""The dashboards as built: committed JSON equals the build, and its structure is sound."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor import dashboards as d
from monitor.cli import app
from monitor.config import parse_config
from monitor.panels import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "grafana"
COMMITTED = sorted((DEPLOY / "dashboards").glob("*.json"))
UIDS = {"driftmon-overview", "driftmon-policy-area", "driftmon-pipeline"}


def committed(uid: str) -> dict[str, Any]:
    return json.loads((DEPLOY / "dashboards" / f"{uid}.json").read_text())


def test_the_committed_files_are_what_the_build_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboards", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert built == sorted(p.relative_to(DEPLOY) for p in DEPLOY.rglob("*") if p.is_file())
    for relative in built:
        assert (tmp_path / relative).read_text() == (DEPLOY / relative).read_text(), (
            f"{relative} is stale: run `driftmon dashboards build`"
        )


def test_the_three_dashboards_are_built() -> None:
    assert {p.stem for p in COMMITTED} == UIDS


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_dashboard_passes_the_structural_check(path: Path) -> None:
    model = json.loads(path.read_text())
    assert d.check(model) == []
    assert model["uid"] == path.stem
    for panel in d.panels(model):
        assert panel["type"] in {"timeseries", "stat", "table", "bargauge", "state-timeline"}
        assert panel["title"] and panel["description"], panel
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{panel['title']}: no unit"
        assert defaults["thresholds"]["steps"], f"{panel['title']}: no colours"


def broken(mutate: Any, uid: str = "driftmon-pipeline") -> list[str]:
    model = copy.deepcopy(committed(uid))
    mutate(model)
    return d.check(model)


def test_the_check_catches_duplicate_ids() -> None:
    def dup(m: dict) -> None:
        m["panels"][1]["id"] = m["panels"][0]["id"]

    assert any("unique" in p for p in broken(dup))


def test_the_check_catches_overlaps_and_the_grid_edge() -> None:
    def overlap(m: dict) -> None:
        m["panels"][1]["gridPos"] = dict(m["panels"][0]["gridPos"])

    def wide(m: dict) -> None:
        m["panels"][0]["gridPos"]["x"] = 22

    assert any("overlaps" in p for p in broken(overlap))
    assert any("24-column" in p for p in broken(wide))


def test_the_check_catches_angular_panels_and_missing_queries() -> None:
    def graph(m: dict) -> None:
        m["panels"][0]["type"] = "graph"

    def no_datasource(m: dict) -> None:
        m["panels"][0]["datasource"] = None

    def no_targets(m: dict) -> None:
        m["panels"][0]["targets"] = []

    assert any("'graph' is not a current one" in p for p in broken(graph))
    assert any("datasource" in p for p in broken(no_datasource))
    assert any("at least one query" in p for p in broken(no_targets))


def test_the_check_catches_undefined_variables() -> None:
    def typo(m: dict) -> None:
        m["panels"][0]["targets"][0]["expr"] += ' and on() up{x="$polcy_area"}'

    assert any("polcy_area" in p for p in broken(typo, "driftmon-policy-area"))


def test_the_drill_down_has_the_variables_alert_links_set() -> None:
    from monitor.alerts import dashboard_url

    url = dashboard_url(parse_config({}).alerting)
    assert "/d/driftmon-policy-area/" in url
    model = committed("driftmon-policy-area")
    defined = [v["name"] for v in model["templating"]["list"]]
    assert defined == ["policy_area", "model", "surface", "locale"]
    assert set(re.findall(r"var-(\w+)=", url)) == set(defined)


def test_policy_area_all_from_an_alert_selects_every_area() -> None:
    """A refusal alert says policy_area=all: that option's value must match any area."""
    var = committed("driftmon-policy-area")["templating"]["list"][0]
    texts = ['{match=".*",policy_area="all"} 12 1700000000000', '{policy_area="weapons"} 3 1']
    assert d.options(texts, var["regex"]) == [("all", ".*"), ("weapons", "weapons")]


def test_concrete_fills_variables_and_grafana_intervals() -> None:
    expr = 'rate(x{a=~"$policy_area", b="${model}"}[$__rate_interval])'
    got = d.concrete(expr, {"policy_area": ".*", "model": "m"}, rate_interval="30s")
    assert got == 'rate(x{a=~".*", b="m"}[30s])'
    with pytest.raises(d.DashboardError, match=r"\$surface"):
        d.concrete("x{s='$surface'}", {})


def test_every_panel_of_every_dashboard_is_listed_with_its_queries() -> None:
    for uid in UIDS:
        model = committed(uid)
        listed = {q.where.rsplit(" [", 1)[0] for q in d.queries(model)}
        assert {p["title"] for p in d.panels(model)} <= listed


def test_a_source_without_build_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.dashboard.py").write_text("dashboard = None\n")
    with pytest.raises(d.DashboardError, match=r"x\.dashboard\.py: defines no build"):
        d.build_all(Settings(), tmp_path)
    with pytest.raises(d.DashboardError, match=r"no \*\.dashboard\.py files"):
        d.build_all(Settings(), tmp_path / "empty")


def test_provisioning_points_grafana_at_prometheus_by_the_panels_uid() -> None:
    files = d.render(Settings(), "http://prom:9090")
    ds = files["provisioning/datasources/prometheus.yml"]
    assert "uid: driftmon-prometheus" in ds and "url: http://prom:9090" in ds
    assert (
        "path: /var/lib/grafana/dashboards/driftmon"
        in files["provisioning/dashboards/driftmon.yml"]
    )


def test_runbook_links_follow_the_configured_base(tmp_path: Path) -> None:
    files = d.render(Settings("https://runbooks.example/driftmon"), "http://p:9090")
    assert (
        "https://runbooks.example/driftmon/DriftmonDrift.md"
        in files["dashboards/driftmon-policy-area.json"]
    )
