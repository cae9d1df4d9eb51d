"""Renderers of the weekly report: self-contained HTML, Markdown with PNG files, and JSON.

All three show the numbers of the same dict (:func:`monitor.report.build`); the JSON is that dict
as it is, for other tools. HTML embeds its charts as ``data:`` URIs so one file can be mailed or
attached to a ticket; Markdown refers to PNG files written next to it.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from monitor.report_charts import charts

Format = Literal["html", "md", "json"]
FORMATS: tuple[Format, ...] = ("html", "md", "json")
CHART_TITLES = {
    "daily-rates": "Daily rates per model, drift events marked",
    "over-under": "Over- vs under-refusal per policy area",
}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def rate(r: dict[str, Any]) -> str:
    """``12.3% [11.0–13.7%] (n=1,234)``, or ``–`` without samples."""
    if r["rate"] is None:
        return "–"
    return f"{pct(r['rate'])} [{pct(r['low'])}–{pct(r['high'])}] (n={r['n']:,})"


def pp(change: float | None) -> str:
    return "–" if change is None else f"{change * 100:+.1f} pp"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min" if minutes else f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours / 24:.1f} days"


def segment(seg: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in seg.items())


def _timeline(t: dict[str, Any]) -> str:
    parts = []
    if t["notified_at"]:
        parts.append(f"notified {t['notified_at']}")
    reopened = set(t["reopened_at"])
    parts += [
        f"regraded {at}, reopened" if at in reopened else f"regraded {at}"
        for at in t["regraded_at"]
    ]
    if t["acknowledged_at"]:
        parts.append(
            f"acknowledged by {t['acknowledged_by'] or '-'} after "
            f"{duration(t['ack_after_detection_s'])}"
        )
    parts += [f"escalated {at}" for at in t["escalated_at"]]
    if t["resolved_at"]:
        parts.append(f"resolved {t['resolved_at']}")
    else:
        parts.append("still open" if t["state"] == "open" else "not resolved yet")
    return "; ".join(parts)


def _back(event: dict[str, Any], number: dict[str, str]) -> str:
    """For a change back (a rollback): which event it goes back on, by its number here."""
    if event["reverses"] is None:
        return ""
    return f"; goes back on {number.get(event['reverses'], event['reverses'])}"


def tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report's sections as (title, header, rows) of text cells, shared by HTML and MD."""
    head = [
        [
            r["model"],
            r["policy_area"],
            r["metric"],
            rate(r["week"]),
            pct(r["previous"]["rate"]),
            pp(r["change_vs_previous"]),
            pct(r["baseline"]["rate"]),
            pp(r["change_vs_baseline"]),
        ]
        for r in report["headline"]
    ]
    number = {e["id"]: f"E{i}" for i, e in enumerate(report["events"], 1)}
    events = [
        [
            f"E{i}",
            segment(e["segment"]),
            f"{e['metric']} {'↑' if e['direction'] == 'up' else '↓'}",
            f"{rate(e['before'])} → {rate(e['after'])}" + _back(e, number),
            e["change_ts"],
            e["detected_ts"],
            e["severity"],
            e["owner"] or "-",
            _timeline(e["timeline"]),
        ]
        for i, e in enumerate(report["events"], 1)
    ]
    exemplars = [
        [f"E{i}", x["sample_id"], x["side"], x["kind"], x["prompt"], x["response"]]
        for i, e in enumerate(report["events"], 1)
        for x in e["exemplars"]
    ]
    dq = report["data_quality"]
    quality = [
        ["samples", f"{dq['samples']:,} (previous week {dq['samples_previous_week']:,})"],
        ["unclassified", rate(dq["unclassified_share"])],
        ["DLQ", ", ".join(f"{d['reason']}: {d['count']:,}" for d in dq["dlq"]) or "none"],
        [
            "classifiers",
            "; ".join(
                f"{c['role']}: {c['classifier']} ({c['samples']:,})" for c in dq["classifiers"]
            )
            or "none",
        ],
        [
            "version changes",
            "; ".join(
                f"{c['role']}: {c['from']} → {c['to']} at {c['at']}"
                for c in dq["classifier_changes"]
            )
            or "none",
        ],
        [
            "traffic gaps",
            f"{sum(g['hours'] for g in dq['gaps'])} h without samples in {len(dq['gaps'])} gap(s)"
            + "".join(f"; {g['start']} → {g['end']}" for g in dq["gaps"][:8])
            + ("; …" if len(dq["gaps"]) > 8 else ""),
        ],
    ]
    q = report["questions"]
    questions = [
        [
            "opposite moves",
            f"{o['model']}/{o['policy_area']}: over-refusal "
            f"{pp(o['over_refusal'])}, under-refusal {pp(o['under_refusal'])}",
        ]
        for o in q["opposite_moves"]
    ]
    questions += [
        [
            "still open",
            f"{segment(o['segment'])} {o['metric']} ({o['status']}, owner "
            f"{o['owner'] or '-'}, for {duration(o['open_for_s'])}) · {o['id']}",
        ]
        for o in q["still_open"]
    ]
    questions += [
        ["unacknowledged", f"{u['owner']}: {len(u['events'])} page(s), oldest {u['oldest']}"]
        for u in q["unacknowledged"]
    ]
    return [
        (
            "Drift events",
            [
                "#",
                "segment",
                "metric",
                "before → after",
                "estimated start",
                "detected",
                "severity",
                "owner",
                "timeline",
            ],
            events,
        ),
        ("Questions for review", ["question", "detail"], questions),
        (
            "Headline rates (biggest movers first)",
            [
                "model",
                "policy area",
                "metric",
                "this week [95% CI]",
                "previous",
                "Δ previous",
                "4-week baseline",
                "Δ baseline",
            ],
            head,
        ),
        (
            "Exemplars around each change (redacted)",
            ["event", "sample id", "side", "kind", "prompt", "response"],
            exemplars,
        ),
        ("Data quality", ["what", "value"], quality),
    ]


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any], images: dict[str, str]) -> str:
    """Markdown; ``images`` maps a chart name to the PNG file name it links to."""
    out = [f"# Drift report {report['week']}", ""]
    out += [
        f"Scope: **{report['scope']}** · {report['period']['start']} → "
        f"{report['period']['end']} · generated {report['generated_at']}",
        "",
    ]
    out += [f"- {line}" for line in report["summary"]] + [""]
    for name, file in images.items():
        out += [f"![{CHART_TITLES.get(name, name)}]({file})", ""]
    for title, header, rows in tables(report):
        out += [f"## {title}", ""]
        if not rows:
            out += ["None.", ""]
            continue
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;
color:#1d2430;padding:0 1rem}h1{margin-bottom:.2rem}.meta{color:#5b6575}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;font-size:.86rem}
th,td{border:1px solid #d5dae1;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#eef1f5}tr:nth-child(even) td{background:#fafbfc}
.summary{background:#f3f6fb;border-left:4px solid #3a6fd8;padding:.6rem 1rem}
img{max-width:100%;border:1px solid #e3e6ea;margin:.5rem 0}
"""


def render_html(report: dict[str, Any], images: dict[str, bytes]) -> str:
    """One self-contained page: charts inline as ``data:image/png;base64`` URIs."""
    e: Callable[[object], str] = lambda v: html.escape(str(v))  # noqa: E731
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Drift report {e(report['week'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Drift report {e(report['week'])}</h1>",
        f"<p class='meta'>Scope <b>{e(report['scope'])}</b> · {e(report['period']['start'])} → "
        f"{e(report['period']['end'])} · generated {e(report['generated_at'])}</p>",
        "<div class='summary'><ul>",
        *(f"<li>{e(line)}</li>" for line in report["summary"]),
        "</ul></div>",
    ]
    sections = tables(report)
    for index, (title, header, rows) in enumerate(sections):
        if index == 0:  # the charts first: what a reader sees on the first page
            for name, png in images.items():
                data = base64.b64encode(png).decode("ascii")
                alt = CHART_TITLES.get(name, name)
                out.append(
                    f"<h2>{e(alt)}</h2><img alt='{e(alt)}' src='data:image/png;base64,{data}'>"
                )
        out.append(f"<h2>{e(title)}</h2>")
        if not rows:
            out.append("<p>None.</p>")
            continue
        out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header))
        out.append("</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        out.append("</tbody></table>")
    for i, ev in enumerate(report["events"], 1):
        if ev["dashboard"]:
            out.append(f"<p>E{i}: <a href='{e(ev['dashboard'])}'>dashboard</a></p>")
    out.append("</body></html>")
    return "\n".join(out)


def base_name(report: dict[str, Any]) -> str:
    """``driftmon-report-2026-W47`` (plus a scope slug when the report is scoped)."""
    name = f"driftmon-report-{report['week']}"
    if report["scope"] != "all":
        slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in report["scope"])
        name += "-" + "-".join(filter(None, slug.split("-")))[:80]
    return name


def write(report: dict[str, Any], fmt: Format, out_dir: Path) -> list[Path]:
    """Write the report in ``fmt`` to ``out_dir`` (created); returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = base_name(report)
    if fmt == "json":
        path = out_dir / f"{name}.json"
        path.write_text(render_json(report), encoding="utf-8")
        return [path]
    images = charts(report)
    if fmt == "html":
        path = out_dir / f"{name}.html"
        path.write_text(render_html(report, images), encoding="utf-8")
        return [path]
    written = []
    files = {}
    for chart, png in images.items():
        png_path = out_dir / f"{name}-{chart}.png"
        png_path.write_bytes(png)
        written.append(png_path)
        files[chart] = png_path.name
    path = out_dir / f"{name}.md"
    path.write_text(render_markdown(report, files), encoding="utf-8")
    return [path, *written]
