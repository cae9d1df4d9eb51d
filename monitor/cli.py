"""The `driftmon` command line. Bad config or usage: a message saying what and where, exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from monitor.config import Config, ConfigError, load_config

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
    if duration is not None and duration <= 0:
        raise fail(f"--duration must be positive, got {duration}")
    if rate is not None and rate <= 0:
        raise fail(f"--rate must be positive, got {rate}")
    from monitor.up import run_up

    raise typer.Exit(run_up(cfg, duration=duration, rate=rate, store_url=store))


@app.command()
def worker(config: ConfigOpt = None, bootstrap: BootstrapOpt = None) -> None:
    """Run a worker against a Kafka cluster (classify, detect, record; metrics on /metrics)."""
    cfg = _config(config)
    target = _bootstrap(cfg, bootstrap)
    from monitor.run import run_worker

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
    if duration <= 0:
        raise fail(f"--duration must be positive, got {duration}")
    target = _bootstrap(cfg, bootstrap)
    from monitor.run import publish_simulation

    sent = publish_simulation(cfg, target, duration, paced=not fast)
    typer.echo(f"published {sent} simulated message(s) to {cfg.broker.topics.samples}")


@app.command()
def classify(
    file: Annotated[Path, typer.Argument(help="JSONL file of samples.")],
    out: Annotated[Path | None, typer.Option(help="Write verdicts here (default stdout).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Label a JSONL file of samples offline with the stream's classifiers; one verdict per line."""
    cfg = _config(config)
    if not file.is_file():
        raise fail(f"{file}: no such file")
    from monitor.run import classify_file

    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        good, bad = classify_file(file, cfg, handle)
    finally:
        if out:
            handle.close()
    typer.echo(f"{good} verdict(s), {bad} bad line(s) skipped", err=True)


@app.command()
def backtest(
    file: Annotated[Path, typer.Argument(help="JSONL or Parquet of samples or labelled verdicts.")],
    out: Annotated[Path | None, typer.Option(help="Write drift events here (JSONL).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the stream's classifiers and detectors over a file; print a summary."""
    cfg = _config(config)
    if not file.is_file():
        raise fail(f"{file}: no such file")
    from monitor.backtest import BacktestError, backtest

    try:
        events, summary = backtest(cfg, file)
    except BacktestError as exc:
        raise fail(str(exc)) from None
    if out is not None:
        out.write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")
    for event in events:
        typer.echo(f"DRIFT {event.describe()}", err=out is None)
    typer.echo(json.dumps(summary.as_dict()))


@detectors_app.command("plan")
def detectors_plan(
    config: ConfigOpt = None,
    observed: Annotated[
        bool, typer.Option(help="Use the traffic in the store (last 7 days), not the stated.")
    ] = False,
) -> None:
    """Print, per segment and metric, the ARL0 in use and the expected detection delays."""
    from datetime import UTC, datetime

    from monitor import plan as planning

    cfg = _config(config)
    if observed:
        from monitor.store import Store, StoreError

        try:
            rows = Store(cfg.store.url).counts()
        except StoreError as exc:
            raise fail(f"cannot read observed traffic: {exc}") from None
        traffic = planning.observed(rows, planning.since_days(datetime.now(UTC)))
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
        f"; ARL0 = what a budget of {budget:g} false page(s)/week over {len(rows)} streams asks"
        " for (the worker runs params.arl0)"
        if budget
        else ""
    )
    table = Table(title=title)
    for name in ("segment", "metric", "samples/h", "rate", "ARL0 (samples)"):
        table.add_column(name)
    for label, _ in CHANGES:
        table.add_column(f"delay {label}", justify="right")
    for row in rows:
        cells = [row.segment, row.metric, f"{row.per_hour:,.0f}", f"{row.rate:.2%}"]
        cells.append("n/a" if row.arl0 is None else f"{row.arl0:,.0f}")
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
    target = url or cfg.store.url
    if not target.startswith(("sqlite", "postgresql")):
        raise fail(f"--url must be a sqlite:// or postgresql:// SQLAlchemy URL, got {target!r}")
    from monitor.migrate import upgrade
    from monitor.store import StoreError, redact

    try:
        upgrade(target, revision)
    except StoreError as exc:
        typer.echo(f"driftmon: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(json.dumps({"upgraded": redact(target), "revision": revision}))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
