"""Run the store's Alembic migrations against any SQLAlchemy URL, without an ini file.

This is what ``driftmon db upgrade --url URL`` calls. The migrations live in the repository's
``alembic/`` folder, the same ones the plain ``alembic`` command (with ``alembic.ini``) runs;
the URL is handed to ``alembic/env.py`` through ``Config.attributes``, so it is never parsed
by configparser (a ``%`` in a password or in ``?options=`` would break that).

Failures are raised as :class:`~monitor.store.StoreError`, like every other store failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError

from monitor.store import StoreError, make_engine, redact

SCRIPT_LOCATION = Path(__file__).resolve().parents[1] / "alembic"


def alembic_config(url: str, *, output: TextIO | None = None) -> Config:
    """An Alembic Config for the driftmon migrations, aimed at ``url``.

    ``output`` receives what Alembic writes: the SQL of an offline (``sql=True``) run and
    what commands such as ``current`` or ``history`` print. Default: ``sys.stdout``.
    """
    if not (SCRIPT_LOCATION / "env.py").is_file():
        raise StoreError(
            f"migration scripts not found in {SCRIPT_LOCATION}; run driftmon from a checkout "
            "of the repository (the alembic/ folder next to monitor/)"
        )
    config = Config() if output is None else Config(output_buffer=output, stdout=output)
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = url
    return config


@contextmanager
def _translated(action: str, url: str) -> Iterator[None]:
    try:
        yield
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        detail = exc.orig if isinstance(exc, sa.exc.StatementError) else exc
        raise StoreError(f"{action} failed on {redact(url)}: {detail}") from exc


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``, creating the tables if needed."""
    config = alembic_config(url)
    with _translated(f"migrating up to {revision}", url):
        command.upgrade(config, revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at ``url`` down to ``revision``; ``base`` drops every table."""
    config = alembic_config(url)
    with _translated(f"migrating down to {revision}", url):
        command.downgrade(config, revision)


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None if it was never migrated."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with _translated("reading the migration revision", url), engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
