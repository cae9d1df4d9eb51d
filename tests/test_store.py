"""The SQL store and its migrations, on SQLite and on a real PostgreSQL server.

Every test that takes ``url`` or ``store`` runs once per backend; the PostgreSQL runs are marked
``integration`` and get a fresh schema from the ``pg_url`` fixture.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from monitor import migrate
from monitor.counts import CountRow
from monitor.schema import DriftEvent, Interval, Reversal
from monitor.store import EVENTS, Store, StoreError, _event_values, metadata

REPO = Path(__file__).resolve().parents[1]
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/x"
PLUS_TWO = timezone(timedelta(hours=2))
H0 = datetime(2025, 3, 1, 10, tzinfo=UTC)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
)
def url(request: pytest.FixtureRequest) -> str:
    """An empty database of each backend."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    """A Store on a database migrated to head."""
    migrate.upgrade(url)
    store = Store(url, connect_timeout=3)
    yield store
    store.close()


def event(event_id: str = "e1", **changes: Any) -> DriftEvent:
    fields: dict[str, Any] = {
        "id": event_id,
        "segment": {"model": "atlas-2", "surface": "chat", "locale": "en-US"},
        "metric": "refusal",
        "direction": "up",
        "detector": "adwin",
        "detector_params": {"delta": 0.0005, "clock": 32},
        "change_offset": 12_345,
        "change_ts": datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=PLUS_TWO),
        "detected_ts": datetime(2025, 3, 1, 12, 5, tzinfo=PLUS_TWO),
        "before": Interval(rate=0.04, low=0.031, high=0.052, n=2000, k=80),
        "after": Interval(rate=1 / 3, low=0.25, high=0.42, n=300, k=100),
        "statistic": 5.25,
        "threshold": 4.0,
        "severity": "critical",
        "owner": "cyber-policy",
        "example_ids": ["s-1", "s-2"],
    }
    return DriftEvent(**(fields | changes))


def row(hour: datetime = H0, model: str = "atlas-2", **counters: Any) -> CountRow:
    return CountRow(hour, model, "chat", "en-US", "none", **counters)


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


HEAD = "0007"  # the newest revision in alembic/versions


# --- migrations ----------------------------------------------------------------------------


def test_migrations_go_up_and_down(url: str) -> None:
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert migrate.current(url) == HEAD
    assert {"drift_events", "segment_counts_hourly"} <= tables(url)
    migrate.downgrade(url, "base")
    assert migrate.current(url) is None
    assert tables(url) & {"drift_events", "segment_counts_hourly"} == set()
    migrate.upgrade(url)  # and up again from scratch
    assert migrate.current(url) == HEAD


def stored_at(url: str, revision: str, e: DriftEvent) -> None:
    """``e`` as a Store at ``revision`` wrote it: only the columns that revision has."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            there = {c["name"] for c in sa.inspect(conn).get_columns("drift_events")}
            values = {k: v for k, v in _event_values(e).items() if k in there}
            conn.execute(sa.insert(EVENTS).values(values))
    finally:
        engine.dispose()
    assert migrate.current(url) == revision


def test_allowing_regraded_steps_keeps_the_timeline(url: str) -> None:
    migrate.upgrade(url, "0005")
    store = Store(url, connect_timeout=3)
    try:
        stored_at(url, "0005", event("e1", severity="warning"))
        store.add_timeline("e1", "detected", datetime(2025, 3, 1, 12, tzinfo=UTC), "adwin")
        store.acknowledge("e1", by="ana", at=datetime(2025, 3, 1, 13, tzinfo=UTC))
        with pytest.raises(StoreError):  # the 0003 constraint: no such action yet
            store.add_timeline("e1", "regraded", datetime(2025, 3, 1, 14, tzinfo=UTC))
        migrate.upgrade(url)
        assert [e.action for e in store.timeline(["e1"])] == ["detected", "acknowledged"]
        raised = store.regrade(
            "e1", "critical", event().after, datetime(2025, 3, 1, 14, tzinfo=UTC), "up"
        )
        assert raised and store.event("e1").severity == "critical"
        migrate.downgrade(url, "0005")  # the steps the old schema cannot hold go
        assert [e.action for e in store.timeline(["e1"])] == ["detected", "acknowledged"]
    finally:
        store.close()


def test_the_migration_matches_the_models(url: str) -> None:
    migrate.upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
            inspector = sa.inspect(conn)
            checks = {c["name"] for c in inspector.get_check_constraints("drift_events")}
            indexes = {i["name"] for i in inspector.get_indexes("drift_events")}
            primary = inspector.get_pk_constraint("segment_counts_hourly")
    finally:
        engine.dispose()
    table = metadata.tables["drift_events"]
    assert checks == {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
    assert indexes == {"ix_drift_events_detected_ts", "ix_drift_events_metric_status"}
    assert primary["name"] in {"pk_segment_counts_hourly", None}  # SQLite keeps no PK name
    assert primary["constrained_columns"] == ["hour", "model", "surface", "locale", "policy_area"]


@pytest.mark.parametrize("url", ["sqlite:///unused.db", "postgresql+psycopg://u@nowhere/db"])
def test_offline_mode_writes_the_sql(url: str) -> None:
    out = io.StringIO()
    command.upgrade(migrate.alembic_config(url, output=out), "head", sql=True)
    command.downgrade(migrate.alembic_config(url, output=out), "head:base", sql=True)
    sql = out.getvalue()
    assert "CREATE TABLE drift_events" in sql
    assert "CREATE INDEX ix_drift_events_metric_status" in sql
    assert "DROP TABLE segment_counts_hourly" in sql


def test_the_plain_alembic_command_uses_alembic_ini(tmp_path: Path) -> None:
    def alembic(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    alembic("upgrade", "head")  # the default URL: driftmon.db in the working directory
    assert migrate.current(f"sqlite:///{tmp_path / 'driftmon.db'}") == HEAD
    other = f"sqlite:///{tmp_path / 'other.db'}"
    alembic("-x", f"url={other}", "upgrade", "head")
    assert migrate.current(other) == HEAD
    assert f"{HEAD} (head)" in alembic("-x", f"url={other}", "current")


def test_an_unknown_revision_is_a_store_error(sqlite_url: str) -> None:
    with pytest.raises(StoreError, match="migrating up to 9999"):
        migrate.upgrade(sqlite_url, "9999")


# --- events --------------------------------------------------------------------------------


def test_an_event_reads_back_equal_with_utc_timestamps(store: Store) -> None:
    earlier = Interval(rate=0.05, low=0.04, high=0.06, n=3000, k=150)
    went_at = datetime(2025, 3, 1, 9, tzinfo=PLUS_TWO)
    original = event(reverses=Reversal(event_id="e0", before=earlier, detected_ts=went_at))
    sparse = event(
        "e2",
        segment={"model": "nimbus-1", "policy_area": "cyber"},
        statistic=None,
        threshold=None,
        owner=None,
        example_ids=[],
        detector_params={},
    )
    assert store.add_events([original, sparse]) == 2
    assert store.events() == [original, sparse]
    for read in store.events():
        for ts in (read.change_ts, read.detected_ts):
            assert ts.tzinfo is not None and ts.utcoffset() == timedelta(0)
    assert store.events()[0].change_ts == datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert store.events()[0].reverses.detected_ts == datetime(2025, 3, 1, 7, tzinfo=UTC)


def test_adding_the_same_event_twice_stores_it_once(store: Store) -> None:
    assert store.add_events([event("e1")]) == 1
    assert store.add_events([event("e1", severity="info"), event("e2")]) == 1
    assert store.add_events([event("e3"), event("e3")]) == 1
    assert store.add_events([]) == 0
    stored = store.events()
    assert [e.id for e in stored] == ["e1", "e2", "e3"]
    assert stored[0].severity == "critical"  # the first write wins


def test_events_since(store: Store) -> None:
    base = datetime(2025, 3, 1, tzinfo=UTC)
    store.add_events(event(f"e{h}", detected_ts=base + timedelta(hours=h)) for h in range(4))
    since = datetime(2025, 3, 1, 4, tzinfo=PLUS_TWO)  # 02:00 UTC, inclusive
    assert [e.id for e in store.events(since)] == ["e2", "e3"]


def test_set_status(store: Store) -> None:
    store.add_events([event("e1")])
    assert store.set_status("e1", "acknowledged") is True
    assert store.events()[0].status == "acknowledged"
    assert store.set_status("missing", "resolved") is False
    with pytest.raises(ValueError, match="open, acknowledged, resolved"):
        store.set_status("e1", "closed")  # type: ignore[arg-type]


def test_a_naive_timestamp_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="naive datetime"):
        store.add_events([event(detected_ts=datetime(2025, 3, 1, 12))])
    with pytest.raises(StoreError, match="naive datetime"):
        store.counts(start=datetime(2025, 3, 1))


# --- hourly counts -------------------------------------------------------------------------


def test_counts_add_up_across_calls(store: Store) -> None:
    store.add_counts([row(samples=3, refusals=1, full_refusals=1, categories={"cyber": 1})])
    store.add_counts(
        [
            row(samples=2, violations=2, categories={"cyber": 2, "sexual": 1}),
            row(model="nimbus-1", samples=1),
            row(samples=1, categories={"violence": 1}),  # same cell twice in one call
        ]
    )
    atlas, nimbus = store.counts()
    assert atlas == row(
        samples=6,
        refusals=1,
        full_refusals=1,
        violations=2,
        categories={"cyber": 3, "sexual": 1, "violence": 1},
    )
    assert nimbus == row(model="nimbus-1", samples=1)
    assert atlas.hour.utcoffset() == timedelta(0)
    store.add_counts([])
    assert store.counts() == [atlas, nimbus]


def test_counts_filter_by_hour(store: Store) -> None:
    store.add_counts(row(hour=H0 + timedelta(hours=h), samples=h + 1) for h in range(5))
    start = datetime(2025, 3, 1, 13, tzinfo=PLUS_TWO)  # 11:00 UTC, inclusive
    end = H0 + timedelta(hours=3)  # exclusive
    assert [r.samples for r in store.counts(start, end)] == [2, 3]
    assert [r.samples for r in store.counts(start=start)] == [2, 3, 4, 5]
    assert [r.samples for r in store.counts(end=end)] == [1, 2, 3]
    assert len(store.counts()) == 5


def test_concurrent_writers_lose_no_counts(store: Store) -> None:
    writers, rounds = 4, 10
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(rounds):
                store.add_counts([row(samples=1, categories={f"c{n}": 1, "shared": 1})])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    [total] = store.counts()
    assert total.samples == writers * rounds
    assert total.categories == {
        **{f"c{n}": rounds for n in range(writers)},
        "shared": writers * rounds,
    }


# --- failures ------------------------------------------------------------------------------


def test_an_unreachable_server_is_a_store_error() -> None:
    store = Store(UNREACHABLE, connect_timeout=2)  # constructing does not connect
    with pytest.raises(StoreError, match=r"ping failed on .*127\.0\.0\.1:1") as caught:
        store.ping()
    assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
    with pytest.raises(StoreError, match="adding 1 drift event"):
        store.add_events([event()])
    with pytest.raises(StoreError, match="migrat"):
        migrate.upgrade(UNREACHABLE)
    store.close()


def test_the_store_never_creates_tables(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    with pytest.raises(StoreError, match="driftmon db upgrade"):
        store.add_events([event()])
    with pytest.raises(StoreError, match="driftmon db upgrade"):
        store.counts()
    store.close()
    assert tables(sqlite_url) == set()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("mysql://u:hunter2@db/x", "supports sqlite:// and postgresql://"),
        ("not a url", "cannot use store URL"),
        ("postgresql+nodriver://u:hunter2@db/x", "no driver"),
    ],
)
def test_a_bad_url_is_a_store_error_without_the_password(bad: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        Store(bad)
    assert "hunter2" not in str(caught.value)
