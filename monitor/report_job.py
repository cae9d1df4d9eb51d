"""Making weekly reports: from the CLI on demand, and from the worker on its schedule.

The worker checks every ``report.check_interval`` seconds whether the previous ISO week's
report is due (the configured weekday and hour, UTC, have passed this week); the first worker
to claim the week in the store (``report_runs``) writes it and posts a short Slack-compatible
summary to every configured webhook. Later checks, restarts and other workers find the claim
and do nothing, so each week is written and announced once. A webhook that fails is logged,
never fatal. The same timer deletes exemplars older than ``report.retention_days``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from monitor.config import WEEKDAYS, Config, ReportSchedule
from monitor.config import Report as ReportConfig
from monitor.report import Scope, Week, build, load
from monitor.report_render import Format, base_name, write
from monitor.reportdata import ReportData, ReportRows, Taken
from monitor.schema import Sample, Verdict
from monitor.store import Store, StoreError

log = logging.getLogger("driftmon.report")

Step = Callable[[str], None]


def make_report(
    store: Store,
    cfg: Config,
    week: Week,
    scope: Scope,
    formats: tuple[Format, ...],
    out_dir: Path,
    now: datetime | None = None,
    step: Step | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Read, build and write one report; ``step`` hears what is being done (progress)."""
    say = step or (lambda _: None)
    say(f"reading {week} and its baseline from the store")
    data = load(store, week, scope, now or datetime.now(UTC), cfg.alerting.grafana_url)
    say(f"computing rates for {len(data.counts):,} hourly rows, {len(data.events)} event(s)")
    report = build(data)
    written: list[Path] = []
    for fmt in formats:
        say(f"writing {fmt}" + (" (drawing charts)" if fmt != "json" else ""))
        written += write(report, fmt, out_dir)
    return report, written


def due_week(now: datetime, schedule: ReportSchedule) -> Week | None:
    """The previous ISO week once this week's scheduled moment (UTC) has passed, else None.

    Any time after the moment counts, so a worker that was down through it catches up.

    >>> due_week(datetime(2026, 11, 30, 7, tzinfo=UTC), ReportSchedule(hour=6))
    Week(year=2026, number=48)
    >>> due_week(datetime(2026, 11, 30, 5, tzinfo=UTC), ReportSchedule(hour=6)) is None
    True
    """
    this = Week.containing(now)
    moment = this.start + timedelta(days=WEEKDAYS.index(schedule.weekday), hours=schedule.hour)
    return this.shifted(-1) if now >= moment else None


def link(cfg: Config, path: Path) -> str:
    """Where a reader finds a written report: ``report.link_base`` + file name, or the path."""
    base = cfg.report.link_base
    return f"{base.rstrip('/')}/{path.name}" if base else str(path.resolve())


def slack_payload(report: dict[str, Any], url: str) -> dict[str, Any]:
    """A short summary with a link, in the shape Slack incoming webhooks accept."""
    title = f"Weekly drift report {report['week']} ({report['scope']})"
    lines = "\n".join(f"• {line}" for line in report["summary"])
    return {
        "text": f"{title}: {report['summary'][0]} {url}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": lines}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{url}|Open the report>"}},
        ],
    }


def post(
    webhooks: list[str],
    payload: dict[str, Any],
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, str]:
    """POST the payload to every webhook; returns the failures by URL (logged, not raised)."""
    failed: dict[str, str] = {}
    with httpx.Client(timeout=timeout, transport=transport) as client:
        for url in webhooks:
            try:
                client.post(url, json=payload).raise_for_status()
            except httpx.HTTPError as exc:
                failed[url] = str(exc) or type(exc).__name__
                log.error("report summary not delivered to a webhook (%s): %s", url, exc)
    return failed


def run_scheduled(
    cfg: Config,
    store: Store,
    now: datetime,
    transport: httpx.BaseTransport | None = None,
) -> Path | None:
    """Write and announce the due week's report unless some worker already claimed it.

    Returns the HTML report written, or None when there was nothing to do.
    """
    schedule = cfg.report.schedule
    if schedule is None:
        return None
    week = due_week(now, schedule)
    if week is None or not store.claim_report(str(week), now):
        return None
    out_dir = Path(cfg.report.out_dir)
    try:
        report, written = make_report(store, cfg, week, Scope(), ("html", "json"), out_dir, now)
    except Exception:
        store.release_report(str(week))
        raise
    html = out_dir / f"{base_name(report)}.html"
    store.finish_report(str(week), datetime.now(UTC), str(html))
    log.warning("weekly report %s written: %s", week, ", ".join(str(p) for p in written))
    if cfg.report.webhooks:
        post(list(cfg.report.webhooks), slack_payload(report, link(cfg, html)), transport=transport)
    return html


def expire_exemplars(store: Store, now: datetime, retention_days: float) -> int:
    """Delete exemplars older than the retention; returns how many were deleted."""
    return store.delete_exemplars(now - timedelta(days=retention_days))


class ReportSink:
    """The worker's side of the report data: gathers on the hot path, writes on the flush timer.

    :meth:`take` runs on the event loop (cheap: no redaction); :meth:`write` redacts and stores
    in a thread, and keeps what a failed write left for the next one (rows are redacted once,
    and each batch is one transaction, so a retry never counts twice).
    """

    def __init__(self, cfg: ReportConfig) -> None:
        self.data = ReportData(cfg.exemplars_per_kind, cfg.snippet_chars)
        self._owed: list[ReportRows] = []

    def gather(self, sample: Sample, verdict: Verdict) -> None:
        self.data.add(sample, verdict)

    def dlq(self, reason: str, timestamp: float | None) -> None:
        """Count a DLQ message in the hour it was produced (the Kafka timestamp), else now."""
        at = datetime.fromtimestamp(timestamp, UTC) if timestamp else datetime.now(UTC)
        self.data.add_dlq(reason, at)

    def take(self, everything: bool = False) -> Taken:
        return self.data.take(everything)

    def write(self, store: Store, taken: Taken) -> StoreError | None:
        """Redact and store; on failure keep the rows for the next call and return the error."""
        batches = [*self._owed, taken.rows()]
        self._owed = []
        for i, batch in enumerate(batches):
            try:
                store.add_report_rows(batch)
            except StoreError as exc:
                self._owed = [b for b in batches[i:] if b]
                return exc
        return None
