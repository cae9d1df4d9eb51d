"""Pictures of the dashboards, drawn from a live Prometheus (Grafana cannot run here).

Each panel's queries run against Prometheus's HTTP API exactly as Grafana would send them
(variables filled in by :func:`resolve_variables`), and matplotlib draws the result where the
panel's ``gridPos`` puts it: lines for time series, big numbers for stats, rows for tables,
bars for bar gauges and coloured bands for state timelines, in the dashboards' own colours.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import httpx

from monitor import dashboards as d

COLOURS = {
    "green": "#73BF69",
    "orange": "#FF9830",
    "red": "#F2495C",
    "blue": "#5794F2",
    "text": "#CCCCDC",
}
PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0"]
BACKGROUND, PANEL, GRID, FAINT = "#111217", "#181B1F", "#2C3235", "#8E8E8E"
COL_INCHES, ROW_INCHES = 0.75, 0.32


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or rejected a query (the message quotes it)."""


class Prometheus:
    """The three Prometheus HTTP API calls Grafana's queries need."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(timeout=timeout)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            reply = self._http.get(f"{self.url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {exc}") from exc
        body = reply.json() if reply.headers.get("content-type", "").startswith("app") else {}
        if reply.status_code != 200 or body.get("status") != "success":
            error = body.get("error") or reply.text[:300]
            raise PrometheusError(f"{path} {params.get('query') or params}: {error}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        return self._get("/api/v1/query", params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        params = {"query": expr, "start": start, "end": end, "step": step}
        return self._get("/api/v1/query_range", params)["result"]

    def series(self, selector: str) -> list[dict[str, str]]:
        return self._get("/api/v1/series", {"match[]": selector})

    def close(self) -> None:
        self._http.close()


def variable_options(prom: Prometheus, query: str, regex: str | None) -> list[tuple[str, str]]:
    """(text, value) options of one variable query, as Grafana's Prometheus source makes them."""
    labelled = d.label_values_query(query)
    if labelled is not None:
        selector, label = labelled
        texts = sorted({s[label] for s in prom.series(selector) if label in s})
    else:
        inner = d.query_result_query(query)
        if inner is None:
            raise d.DashboardError(f"unsupported variable query {query!r}")
        texts = d.result_texts(prom.query(inner))
    return sorted(set(d.options(texts, regex)))


def resolve_variables(
    model: dict[str, Any], prom: Prometheus, wanted: dict[str, str] | None = None
) -> dict[str, str]:
    """A value for each variable, in order (later queries see earlier values): the option
    whose text or value is ``wanted[name]`` (as from an alert's URL; DashboardError if there
    is none), else the first one."""
    values: dict[str, str] = {}
    for var in d.variable_queries(model):
        query = d.concrete(var["query"], values)
        found = variable_options(prom, query, var.get("regex"))
        if not found:
            raise d.DashboardError(f"variable {var['name']}: {query!r} returned no values")
        want = (wanted or {}).get(var["name"])
        chosen = [v for t, v in found if want in (t, v)] if want else [found[0][1]]
        if not chosen:
            shown = [t for t, _ in found][:20]
            raise d.DashboardError(f"variable {var['name']}: no option {want!r} among {shown}")
        values[var["name"]] = chosen[0]
    return values


# --- drawing ---------------------------------------------------------------------------------


def legend(fmt: str, labels: dict[str, str]) -> str:
    if not fmt:
        return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def fmt_value(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        for size, name in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"), (1e-3, "ms")):
            if abs(value) >= size:
                return f"{value / size:.3g} {name}"
        return f"{value * 1e6:.3g} µs" if value else "0 s"
    if unit == "bytes":
        return f"{value / 2**20:.0f} MiB"
    if unit == "reqps":
        return f"{value:.3g}/s"
    if unit == "dateTimeAsIso":
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value / 1000))
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def mapped_text(value: float, field: dict[str, Any]) -> str | None:
    """The display text a value mapping gives ``value`` (e.g. 1 -> "up"), if any."""
    for mapping in field.get("mappings", []):
        option = mapping.get("options", {}).get(f"{value:g}")
        if option:
            return str(option["text"])
    return None


def colour_of(value: float | str, field: dict[str, Any]) -> str:
    """The colour Grafana would give ``value``: a value mapping first, then the thresholds."""
    for mapping in field.get("mappings", []):
        option = mapping.get("options", {}).get(
            str(value) if not isinstance(value, float) else f"{value:g}"
        )
        if option:
            return COLOURS.get(option["color"], option["color"])
    if isinstance(value, str):
        return COLOURS["text"]
    colour = "text"
    for step in field.get("thresholds", {}).get("steps", []):
        if step["value"] is None or value >= step["value"]:
            colour = step["color"]
    return COLOURS.get(colour, colour)


def _style(ax: Any) -> None:
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_color(GRID)
    ax.tick_params(colors=FAINT, labelsize=7)


# Room inside a panel's box for its title and axis labels, in inches: (left, bottom, top).
MARGINS = {
    "timeseries": (0.62, 0.28, 0.3),
    "state-timeline": (1.6, 0.22, 0.3),
    "bargauge": (2.6, 0.08, 0.3),
    "stat": (0.06, 0.06, 0.3),
    "table": (0.06, 0.06, 0.3),
}


def _series_range(prom: Prometheus, panel: dict, values: dict, start: float, end: float) -> list:
    step = max(1.0, (end - start) / 240)
    out = []
    for t in panel["targets"]:
        expr = d.concrete(t["expr"], values)
        for s in prom.query_range(expr, start, end, step):
            xs = [float(ts) for ts, _ in s["values"]]
            ys = [float(v) for _, v in s["values"]]
            out.append((legend(t.get("legendFormat", ""), s["metric"]), xs, ys))
    return out


def _instant(prom: Prometheus, panel: dict, values: dict, end: float) -> list:
    out = []
    for t in panel["targets"]:
        for s in prom.query(d.concrete(t["expr"], values), end):
            out.append((t["refId"], s["metric"], float(s["value"][1])))
    return out


def _timeseries(ax: Any, panel: dict, data: list, regions: list, start: float, end: float) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    field = panel["fieldConfig"]["defaults"]
    unit = field.get("unit", "")
    for lo, hi in regions:
        ax.axvspan(lo, hi, color=COLOURS["red"], alpha=0.08, lw=0)
        ax.axvline(lo, color=COLOURS["red"], lw=1, alpha=0.8)
    for i, (name, xs, ys) in enumerate(data):
        label = name if i < 8 else ("_" if i > 8 else f"and {len(data) - 8} more")
        ax.plot(xs, ys, lw=1.3, color=PALETTE[i % len(PALETTE)], label=label)
    top = max((y for _, _, ys in data for y in ys if math.isfinite(y)), default=0.0)
    if field.get("custom", {}).get("thresholdsStyle", {}).get("mode") == "dashed":
        for step in field.get("thresholds", {}).get("steps", [])[1:]:
            ax.axhline(step["value"], ls="--", lw=0.8, color=COLOURS.get(step["color"], "w"))
            top = max(top, step["value"])
    ax.set_xlim(start, end)
    ax.set_ylim(0, top * 1.15 or 1.0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_value(v, unit)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _clock(v)))
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.grid(color=GRID, lw=0.5)
    if data:
        ax.legend(
            fontsize=6,
            loc="upper left",
            facecolor=PANEL,
            edgecolor=GRID,
            labelcolor=COLOURS["text"],
            ncol=2 if len(data) > 4 else 1,
        )


def _stat(ax: Any, panel: dict, data: list) -> None:
    field = panel["fieldConfig"]["defaults"]
    ax.set_xticks([])
    ax.set_yticks([])
    if not data:
        ax.text(
            0.5,
            0.45,
            field.get("noValue", "no data"),
            color=FAINT,
            ha="center",
            va="center",
            fontsize=12,
            transform=ax.transAxes,
        )
        return
    width = 1 / len(data)
    fmt = panel["targets"][0].get("legendFormat", "")
    fixed = {
        o["matcher"]["options"]: prop["value"]["fixedColor"]
        for o in panel["fieldConfig"].get("overrides", [])
        for prop in o["properties"]
        if prop["id"] == "color"
    }
    for i, (_, labels, value) in enumerate(data):
        name = legend(fmt, labels)
        colour = COLOURS.get(fixed[name], fixed[name]) if name in fixed else colour_of(value, field)
        ax.add_patch(_box(i * width + 0.01, 0.04, width - 0.02, 0.86, colour, ax))
        text = mapped_text(value, field) or fmt_value(value, field.get("unit", ""))
        ax.text(
            i * width + width / 2,
            0.42,
            text,
            color="white",
            ha="center",
            va="center",
            fontsize=14 if len(data) < 4 else 10,
            weight="bold",
            transform=ax.transAxes,
        )
        ax.text(
            i * width + width / 2,
            0.78,
            legend(fmt, labels)[:48],
            color="white",
            ha="center",
            va="center",
            fontsize=6,
            transform=ax.transAxes,
        )


def _box(x: float, y: float, w: float, h: float, colour: str, ax: Any) -> Any:
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch(
        (x, y),
        w,
        h,
        boxstyle="round,pad=0,rounding_size=0.02",
        transform=ax.transAxes,
        color=colour,
        alpha=0.85,
    )


def _table(ax: Any, panel: dict, data: list) -> None:
    organize = next(t for t in panel["transformations"] if t["id"] == "organize")
    columns: dict[str, str] = organize["options"]["renameByName"]
    units = {}
    colours = {}
    for o in panel["fieldConfig"].get("overrides", []):
        for prop in o["properties"]:
            if prop["id"] == "unit":
                units[o["matcher"]["options"]] = prop["value"]
            if prop["id"] == "mappings":
                colours[o["matcher"]["options"]] = {"mappings": prop["value"]}
    rows: dict[str, dict[str, str]] = {}
    for ref, labels, value in data:
        key = labels.get("event_id", str(sorted(labels.items())))
        row = rows.setdefault(key, {})
        row.update({k: v for k, v in labels.items() if k in columns})
        row[f"Value #{ref}"] = value  # type: ignore[assignment]
    ax.axis("off")
    if not rows:
        ax.text(0.5, 0.5, "no data", color=FAINT, ha="center", transform=ax.transAxes)
        return
    headers = list(columns.values())
    cells = []
    for row in rows.values():
        line = []
        for name, header in columns.items():
            v = row.get(name, "")
            line.append(fmt_value(v, units.get(header, "")) if isinstance(v, float) else str(v))
        cells.append(line)
    table = ax.table(cellText=cells[:12], colLabels=headers, loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor(GRID)
        cell.set_facecolor(PANEL if r else GRID)
        colour = COLOURS["text"]
        if r and headers[c] in colours:
            colour = colour_of(cell.get_text().get_text(), colours[headers[c]])
        cell.get_text().set_color(colour)


def _bargauge(ax: Any, panel: dict, data: list) -> None:
    field = panel["fieldConfig"]["defaults"]
    unit = field.get("unit", "")
    fmt = panel["targets"][0].get("legendFormat", "")
    items = [(legend(fmt, labels), value) for _, labels, value in data]
    if panel["targets"][0]["expr"].find("_bucket") >= 0:
        items.sort(key=lambda i: float(i[0].split()[1]) if i[0].split()[1] != "+Inf" else 1e99)
    items = items[:14]
    names = [n for n, _ in items][::-1]
    vals = [0 if math.isnan(v) else v for _, v in items][::-1]
    ax.barh(names, vals, color=[colour_of(v, field) for v in vals], height=0.6)
    for i, v in enumerate(vals):
        ax.text(v, i, " " + fmt_value(v, unit), va="center", color=COLOURS["text"], fontsize=6)
    ax.tick_params(axis="y", labelsize=6)
    ax.set_xticks([])


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


def _state_timeline(ax: Any, panel: dict, data: list, start: float, end: float) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    field = panel["fieldConfig"]["defaults"]
    for row, (_, xs, ys) in enumerate(data[:8]):
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            nxt = xs[i + 1] if i + 1 < len(xs) else end
            ax.barh(row, nxt - x, left=x, color=colour_of(y, field), height=0.8, lw=0)
    ax.set_yticks(range(min(len(data), 8)), [n[:32] for n, _, _ in data[:8]], fontsize=6)
    ax.set_xlim(start, end)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _clock(v)))
    ax.xaxis.set_major_locator(MaxNLocator(6))
    keys = [f"{o['text']} ({o['color']})" for m in field["mappings"] for o in m["options"].values()]
    ax.set_xlabel("   ".join(keys), color=FAINT, fontsize=6, labelpad=1)


def draw(
    model: dict[str, Any],
    prometheus: str | Prometheus,
    out: Path,
    seconds: float = 600.0,
    wanted: dict[str, str] | None = None,
    end: float | None = None,
) -> Path:
    """Draw one dashboard from ``prometheus`` over the last ``seconds``; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prom = prometheus if isinstance(prometheus, Prometheus) else Prometheus(prometheus)
    end = end if end is not None else time.time()
    start = end - seconds
    values = resolve_variables(model, prom, wanted)
    regions = _regions(model, prom, values, start, end)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in d.panels(model))
    width, height = 24 * COL_INCHES, rows * ROW_INCHES + HEADER
    fig = plt.figure(figsize=(width, height), facecolor=BACKGROUND)
    chosen = "   ".join(f"{v['label']}: {_shown(v, values)}" for v in d.variable_queries(model))
    span = f"{_clock(start)} to {_clock(end)} UTC"
    fig.text(
        0.1 / width,
        1 - 0.35 / height,
        f"{model['title']}    {chosen}    ({span})",
        color=COLOURS["text"],
        fontsize=12,
        va="center",
    )
    for panel in d.panels(model):
        kind = panel["type"]
        ax = _panel_axes(fig, panel, width, height)
        _style(ax)
        if kind == "timeseries":
            data = _series_range(prom, panel, values, start, end)
            _timeseries(ax, panel, data, regions, start, end)
        elif kind == "state-timeline":
            _state_timeline(ax, panel, _series_range(prom, panel, values, start, end), start, end)
        elif kind == "stat":
            _stat(ax, panel, _instant(prom, panel, values, end))
        elif kind == "table":
            _table(ax, panel, _instant(prom, panel, values, end))
        elif kind == "bargauge":
            _bargauge(ax, panel, _instant(prom, panel, values, end))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=BACKGROUND)
    plt.close(fig)
    return out


HEADER = 0.7  # inches above the grid for the dashboard's title and variables


def _shown(variable: dict[str, Any], values: dict[str, str]) -> str:
    value = values.get(variable["name"], "")
    return "All" if value == ".*" else value


def _panel_axes(fig: Any, panel: dict[str, Any], width: float, height: float) -> Any:
    """The panel's box as in Grafana (24 columns, rows of ROW_INCHES), titled, and the axes
    inside it, leaving room for the title and the axis labels."""
    from matplotlib.patches import Rectangle

    g = panel["gridPos"]
    x0, top = g["x"] * COL_INCHES + 0.04, HEADER + g["y"] * ROW_INCHES + 0.04
    w, h = g["w"] * COL_INCHES - 0.08, g["h"] * ROW_INCHES - 0.08
    bottom = height - top - h
    frame = Rectangle(
        (x0 / width, bottom / height),
        w / width,
        h / height,
        facecolor=PANEL,
        edgecolor=GRID,
        transform=fig.transFigure,
        zorder=-10,
    )
    fig.patches.append(frame)
    fig.text(
        (x0 + 0.08) / width,
        (height - top - 0.15) / height,
        panel["title"],
        color=COLOURS["text"],
        fontsize=9,
        va="center",
        weight="bold",
    )
    left, low, high = MARGINS.get(panel["type"], (0.1, 0.1, 0.3))
    left = min(left, w * 0.4)
    return fig.add_axes(
        [
            (x0 + left) / width,
            (bottom + low) / height,
            (w - left - 0.1) / width,
            (h - low - high) / height,
        ]
    )


def _regions(model: dict, prom: Prometheus, values: dict, start: float, end: float) -> list:
    """Time spans where any annotation query returned a series (drift events open)."""
    spans = []
    for a in model.get("annotations", {}).get("list", []):
        if not a.get("expr"):
            continue
        step = max(1.0, (end - start) / 240)
        for s in prom.query_range(d.concrete(a["expr"], values), start, end, step):
            times = [float(t) for t, _ in s["values"]]
            spans.append((times[0], times[-1] + step))
    return spans
