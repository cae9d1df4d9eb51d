"""The `driftmon` command line. Bad config or usage: a message saying what and where, exit 2."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.config import Config, ConfigError, load_config, store_url

app = typer.Typer(
    help="driftmon: watch refusal, over-refusal, under-refusal and violation rates of a deployed "
    "LLM and report when they drift.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db = typer.Typer(help="The SQL store.", no_args_is_help=True)
app.add_typer(db, name="db")
detectors_app = typer.Typer(help="The drift detectors.", no_args_is_help=True)
app.add_typer(detectors_app, name="detectors")
alerts_app = typer.Typer(help="Prometheus and Alertmanager configuration.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
dashboards_app = typer.Typer(help="Grafana dashboards and their pictures.", no_args_is_help=True)
app.add_typer(dashboards_app, name="dashboards")
deploy_app = typer.Typer(help="Compose and Kubernetes install files.", no_args_is_help=True)
app.add_typer(deploy_app, name="deploy")
events_app = typer.Typer(
    help="The drift events not resolved yet, gravest first; `events show ID`: one in full."
)
app.add_typer(events_app, name="events")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (defaults if omitted).")
]
BootstrapOpt = Annotated[
    str | None,
    typer.Option(help="Kafka bootstrap servers host:port (overrides broker.bootstrap_servers)."),
]


def fail(message: str) -> typer.Exit:
    """Print a usage/config problem to stderr; the caller raises the returned exit (code 2)."""
    typer.echo(f"driftmon: {message}", err=True)
    return typer.Exit(code=2)


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _positive(name: str, value: float | None) -> None:
    """A finite number above zero, or exit 2 (NaN passes a ``<= 0`` check)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise fail(f"{name} must be a positive number, got {value}")


@contextmanager
def _outages() -> Iterator[None]:
    """An unreachable broker or store is an outage to report in one line (exit 1), not a
    traceback."""
    from monitor.broker import BrokerError
    from monitor.store import StoreError

    try:
        yield
    except (BrokerError, StoreError) as exc:
        typer.echo(f"driftmon: {exc}", err=True)
        raise typer.Exit(code=1) from None


def _store_url(url: str, option: str = "--store") -> str:
    try:
        return store_url(url)
    except ValueError as exc:
        raise fail(f"{option} {exc}") from None


@contextmanager
def _writing(path: Path | None) -> Iterator[None]:
    """``--out`` that cannot be written (no folder, no permission) is a usage error."""
    try:
        yield
    except OSError as exc:
        if path is None or exc.filename not in (str(path), path):
            raise
        raise fail(f"--out: cannot write {path}: {exc.strerror}") from None


def _bootstrap(cfg: Config, override: str | None) -> str:
    bootstrap = override or cfg.broker.bootstrap_servers
    if not bootstrap:
        raise fail(
            "no Kafka broker: set broker.bootstrap_servers in the config or pass --bootstrap "
            "(`driftmon up` runs an embedded broker for you)"
        )
    return bootstrap


@app.command()
def up(
    config: ConfigOpt = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Simulated samples per second.")] = None,
    store: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the store.")] = None,
) -> None:
    """Run everything locally: embedded broker, worker, simulated traffic with a drift, store."""
    cfg = _config(config)
    _positive("--duration", duration)
    _positive("--rate", rate)
    from monitor.up import run_up

    with _outages():
        code = run_up(
            cfg, duration=duration, rate=rate, store_url=_store_url(store or cfg.store.url)
        )
    raise typer.Exit(code)


@app.command()
def worker(config: ConfigOpt = None, bootstrap: BootstrapOpt = None) -> None:
    """Run a worker against a Kafka cluster (classify, detect, record; metrics on /metrics)."""
    cfg = _config(config)
    target = _bootstrap(cfg, bootstrap)
    from monitor.run import run_worker

    with _outages():
        run_worker(cfg, target)


@app.command()
def produce(
    file: Annotated[Path, typer.Argument(help="JSONL file of samples, one per line.")],
    config: ConfigOpt = None,
    bootstrap: BootstrapOpt = None,
) -> None:
    """Publish samples from a JSONL file to the samples topic, line by line, unchanged."""
    cfg = _config(config)
    if not file.is_file():
        raise fail(f"{file}: no such file")
    target = _bootstrap(cfg, bootstrap)
    from monitor.run import produce_file

    with _outages():
        sent = produce_file(file, target, cfg.broker.topics.samples, cfg.broker.partitions)
    typer.echo(f"published {sent} message(s) from {file} to {cfg.broker.topics.samples}")


@app.command()
def simulate(
    config: ConfigOpt = None,
    bootstrap: BootstrapOpt = None,
    duration: Annotated[float, typer.Option(help="Seconds of traffic to publish.")] = 60.0,
    fast: Annotated[bool, typer.Option(help="Publish as fast as possible, not paced.")] = False,
) -> None:
    """Publish simulated traffic (with the drift scenario of the config) to the samples topic."""
    cfg = _config(config)
    _positive("--duration", duration)
    target = _bootstrap(cfg, bootstrap)
    from monitor.run import publish_simulation

    with _outages():
        sent = publish_simulation(cfg, target, duration, paced=not fast)
    typer.echo(f"published {sent} simulated message(s) to {cfg.broker.topics.samples}")


PROGRESS_MIN_BYTES = 1 << 20
"""Files this large get a progress bar on a terminal unless ``--no-progress``."""


@app.command()
def classify(
    file: Annotated[Path, typer.Argument(help="JSONL file of samples.")],
    out: Annotated[Path | None, typer.Option(help="Write verdicts here (default stdout).")] = None,
    config: ConfigOpt = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="A progress bar on stderr (default: for files of 1 MiB or more, on a terminal).",
        ),
    ] = None,
) -> None:
    """Label a JSONL file of samples offline with the stream's classifiers; one verdict per line."""
    cfg = _config(config)
    if not file.is_file():
        raise fail(f"{file}: no such file")
    from rich.console import Console
    from rich.progress import Progress

    from monitor.run import classify_file

    size = file.stat().st_size
    console = Console(stderr=True)
    if progress is None:
        progress = console.is_terminal and size >= PROGRESS_MIN_BYTES
    with _writing(out):
        handle = out.open("w", encoding="utf-8") if out else sys.stdout
    bar = Progress(console=console, disable=not progress)
    try:
        with bar:
            task = bar.add_task(f"classifying {file.name}", total=size)
            good, bad = classify_file(file, cfg, handle, lambda n: bar.advance(task, n))
    finally:
        if out:
            handle.close()
    typer.echo(f"{good} verdict(s), {bad} bad line(s) skipped", err=True)


@app.command()
def backtest(
    file: Annotated[Path, typer.Argument(help="JSONL or Parquet of samples or labelled verdicts.")],
    out: Annotated[Path | None, typer.Option(help="Write drift events here (JSONL).")] = None,
    config: ConfigOpt = None,
    tuned: Annotated[
        bool,
        typer.Option(
            help="Tune the detectors as a worker would now: the false-page budget shared by "
            "the store's traffic of the last 7 days (else every stream runs params.arl0)."
        ),
    ] = False,
) -> None:
    """Run the stream's classifiers and detectors over a file; print a summary."""
    cfg = _config(config)
    if not file.is_file():
        raise fail(f"{file}: no such file")
    if out is not None and not out.parent.is_dir():
        raise fail(f"--out: cannot write {out}: no folder {out.parent}")
    from monitor.backtest import BacktestError, backtest
    from monitor.event_view import printable

    tuning = _stored_tuning(cfg) if tuned else None
    try:
        events, summary = backtest(cfg, file, tuning)
    except BacktestError as exc:
        raise fail(str(exc)) from None
    if out is not None:
        with _writing(out):
            out.write_text("".join(e.model_dump_json() + "\n" for e in events), "utf-8")
    for event in events:
        typer.echo(f"DRIFT {printable(event.describe())}", err=out is None)
    typer.echo(json.dumps(summary.as_dict()))


def _stored_counts(cfg: Config) -> tuple[list[Any], Any, Any]:
    """The store's hourly counts of the last 7 days, where they start, and now; exit 2 if
    they cannot be read."""
    from datetime import UTC, datetime

    from monitor.plan import recent_counts
    from monitor.store import Store, StoreError

    now = datetime.now(UTC)
    try:
        return (*recent_counts(Store(cfg.store.url), now), now)
    except StoreError as exc:
        raise fail(f"cannot read observed traffic: {exc}") from None


def _stored_tuning(cfg: Config) -> Any:
    """The tuning a worker would run now (monitor.plan.from_counts)."""
    from monitor.plan import from_counts

    return from_counts(cfg, *_stored_counts(cfg))


@detectors_app.command("plan")
def detectors_plan(
    config: ConfigOpt = None,
    observed: Annotated[
        bool, typer.Option(help="Use the traffic in the store (last 7 days), not the stated.")
    ] = False,
) -> None:
    """Print, per segment and metric, the ARL0 in use and the expected detection delays."""
    from monitor import plan as planning

    cfg = _config(config)
    if observed:
        rows, since, now = _stored_counts(cfg)
        traffic = planning.observed(rows, since, cfg.segments.dimensions, now)
        if not traffic:
            raise fail("no traffic in the store for the last 7 days; leave out --observed")
    else:
        traffic = planning.stated(cfg)
    _print_plan(cfg, planning.plan(cfg, traffic))


def _print_plan(cfg: Config, rows: list) -> None:
    from rich.console import Console
    from rich.table import Table

    from monitor.plan import CHANGES

    budget = cfg.detectors.budget_pages_per_week
    title = f"detector {cfg.detectors.name} {cfg.detectors.params}" + (
        f"; ARL0 = a budget of {budget:g} false page(s)/week shared by {len(rows)} streams"
        if budget
        else ""
    )
    table = Table(title=title)
    for name in ("segment", "metric", "samples/h", "rate", "ARL0 (samples)", "pooled toward"):
        table.add_column(name)
    for label, _ in CHANGES:
        table.add_column(f"delay {label}", justify="right")
    for row in rows:
        cells = [row.segment, row.metric, f"{row.per_hour:,.0f}", f"{row.rate:.2%}"]
        cells.append("n/a" if row.arl0 is None else f"{row.arl0:,.0f}")
        cells.append("" if row.prior is None else f"{row.prior:.2%}")
        for delay in row.delays:
            cells.append("n/a" if delay is None else f"{delay:,.0f} ({_span(row.hours(delay))})")
        table.add_row(*cells)
    Console(width=200).print(table)
    if cfg.detectors.name != "bernoulli_cusum":
        typer.echo(f"{cfg.detectors.name} is not calibrated: no ARL0 or delay can be promised.")


def _span(hours: float | None) -> str:
    if hours is None:
        return "?"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


@db.command("upgrade")
def db_upgrade(
    url: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: store.url).")] = None,
    config: ConfigOpt = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply the Alembic migrations to a database (SQLite or PostgreSQL)."""
    cfg = _config(config)
    target = _store_url(url or cfg.store.url, "--url")
    from monitor.migrate import upgrade
    from monitor.store import redact

    with _outages():
        upgrade(target, revision)
    typer.echo(json.dumps({"upgraded": redact(target), "revision": revision}))


EventArg = Annotated[str, typer.Argument(help="The drift event's id (its alerts' event_id).")]
ByOpt = Annotated[str, typer.Option("--by", help="Who acts: a name or handle.")]
NoteOpt = Annotated[str | None, typer.Option(help="Why, or what is being done about it.")]
StoreOpt = Annotated[
    str | None, typer.Option("--store", help="SQLAlchemy URL of the store (default: store.url).")
]


@app.command()
def ack(
    event_id: EventArg,
    by: ByOpt,
    note: NoteOpt = None,
    silence_for: Annotated[
        str | None,
        typer.Option(
            help="How long to silence its alerts, e.g. 4h (default: lifecycle.silence_for)."
        ),
    ] = None,
    config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Acknowledge a drift event: recorded in the store, its alerts silenced in Alertmanager.

    Exit 1 if the store is unreachable, or if the ack was recorded but the silence failed."""
    from datetime import timedelta

    from monitor.config import duration_seconds
    from monitor.respond import acknowledge
    from monitor.silences import Alertmanager

    cfg = _config(config)
    try:
        expiry = timedelta(seconds=duration_seconds(silence_for or cfg.lifecycle.silence_for))
    except ValueError as exc:
        raise fail(f"--silence-for: {exc}") from None
    url = cfg.alerting.alertmanager_url
    am = Alertmanager(url) if url else None
    try:
        outcome = _respond(
            cfg, store, by, lambda s, now: acknowledge(s, event_id, by, note, now, expiry, am)
        )
    finally:
        if am is not None:
            am.close()
    typer.echo(outcome.describe("acknowledged"))
    if outcome.silence_error is not None:
        typer.echo(
            f"driftmon: the ack is recorded but the silence failed: {outcome.silence_error}",
            err=True,
        )
        raise typer.Exit(code=1)
    if am is None and outcome.transition.changed:
        typer.echo(
            "driftmon: alerting.alertmanager_url is not set, so no silence was made; "
            "the escalation stops at the worker's next refresh",
            err=True,
        )


@app.command()
def resolve(
    event_id: EventArg,
    by: ByOpt,
    note: NoteOpt = None,
    config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Resolve a drift event by hand: recorded in the store; its alerts end at the next refresh."""
    from monitor.respond import resolve as resolve_event

    cfg = _config(config)
    outcome = _respond(cfg, store, by, lambda s, now: resolve_event(s, event_id, by, note, now))
    typer.echo(outcome.describe("resolved"))


def _respond(cfg: Config, url: str | None, by: str, act: Callable[..., Any]) -> Any:
    """Run ``act(store, now)`` on the store (see :func:`_opened` for the exit codes)."""
    from datetime import UTC, datetime

    if not by.strip():
        raise fail("--by must name who acts")
    with _opened(cfg, url) as handle:
        return act(handle, datetime.now(UTC))


@contextmanager
def _opened(cfg: Config, url: str | None) -> Iterator[Any]:
    """The store at ``url`` (default: the config's): a bad URL or an unknown event id is a
    usage error (exit 2), a database failure exit 1."""
    from monitor.store import Store, StoreError, UnknownEventError

    target = _store_url(url or cfg.store.url)
    try:
        handle = Store(target)
    except StoreError as exc:
        raise fail(f"--store: {exc}") from None
    try:
        with _outages():
            yield handle
    except UnknownEventError as exc:
        raise fail(str(exc)) from None
    finally:
        handle.close()


JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per event instead of text.")]


@events_app.callback(invoke_without_command=True)
def events(
    ctx: typer.Context,
    resolved: Annotated[
        bool,
        typer.Option("--resolved", help="Resolved events too (default: open and acknowledged)."),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only events detected in the last 30m, 12h, 7d, ... (default: any time)."
        ),
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only events this team owns.")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """The drift events not resolved yet, gravest first, then the longest waiting."""
    if ctx.invoked_subcommand is not None:
        return
    from datetime import UTC, datetime

    from monitor.config import ago
    from monitor.event_view import list_line, queue

    cfg = _config(config)
    now = datetime.now(UTC)
    start = None
    if since is not None:
        try:
            start = ago(since, now)
        except ValueError as exc:
            raise fail(f"--since: {exc}") from None
    with _opened(cfg, store) as handle:
        chosen = queue(handle, resolved=resolved, team=team, since=start)
    for event in chosen:
        typer.echo(json.dumps(event.model_dump(mode="json")) if as_json else list_line(event, now))
    if not as_json:
        what = "event" if len(chosen) == 1 else "events"
        which = "" if resolved else " not resolved"
        within = f", detected in the last {since}" if since else ""
        typer.echo(f"{len(chosen)} drift {what}{which}{within}", err=True)


@events_app.command("show")
def events_show(
    event_id: EventArg,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """One drift event in full: the rates before and after, the change point, the detector's
    evidence, the traffic mix, its timeline and the redacted examples around the change."""
    from datetime import UTC, datetime

    from monitor.event_view import load

    cfg = _config(config)
    with _opened(cfg, store) as handle:
        shown = load(handle, event_id, cfg)
    if as_json:
        typer.echo(json.dumps(shown.as_json()))
    else:
        typer.echo("\n".join(shown.lines(datetime.now(UTC))))


@alerts_app.command("render")
def alerts_render(
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option(help="Deploy folder to write into.")] = Path("deploy"),
) -> None:
    """Write Prometheus rules and config and the Alertmanager config, from the owners and
    alerting config, into OUT/prometheus and OUT/alertmanager (same config, same bytes)."""
    from monitor.alerts import write

    cfg = _config(config)
    try:
        written = write(cfg, out)
    except OSError as exc:
        raise fail(f"{out}: cannot write the files: {exc.strerror}") from None
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def report(
    week: Annotated[str, typer.Option(help="ISO week to report on, e.g. 2026-W47.")],
    scope: Annotated[
        str | None,
        typer.Option(help="Only these segments: policy_area=x,model=y (a|b or a key twice: more)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, md or json.")] = "html",
    out: Annotated[
        Path | None, typer.Option(help="Folder to write to (default: report.out_dir).")
    ] = None,
    store: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: store.url).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the weekly drift report for policy review (HTML, Markdown with PNGs, or JSON)."""
    from monitor.report import Scope, Week
    from monitor.report_render import FORMATS

    cfg = _config(config)
    try:
        chosen_week = Week.parse(week)
    except ValueError as exc:
        raise fail(f"--week: {exc}") from None
    try:
        chosen_scope = Scope.parse(scope)
    except ValueError as exc:
        raise fail(f"--scope: {exc}") from None
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    from rich.console import Console

    from monitor.report_job import make_report
    from monitor.store import Store, StoreError

    console = Console(stderr=True)
    try:
        source = Store(store or cfg.store.url)
    except StoreError as exc:
        raise fail(f"--store: {exc}") from None
    try:
        with console.status("reading the store") as status:
            _, written = make_report(
                source,
                cfg,
                chosen_week,
                chosen_scope,
                (fmt,),  # type: ignore[arg-type]  # checked against FORMATS above
                out or Path(cfg.report.out_dir),
                step=status.update,
            )
    except StoreError as exc:
        typer.echo(f"driftmon: {exc}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        source.close()
    for path in written:
        typer.echo(str(path))


@dashboards_app.command("build")
def dashboards_build(
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option(help="Grafana deploy folder.")] = Path("deploy/grafana"),
    prometheus_url: Annotated[
        str, typer.Option(help="Prometheus URL for the provisioned datasource.")
    ] = "http://prometheus:9090",
) -> None:
    """Build dashboards/*.dashboard.py into OUT/dashboards/*.json, plus Grafana's datasource
    and dashboard provisioning files."""
    from monitor.config import write_files
    from monitor.dashboards import DashboardError, render
    from monitor.panels import Settings

    cfg = _config(config)
    try:
        files = render(Settings(str(cfg.alerting.runbook_base_url)), prometheus_url)
        written = write_files(out, files)
    except DashboardError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{out}: cannot write the files: {exc.strerror}") from None
    for path in written:
        typer.echo(f"wrote {path}")


@dashboards_app.command("render")
def dashboards_render(
    prometheus: Annotated[str, typer.Option(help="Prometheus base URL to query.")],
    out: Annotated[Path, typer.Option(help="Folder for the PNGs.")] = Path("docs/dashboards"),
    minutes: Annotated[float, typer.Option(help="Time range to draw, in minutes.")] = 10.0,
    var: Annotated[
        list[str] | None, typer.Option(help="A template variable, name=value (repeatable).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Draw every dashboard's panels from a live Prometheus, laid out as in Grafana."""
    from monitor.dashboards import DashboardError, build_all
    from monitor.dashshot import PrometheusError, draw
    from monitor.panels import Settings

    values = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise fail(f"--var {item!r}: expected name=value")
        values[name] = value
    cfg = _config(config)
    try:
        models = build_all(Settings(str(cfg.alerting.runbook_base_url)))
        for uid, model in models.items():
            path = draw(model, prometheus, out / f"{uid}.png", minutes * 60, values)
            typer.echo(f"wrote {path}")
    except DashboardError as exc:
        raise fail(str(exc)) from None
    except PrometheusError as exc:
        typer.echo(f"driftmon: {exc}", err=True)
        raise typer.Exit(code=1) from None


@deploy_app.command("render")
def deploy_render(
    deploy: Annotated[Path, typer.Option(help="The deploy folder.")] = Path("deploy"),
    check: Annotated[
        bool, typer.Option(help="Write nothing; exit 1 if a rendered file is out of date.")
    ] = False,
) -> None:
    """Render the compose Prometheus/Alertmanager configs and the Kubernetes ConfigMaps from
    DEPLOY/{compose,k8s}/driftmon.yaml and the generated rule files."""
    from monitor.deploy import stale, write

    try:
        if check:
            behind = stale(deploy)
            for relative in behind:
                typer.echo(f"{deploy / relative} is out of date: run driftmon deploy render")
            raise typer.Exit(code=1 if behind else 0)
        written = write(deploy)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{deploy}: cannot read or write the files: {exc}") from None
    for path in written:
        typer.echo(f"wrote {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
