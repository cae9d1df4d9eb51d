"""The weekly report's charts, drawn from the report's own numbers as PNG bytes (matplotlib).

Two charts: the daily rates per model with the week's drift events marked (numbered E1, E2, ...
as in the report's tables), and over- vs under-refusal per policy area against the previous
week. A week without traffic still gets both charts, saying so, so a renderer never has to
special-case a missing image.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from monitor.schema import METRICS

NOON = time(12)  # a day's rate is drawn at its middle
TITLES = {
    "refusal": "Refusal rate",
    "over_refusal": "Over-refusal (benign prompts)",
    "under_refusal": "Under-refusal (harmful prompts)",
    "violation": "Violation rate",
}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def daily_rates(report: dict[str, Any]) -> bytes:
    """Four panels (one per metric): daily rate per model, drift events as dashed lines."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
    start = _when(report["period"]["start"])
    end = _when(report["period"]["end"])
    models = sorted({row["model"] for row in report["daily"]})
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    for ax, metric in zip(axes.flat, METRICS, strict=True):
        for model in models:
            points = [
                (
                    datetime.combine(date.fromisoformat(r["day"]), NOON, start.tzinfo),
                    r[metric]["rate"] * 100,
                )
                for r in report["daily"]
                if r["model"] == model and r[metric]["rate"] is not None
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", color=colours[model], label=model)
        marked = 0
        for number, event in enumerate(report["events"], 1):
            if event["metric"] != metric:
                continue
            marked += 1
            colour = colours.get(event["segment"].get("model", ""), "black")
            at = _when(event["change_ts"])
            ax.axvline(at, color=colour, linestyle="--", linewidth=1.2)
            ax.annotate(
                f"E{number}",
                (at, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -12 * marked),  # stacked: several events may share a time
                textcoords="offset points",
                fontsize=8,
                color=colour,
            )
        ax.set_title(TITLES[metric], fontsize=10)
        ax.set_ylabel("%")
        ax.set_xlim(start, end)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d"))
    if not models:
        fig.text(0.5, 0.5, "no traffic this week", ha="center", va="center", fontsize=16)
    else:
        axes.flat[0].legend(fontsize=8, loc="best")
    fig.suptitle(f"Daily rates per model, {report['week']} (dashed: drift events)", fontsize=12)
    return _png(fig)


def over_under(report: dict[str, Any]) -> bytes:
    """Per policy area: over- and under-refusal this week (bars, 95% intervals) and last week."""
    areas = report["policy_areas"]
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.45 * len(areas) + 1.2)))
    for offset, metric, colour in ((-0.2, "over_refusal", "C0"), (0.2, "under_refusal", "C3")):
        ys, rates, lows, highs, before = [], [], [], [], []
        for i, area in enumerate(areas):
            now = area["week"][metric]
            if now["rate"] is None:
                continue
            ys.append(i + offset)
            rates.append(now["rate"] * 100)
            lows.append((now["rate"] - now["low"]) * 100)
            highs.append((now["high"] - now["rate"]) * 100)
            then = area["previous"][metric]["rate"]
            before.append(None if then is None else then * 100)
        label = TITLES[metric].split(" (")[0]
        ax.barh(ys, rates, height=0.38, color=colour, alpha=0.75, label=f"{label} this week")
        ax.errorbar(rates, ys, xerr=[lows, highs], fmt="none", ecolor="black", capsize=2)
        shown = [(b, y) for b, y in zip(before, ys, strict=True) if b is not None]
        if shown:
            xs, yy = zip(*shown, strict=True)
            ax.scatter(xs, yy, marker="|", s=160, color="black", label=f"{label} last week")
    ax.set_yticks(range(len(areas)), [a["policy_area"] for a in areas])
    ax.invert_yaxis()
    ax.set_xlabel("% of benign (over-refusal) or harmful (under-refusal) prompts")
    ax.grid(axis="x", alpha=0.3)
    if areas:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(0.5, 0.5, "no traffic this week", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"Over- vs under-refusal per policy area, {report['week']}", fontsize=12)
    return _png(fig)


def charts(report: dict[str, Any]) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, by a short file-name-safe name."""
    return {"daily-rates": daily_rates(report), "over-under": over_under(report)}
