"""Alembic environment for the driftmon store.

The database URL comes, in this order, from ``config.attributes["url"]`` (set by
:mod:`monitor.migrate`, which needs no ini file), from ``alembic -x url=...``, or from
``sqlalchemy.url`` in ``alembic.ini``. Batch mode is on so that later migrations that alter
tables also work on SQLite.
"""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from monitor.store import make_engine, metadata

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database URL: pass -x url=... to alembic, or set sqlalchemy.url in alembic.ini"
        )
    return str(url)


def run_migrations_offline() -> None:
    """Write the migration SQL to the output instead of running it."""
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Connect and migrate, in one transaction."""
    engine = make_engine(_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
