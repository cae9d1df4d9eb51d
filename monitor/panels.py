"""One look for every driftmon dashboard: datasource, colours, thresholds, units, panel kinds.

The dashboard sources in ``dashboards/*.dashboard.py`` build their panels only through these
helpers, so a colour or a threshold means the same thing on every dashboard: green is fine,
orange needs a look, red needs action, blue is information, and series that carry no judgement
(a rate by model) use the classic palette. Only panel types Grafana 12 still ships are made
(time series, stat, table, bar gauge, state timeline); grafanalib's Angular ones are not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import attr
from grafanalib import core as g

DATASOURCE_UID = "driftmon-prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
PANEL_TYPES = ("timeseries", "stat", "table", "bargauge", "state-timeline", "histogram")

OK, WARN, BAD, INFO, NEUTRAL = "green", "orange", "red", "blue", "text"
SEVERITY_COLOURS = {"critical": BAD, "warning": WARN, "info": INFO}
STATUS_COLOURS = {"open": BAD, "acknowledged": WARN}

# Units (Grafana unit ids), named for what they measure.
SHARE = "percentunit"  # 0..1 shown as %
PER_SECOND = "reqps"
SECONDS = "s"
BYTES = "bytes"
COUNT = "short"
MESSAGES = "short"
CORES = "percentunit"  # CPU seconds per second: 100% is one core


@dataclass(frozen=True)
class Settings:
    """What a dashboard links to outside Grafana (from the config's ``alerting`` section)."""

    runbook_base_url: str = "https://github.com/driftmon/driftmon/blob/main/docs/runbooks"

    def runbook(self, alert: str) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/{alert}.md"


@dataclass(frozen=True)
class Levels:
    """When a value turns orange, then red (both inclusive); ``None`` means never judged."""

    warn: float | None = None
    bad: float | None = None

    def steps(self) -> list[dict[str, Any]]:
        if self.warn is None and self.bad is None:
            return [{"color": NEUTRAL, "value": None}]
        steps: list[dict[str, Any]] = [{"color": OK, "value": None}]
        if self.warn is not None:
            steps.append({"color": WARN, "value": self.warn})
        if self.bad is not None:
            steps.append({"color": BAD, "value": self.bad})
        return steps


# The same levels wherever the same quantity is shown.
NONE = Levels()
ERROR_SHARE = Levels(0.01, 0.05)  # DLQ, unclassified, classifier errors: share of traffic
LAG = Levels(1_000, 10_000)  # messages behind
LATENCY = Levels(1.0, 5.0)  # seconds from arrival to verdict
EVIDENCE = Levels(0.5, 1.0)  # detector statistic over its threshold: alarms at 1
WAITING = Levels(300, 900)  # seconds a page has gone unacknowledged
STALE = Levels(60, 300)  # seconds since the last sample
MOVED = Levels(0.25, 1.0)  # relative change of a rate from its baseline


def at(x: int, y: int, w: int, h: int) -> g.GridPos:
    """Where a panel sits: column ``x`` (of 24) and row ``y``, ``w`` columns wide, ``h`` high."""
    return g.GridPos(h=h, w=w, x=x, y=y)


def target(expr: str, legend: str = "", instant: bool = False, table: bool = False) -> g.Target:
    """One PromQL query; ``table`` asks for one row per series (instant queries for tables)."""
    return g.Target(
        expr=expr,
        legendFormat=legend,
        instant=instant or table,
        format="table" if table else "time_series",
        datasource=DATASOURCE,
        intervalFactor=1,
    )


def _common(
    title: str, description: str, targets: list[g.Target], grid: g.GridPos
) -> dict[str, Any]:
    """What every panel sets the same way: text, the one datasource, lettered queries, place."""
    return {
        "title": title,
        "description": description,
        "dataSource": DATASOURCE,
        "targets": _refs(targets),
        "gridPos": grid,
    }


def _refs(targets: list[g.Target]) -> list[g.Target]:
    """Queries of one panel are A, B, C, ... in order (tables name value columns by them)."""
    return [attr.evolve(t, refId=chr(65 + i)) for i, t in enumerate(targets)]


def value_mappings(colours: dict[str, str], texts: dict[str, str] | None = None) -> list[dict]:
    """A value mapping giving each known value (number or text) its colour and display text."""
    options = {
        value: {"color": colour, "index": i, "text": (texts or {}).get(value, value)}
        for i, (value, colour) in enumerate(colours.items())
    }
    return [{"type": "value", "options": options}]


def _field(unit: str, levels: Levels, **extra: Any) -> dict[str, Any]:
    return {
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "thresholds": {"mode": "absolute", "steps": levels.steps()},
                **extra,
            }
        }
    }


def timeseries(
    title: str,
    description: str,
    targets: list[g.Target],
    unit: str,
    grid: g.GridPos,
    levels: Levels = NONE,
    max_value: float | None = None,
) -> g.TimeSeries:
    """Lines over time; with ``levels`` the orange/red levels are drawn as dashed lines."""
    extra: dict[str, Any] = {"min": 0} if max_value is None else {"min": 0, "max": max_value}
    return g.TimeSeries(
        **_common(title, description, targets, grid),
        unit=unit,
        thresholdsStyleMode="off" if levels == NONE else "dashed",
        legendDisplayMode="list",
        tooltipMode="multi",
        tooltipSort="desc",
        showPoints="never",
        fillOpacity=10,
        lineWidth=2,
        maxDataPoints=500,
        extraJson=_field(unit, levels, **extra),
    )


def stat(
    title: str,
    description: str,
    targets: list[g.Target],
    unit: str,
    grid: g.GridPos,
    levels: Levels = NONE,
    mappings: list[dict] | None = None,
    no_value: str = "no data",
    calc: str = "lastNotNull",
    series_colours: dict[str, str] | None = None,
) -> g.Stat:
    """Big numbers, coloured by ``levels`` (or by ``mappings`` for states such as up/down, or
    per series by ``series_colours``, e.g. a count per severity in the severity's colour)."""
    overrides = [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": colour}}],
        }
        for name, colour in (series_colours or {}).items()
    ]
    return g.Stat(
        **_common(title, description, targets, grid),
        format=unit,
        thresholds=levels.steps(),
        mappings=mappings or [],
        colorMode="background",
        graphMode="none",
        noValue=no_value,
        reduceCalc=calc,
        textMode="value_and_name",
        orientation="horizontal",
        overrides=overrides,
        extraJson=_field(unit, levels),
    )


def table(
    title: str,
    description: str,
    targets: list[g.Target],
    grid: g.GridPos,
    columns: dict[str, str],
    colours: dict[str, dict[str, str]] | None = None,
    links: dict[str, list[dict[str, Any]]] | None = None,
    units: dict[str, str] | None = None,
) -> g.Table:
    """One row per series; ``columns`` maps label names to plain-word headers (in order).

    ``colours`` gives a column's values their colours (severity, status), ``links`` a column
    its data links (``${__data.fields.<label>}`` fills in the row's values).
    """
    overrides = []
    for name in columns:
        props: list[dict[str, Any]] = []
        if colours and name in colours:
            props.append({"id": "mappings", "value": value_mappings(colours[name])})
            props.append({"id": "custom.cellOptions", "value": {"type": "color-text"}})
        if links and name in links:
            props.append({"id": "links", "value": links[name]})
        if units and name in units:
            props.append({"id": "unit", "value": units[name]})
        if props:
            matcher = {"id": "byName", "options": columns[name]}  # the header, once renamed
            overrides.append({"matcher": matcher, "properties": props})
    keep = {name: i for i, name in enumerate(columns)}
    organize = {
        "id": "organize",
        "options": {
            "includeByName": {name: True for name in columns},
            "indexByName": keep,
            "renameByName": columns,
        },
    }
    return g.Table(
        **_common(title, description, targets, grid),
        overrides=overrides,
        transformations=[{"id": "merge", "options": {}}, organize],
        filterable=True,
        unit="string",
        extraJson=_field("string", NONE),
    )


def bargauge(
    title: str,
    description: str,
    targets: list[g.Target],
    unit: str,
    grid: g.GridPos,
    levels: Levels = NONE,
    max_value: float | None = None,
) -> g.BarGauge:
    """Horizontal bars, one per series, coloured by ``levels``."""
    extra = _field(unit, levels, min=0, **({} if max_value is None else {"max": max_value}))
    extra["options"] = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": True,
    }
    return g.BarGauge(
        **_common(title, description, targets, grid),
        format=unit,
        thresholds=levels.steps(),
        displayMode="gradient",
        calc="lastNotNull",
        min=0,
        max=max_value,
        extraJson=extra,
    )


def state_timeline(
    title: str,
    description: str,
    targets: list[g.Target],
    grid: g.GridPos,
    states: dict[str, str],
    texts: dict[str, str],
) -> g.StateTimeline:
    """Which state each series was in over time; ``states`` maps values to colours."""
    mappings = value_mappings(states, texts)
    return g.StateTimeline(
        **_common(title, description, targets, grid),
        mappings=mappings,
        colorMode="fixed",
        showValue="never",
        extraJson=_field(COUNT, NONE, mappings=mappings),
    )


def query_variable(
    name: str, label: str, query: str, regex: str | None = None, include_all: bool = True
) -> g.Template:
    """A drop-down filled from Prometheus; its "All" option matches any value."""
    return g.Template(
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE,
        regex=regex,
        includeAll=include_all,
        allValue=".*" if include_all else None,
        refresh=g.REFRESH_ON_TIME_RANGE_CHANGE,
        sort=g.SORT_ALPHA_ASC,
    )


def annotation(name: str, expr: str, colour: str, title: str, tags: str) -> dict[str, Any]:
    """Marks on every time series from a PromQL query: a region while the series is 1."""
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": colour,
        "expr": expr,
        "step": "60s",
        "titleFormat": title,
        "tagKeys": tags,
        "textFormat": "",
        "useValueForTime": False,
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[Any],
    variables: list[g.Template] | None = None,
    annotations: list[dict[str, Any]] | None = None,
    links: list[g.DashboardLink] | None = None,
) -> g.Dashboard:
    """A driftmon dashboard: UTC, last 6 hours, refreshed every 30 s, panel ids assigned."""
    built_in = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    return g.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=["driftmon"],
        timezone="utc",
        refresh="30s",
        time=g.Time("now-6h", "now"),
        editable=False,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        panels=panels,
        templating=g.Templating(list=variables or []),
        annotations=g.Annotations(list=[built_in, *(annotations or [])]),
        links=links or [],
        schemaVersion=39,
    ).auto_panel_ids()
