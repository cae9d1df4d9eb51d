"""Fixtures shared by the whole test suite. Keep each one small and documented.

Environment variables read here:

``DRIFTMON_PG_URL``
    PostgreSQL server used by :func:`pg_url` (default
    ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
``DRIFTMON_REQUIRE_PG``
    When set (to anything but ``""``, ``0``, ``false`` or ``no``), an unreachable PostgreSQL
    fails the tests that need it instead of skipping them: set it in CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.broker import EmbeddedBroker

PG_URL = os.environ.get("DRIFTMON_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_required() -> bool:
    value = os.environ.get("DRIFTMON_REQUIRE_PG")
    return value is not None and value.strip().lower() not in {"", "0", "false", "no"}


# --- databases -----------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file in the test's temporary directory (not created yet)."""
    return f"sqlite:///{tmp_path / 'driftmon.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema made for this test and dropped after it.

    The schema is uniquely named and is the connection's ``search_path``, so unqualified
    tables (and Alembic's version table) land in it. Skips when the server is unreachable,
    unless ``DRIFTMON_REQUIRE_PG`` is set, in which case it fails.
    """
    admin = sa.create_engine(
        PG_URL,
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": 3},
    )
    schema = f"driftmon_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        shown = sa.make_url(PG_URL).render_as_string(hide_password=True)
        reason = f"PostgreSQL at {shown} is unreachable: {' '.join(str(exc.orig).split())}"
        if _pg_required():
            pytest.fail(f"{reason} (DRIFTMON_REQUIRE_PG is set, so this is a failure)")
        pytest.skip(f"{reason}; set DRIFTMON_REQUIRE_PG=1 to make this a failure")
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '10s'"))
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- Kafka ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """The embedded Tansu broker on a free loopback port, shared by the session's tests."""
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "tansu.log") as running:
        yield running


@pytest.fixture
def topics() -> dict[str, object]:
    """Broker settings with topic names and a consumer group of this test's own."""
    tag = uuid.uuid4().hex[:8]
    names = {k: f"{k}-{tag}" for k in ("samples", "verdicts", "drift_events", "dlq")}
    return {"topics": names, "app_id": f"driftmon-{tag}"}
