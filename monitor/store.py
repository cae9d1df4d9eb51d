"""The SQL store: drift events and hourly segment counts, on SQLite or PostgreSQL.

The tables are declared here (``metadata`` is what the Alembic migrations are checked against)
but they are only ever *created* by a migration: :class:`Store` never issues DDL. Run
``driftmon db upgrade --url URL`` (or :func:`monitor.migrate.upgrade`) first.

Writes are safe to repeat. :meth:`Store.add_events` is idempotent by event id, so a re-delivered
drift event never makes a second row. :meth:`Store.add_counts` is additive: a cell that already
exists has the new counts added to it, categories merged key by key.

Timestamps go in timezone-aware and come out timezone-aware in UTC on both backends (SQLite
keeps no offset, so values are converted to UTC before they are written); a naive timestamp is
refused rather than guessed.

Every database failure leaves this module as a :class:`StoreError` whose message says what was
being done and on which database (password hidden); the SQLAlchemy error is its ``__cause__``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast, get_args

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monitor.counts import COUNTERS, DIMENSIONS, CountRow, combine, merge_categories
from monitor.reportdata import ClassifierRow, DlqRow, Exemplar, ReportRows
from monitor.schema import (
    SEVERITIES,
    Attribution,
    Direction,
    DriftEvent,
    EventStatus,
    Interval,
    Metric,
    Reversal,
    Severity,
    TimelineAction,
    TimelineEntry,
    graver,
)

INTERVAL_FIELDS = tuple(Interval.model_fields)  # rate, low, high, n, k: before_* / after_*
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

_CHUNK = 500  # keys per SELECT ... IN, well under SQLite's bound-parameter limit
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")
_MISSING_TABLE = re.compile(r'no such table|relation "[^"]+" does not exist')


class StoreError(RuntimeError):
    """A store operation failed; the message names the operation and the database."""


class UnknownEventError(LookupError):
    """No stored drift event has this id (a caller's mistake, not a database failure)."""


@dataclass(frozen=True)
class Transition:
    """What :meth:`Store.acknowledge` / :meth:`Store.resolve` did: ``changed`` is False when
    the event was already there (a repeated ack), so callers can say so."""

    event_id: str
    before: EventStatus
    after: EventStatus

    @property
    def changed(self) -> bool:
        return self.before != self.after


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware values and always returns UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} cannot be stored: the store keeps "
                "timezone-aware UTC timestamps, so attach a tzinfo first"
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


class Base(DeclarativeBase):
    metadata = metadata


class DriftEventRow(Base):
    """One :class:`~monitor.schema.DriftEvent`, with its intervals flattened into columns."""

    __tablename__ = "drift_events"
    __table_args__ = (
        sa.Index(None, "detected_ts"),
        sa.Index(None, "metric", "status"),
        _one_of("metric", get_args(Metric)),
        _one_of("direction", get_args(Direction)),
        _one_of("severity", SEVERITIES),
        _one_of("status", get_args(EventStatus)),
    )

    id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    # The segment's usual dimensions, as columns to filter on; ``segment`` is the whole truth.
    model: Mapped[str | None] = mapped_column(sa.String(256))
    surface: Mapped[str | None] = mapped_column(sa.String(256))
    locale: Mapped[str | None] = mapped_column(sa.String(64))
    policy_area: Mapped[str | None] = mapped_column(sa.String(128))
    segment: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    metric: Mapped[str] = mapped_column(sa.String(32))
    direction: Mapped[str] = mapped_column(sa.String(8))
    detector: Mapped[str] = mapped_column(sa.String(64))
    detector_params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    change_offset: Mapped[int] = mapped_column(sa.BigInteger)
    change_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    before_rate: Mapped[float] = mapped_column(sa.Double)
    before_low: Mapped[float] = mapped_column(sa.Double)
    before_high: Mapped[float] = mapped_column(sa.Double)
    before_n: Mapped[int] = mapped_column(sa.BigInteger)
    before_k: Mapped[int] = mapped_column(sa.BigInteger)
    after_rate: Mapped[float] = mapped_column(sa.Double)
    after_low: Mapped[float] = mapped_column(sa.Double)
    after_high: Mapped[float] = mapped_column(sa.Double)
    after_n: Mapped[int] = mapped_column(sa.BigInteger)
    after_k: Mapped[int] = mapped_column(sa.BigInteger)
    statistic: Mapped[float | None] = mapped_column(sa.Double)
    threshold: Mapped[float | None] = mapped_column(sa.Double)
    severity: Mapped[str] = mapped_column(sa.String(16))
    owner: Mapped[str | None] = mapped_column(sa.String(256))
    example_ids: Mapped[list[str]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, server_default=sa.func.current_timestamp()
    )
    attribution: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    reverses: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    reopened_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimelineRow(Base):
    """One :class:`~monitor.schema.TimelineEntry`; no foreign key, see migration 0003."""

    __tablename__ = "event_timeline"
    __table_args__ = (
        sa.Index(None, "event_id"),
        sa.Index(None, "at"),
        _one_of("action", get_args(TimelineAction)),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(sa.String(256))
    note: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class DetectorStateRow(Base):
    """The checkpoint of one watched stream: parameters and summary statistics, no pickles."""

    __tablename__ = "detector_state"

    stream: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentCountRow(Base):
    """One :class:`~monitor.counts.CountRow`: counts of one segment in one UTC hour."""

    __tablename__ = "segment_counts_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    model: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    surface: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    locale: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    policy_area: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    samples: Mapped[int] = mapped_column(sa.Integer)
    classified: Mapped[int] = mapped_column(sa.Integer)
    unclassified: Mapped[int] = mapped_column(sa.Integer)
    refusals: Mapped[int] = mapped_column(sa.Integer)
    partial_refusals: Mapped[int] = mapped_column(sa.Integer)
    full_refusals: Mapped[int] = mapped_column(sa.Integer)
    benign: Mapped[int] = mapped_column(sa.Integer)
    harmful: Mapped[int] = mapped_column(sa.Integer)
    over_refusals: Mapped[int] = mapped_column(sa.Integer)
    under_refusals: Mapped[int] = mapped_column(sa.Integer)
    violations: Mapped[int] = mapped_column(sa.Integer)
    categories: Mapped[dict[str, int]] = mapped_column(sa.JSON)


class ExemplarRow(Base):
    """One redacted :class:`~monitor.reportdata.Exemplar` (never raw text); see migration 0004."""

    __tablename__ = "report_exemplars"
    __table_args__ = (sa.Index(None, "ts"),)

    sample_id: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    model: Mapped[str] = mapped_column(sa.String(256))
    surface: Mapped[str] = mapped_column(sa.String(256))
    locale: Mapped[str] = mapped_column(sa.String(64))
    policy_area: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(sa.String(16))
    labels: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    prompt: Mapped[str] = mapped_column(sa.Text)
    response: Mapped[str] = mapped_column(sa.Text)


class DlqCountRow(Base):
    """Messages sent to the DLQ in one UTC hour, by reason."""

    __tablename__ = "dlq_counts_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    reason: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)


class ClassifierCountRow(Base):
    """Verdicts per model, classifier role and ``name@version`` in one UTC hour."""

    __tablename__ = "classifier_counts_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    model: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    classifier: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    samples: Mapped[int] = mapped_column(sa.Integer)


class ReportRunRow(Base):
    """A weekly report the worker has claimed (one worker writes and posts each week)."""

    __tablename__ = "report_runs"

    week: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(sa.Text)


EVENTS = cast(sa.Table, DriftEventRow.__table__)
STATES = cast(sa.Table, DetectorStateRow.__table__)
COUNTS = cast(sa.Table, SegmentCountRow.__table__)
TIMELINE = cast(sa.Table, TimelineRow.__table__)
EXEMPLARS = cast(sa.Table, ExemplarRow.__table__)
DLQ_COUNTS = cast(sa.Table, DlqCountRow.__table__)
CLASSIFIER_COUNTS = cast(sa.Table, ClassifierCountRow.__table__)
REPORT_RUNS = cast(sa.Table, ReportRunRow.__table__)
_KEY_COLUMNS = ("hour", *DIMENSIONS)
_CLASSIFIER_KEY = ("hour", "model", "role", "classifier")


def _event_values(event: DriftEvent) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": event.id,
        **{dimension: event.segment.get(dimension) for dimension in DIMENSIONS},
        "segment": dict(event.segment),
        "metric": event.metric,
        "direction": event.direction,
        "detector": event.detector,
        "detector_params": dict(event.detector_params),
        "change_offset": event.change_offset,
        "change_ts": event.change_ts,
        "detected_ts": event.detected_ts,
        "statistic": event.statistic,
        "threshold": event.threshold,
        "severity": event.severity,
        "owner": event.owner,
        "example_ids": list(event.example_ids),
        "status": event.status,
        "attribution": event.attribution.model_dump() if event.attribution else None,
        "reverses": event.reverses.model_dump(mode="json") if event.reverses else None,
        "reopened_ts": event.reopened_ts,
    }
    return (
        values | _interval_values("before", event.before) | _interval_values("after", event.after)
    )


def _interval_values(side: str, interval: Interval) -> dict[str, Any]:
    """An :class:`Interval` as the columns ``{side}_rate``, ``{side}_low``, … of its row."""
    return {f"{side}_{name}": getattr(interval, name) for name in INTERVAL_FIELDS}


def regrade_entry(
    event_id: str, at: datetime, note: str, detail: Mapping[str, Any] | None, reopened: bool
) -> TimelineEntry:
    """The ``regraded`` step; a reopened event says its acknowledgement no longer covers it."""
    facts = dict(detail or {})
    if reopened:
        note += "; reopened: its acknowledgement covered the milder severity"
        facts["reopened"] = True
    return TimelineEntry(
        event_id=event_id,
        action="regraded",
        at=at,
        actor="driftmon",
        note=note,
        detail=facts or None,
    )


def _event_from(row: sa.Row[Any]) -> DriftEvent:
    m = row._mapping
    before, after = (
        Interval(**{name: m[f"{side}_{name}"] for name in INTERVAL_FIELDS})
        for side in ("before", "after")
    )
    return DriftEvent(
        id=m["id"],
        segment=m["segment"],
        metric=m["metric"],
        direction=m["direction"],
        detector=m["detector"],
        detector_params=m["detector_params"],
        change_offset=m["change_offset"],
        change_ts=m["change_ts"],
        detected_ts=m["detected_ts"],
        before=before,
        after=after,
        statistic=m["statistic"],
        threshold=m["threshold"],
        severity=m["severity"],
        owner=m["owner"],
        example_ids=m["example_ids"],
        status=m["status"],
        attribution=Attribution.model_validate(m["attribution"]) if m["attribution"] else None,
        reverses=Reversal.model_validate(m["reverses"]) if m["reverses"] else None,
        reopened_ts=m["reopened_ts"],
    )


def _count_from(row: sa.Row[Any]) -> CountRow:
    m = row._mapping
    return CountRow(
        **{name: m[name] for name in (*_KEY_COLUMNS, *COUNTERS)},
        categories=dict(sorted(m["categories"].items())),
    )


def make_engine(url: str, *, connect_timeout: int = 10, **options: Any) -> sa.Engine:
    """An Engine for a sqlite or postgresql URL; PostgreSQL connects give up after the timeout.

    Raises :class:`StoreError` for a malformed URL, an unsupported backend or a missing driver.
    Nothing connects yet.
    """
    try:
        parsed = sa.make_url(url)
        backend = parsed.get_backend_name()
        if backend not in {"sqlite", "postgresql"}:
            raise StoreError(
                f"store URL {parsed.render_as_string(hide_password=True)!r} is for {backend!r}; "
                "driftmon supports sqlite:// and postgresql:// URLs"
            )
        connect_args: dict[str, Any] = dict(options.pop("connect_args", {}))
        if backend == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args.setdefault("connect_timeout", connect_timeout)
        return sa.create_engine(parsed, connect_args=connect_args, **options)
    except sa.exc.NoSuchModuleError as exc:
        raise StoreError(f"no driver for store URL {redact(url)!r}: {exc}") from exc
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"cannot use store URL {redact(url)!r}: {exc}; expected e.g. "
            "sqlite:///driftmon.db or postgresql+psycopg://user@host:5432/dbname"
        ) from exc


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs.

    >>> redact("postgresql+psycopg://app:s3cret@db:5432/driftmon")
    'postgresql+psycopg://app:***@db:5432/driftmon'
    """
    return _PASSWORD.sub(r"\1***@", url)


class Store:
    """Drift events and hourly counts in one SQL database, addressed by a SQLAlchemy URL.

    Creating a Store does not connect; the first operation does (use :meth:`ping` to check
    early). ``connect_timeout`` (seconds) bounds how long a PostgreSQL connect may take.
    """

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self._engine = make_engine(url, connect_timeout=connect_timeout, pool_pre_ping=True)
        self._shown_url = self._engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Store({self._shown_url!r})"

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            detail = exc.orig if isinstance(exc, sa.exc.StatementError) else exc
            hint = ""
            if _MISSING_TABLE.search(str(detail)):
                hint = f" (is it migrated? run: driftmon db upgrade --url {self._shown_url})"
            raise StoreError(f"{action} failed on {self._shown_url}: {detail}{hint}") from exc

    def _dialect_insert(self, table: sa.Table) -> Any:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def ping(self) -> None:
        """Raise :class:`StoreError` unless the database answers a trivial query."""
        with self._transaction("ping") as conn:
            conn.execute(sa.select(1))

    def close(self) -> None:
        """Close pooled connections; the Store reconnects if used again."""
        self._engine.dispose()

    def add_events(self, events: Iterable[DriftEvent]) -> int:
        """Insert events whose id is not stored yet; returns how many were new."""
        unique: dict[str, DriftEvent] = {}
        for event in events:
            unique.setdefault(event.id, event)
        if not unique:
            return 0
        rows = [_event_values(event) for event in unique.values()]
        statement = (
            self._dialect_insert(EVENTS)
            .on_conflict_do_nothing(index_elements=[EVENTS.c.id])
            .returning(EVENTS.c.id)
        )
        with self._transaction(f"adding {len(rows)} drift event(s)") as conn:
            new = [row.id for row in conn.execute(statement, rows)]
            if new:  # the first step of each new event's timeline, in the same transaction
                detected = [
                    {
                        "event_id": i,
                        "action": "detected",
                        "at": unique[i].detected_ts,
                        "actor": unique[i].detector,
                        "note": None,
                        "detail": None,
                    }
                    for i in new
                ]
                conn.execute(sa.insert(TIMELINE), detected)
            return len(new)

    def add_counts(
        self,
        rows: Iterable[CountRow],
        checkpoints: Mapping[str, dict[str, Any]] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Add counts to the stored cells: new cells are inserted, existing ones summed.

        New cells go in with ``INSERT ... ON CONFLICT DO NOTHING``; the cells that were already
        there are then locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite holds the write
        lock since the insert) and updated with counters added in SQL and categories merged
        here. A concurrent writer of the same cell therefore waits instead of losing counts.

        ``checkpoints`` (as for :meth:`save_states`) are upserted in the same transaction: the
        worker stores how far its counts go with the counts, so both land or neither does.
        """
        merged: dict[tuple[Any, ...], CountRow] = {}
        for row in rows:
            merged[row.key] = combine(merged[row.key], row) if row.key in merged else row
        if not merged:
            if checkpoints:
                self.save_states(checkpoints, at or datetime.now(UTC))
            return
        pending = [merged[key] for key in sorted(merged)]
        insert = self._dialect_insert(COUNTS)
        insert = insert.on_conflict_do_nothing(
            index_elements=[COUNTS.c[name] for name in _KEY_COLUMNS]
        ).returning(*(COUNTS.c[name] for name in _KEY_COLUMNS))
        with self._transaction(f"adding {len(pending)} hourly count row(s)") as conn:
            values = [
                {**row.counters(), **dict(zip(_KEY_COLUMNS, row.key, strict=True))}
                | {"categories": dict(row.categories)}
                for row in pending
            ]
            inserted = {tuple(r) for r in conn.execute(insert, values)}
            existing = [row for row in pending if row.key not in inserted]
            if existing:
                self._add_to_existing(conn, existing)
            if checkpoints:
                self._upsert_states(conn, checkpoints, at or datetime.now(UTC))

    def _add_to_existing(self, conn: Connection, rows: Sequence[CountRow]) -> None:
        key_columns = sa.tuple_(*(COUNTS.c[name] for name in _KEY_COLUMNS))
        stored: dict[tuple[Any, ...], dict[str, int]] = {}
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            query = (
                sa.select(*(COUNTS.c[name] for name in _KEY_COLUMNS), COUNTS.c.categories)
                .where(key_columns.in_([row.key for row in chunk]))
                .order_by(*(COUNTS.c[name] for name in _KEY_COLUMNS))
                .with_for_update()
            )
            for found in conn.execute(query):
                stored[tuple(found[: len(_KEY_COLUMNS)])] = found.categories or {}
        missing = [row.key for row in rows if row.key not in stored]
        if missing:  # only possible if a row was deleted between the two statements
            raise StoreError(f"hourly count rows vanished while being updated: {missing[:3]!r}")
        update = (
            sa.update(COUNTS)
            .where(*(COUNTS.c[name] == sa.bindparam(f"k_{name}") for name in _KEY_COLUMNS))
            .values(
                {name: COUNTS.c[name] + sa.bindparam(f"n_{name}") for name in COUNTERS}
                | {"categories": sa.bindparam("n_categories", type_=sa.JSON)}
            )
        )
        params = [
            {f"k_{name}": value for name, value in zip(_KEY_COLUMNS, row.key, strict=True)}
            | {f"n_{name}": count for name, count in row.counters().items()}
            | {"n_categories": merge_categories(stored[row.key], row.categories)}
            for row in rows
        ]
        conn.execute(update, params)

    def events(self, since: datetime | None = None) -> list[DriftEvent]:
        """Stored events detected at or after ``since`` (all if None), oldest first."""
        query = sa.select(EVENTS).order_by(EVENTS.c.detected_ts, EVENTS.c.id)
        if since is not None:
            query = query.where(EVENTS.c.detected_ts >= since)
        with self._transaction("reading drift events") as conn:
            return [_event_from(row) for row in conn.execute(query)]

    def counts(self, start: datetime | None = None, end: datetime | None = None) -> list[CountRow]:
        """Stored rows whose hour is in ``[start, end)`` (either bound optional), by key."""
        query = sa.select(COUNTS).order_by(*(COUNTS.c[name] for name in _KEY_COLUMNS))
        if start is not None:
            query = query.where(COUNTS.c.hour >= start)
        if end is not None:
            query = query.where(COUNTS.c.hour < end)
        with self._transaction("reading hourly counts") as conn:
            return [_count_from(row) for row in conn.execute(query)]

    def save_states(self, states: Mapping[str, dict[str, Any]], at: datetime) -> None:
        """Upsert detector checkpoints by stream key (the latest one wins)."""
        if not states:
            return
        with self._transaction(f"saving {len(states)} detector state(s)") as conn:
            self._upsert_states(conn, states, at)

    def _upsert_states(
        self, conn: Connection, states: Mapping[str, dict[str, Any]], at: datetime
    ) -> None:
        rows = [{"stream": k, "state": v, "updated_at": at} for k, v in states.items()]
        insert = self._dialect_insert(STATES)
        statement = insert.on_conflict_do_update(
            index_elements=[STATES.c.stream],
            set_={"state": insert.excluded.state, "updated_at": insert.excluded.updated_at},
        )
        conn.execute(statement, rows)

    def load_states(self) -> dict[str, dict[str, Any]]:
        """Every stored detector checkpoint, by stream key."""
        with self._transaction("loading detector states") as conn:
            rows = conn.execute(sa.select(STATES.c.stream, STATES.c.state)).all()
        return {row.stream: row.state for row in rows}

    def set_status(self, event_id: str, status: EventStatus) -> bool:
        """Set an event's status; False if no event has that id."""
        allowed = get_args(EventStatus)
        if status not in allowed:
            raise ValueError(f"status must be one of {', '.join(allowed)}; got {status!r}")
        statement = sa.update(EVENTS).where(EVENTS.c.id == event_id).values(status=status)
        with self._transaction(f"setting status of event {event_id!r}") as conn:
            return conn.execute(statement).rowcount == 1

    def open_events(self) -> list[DriftEvent]:
        """Events not resolved yet (open or acknowledged), oldest first: what alerts are about."""
        query = (
            sa.select(EVENTS)
            .where(EVENTS.c.status != "resolved")
            .order_by(EVENTS.c.detected_ts, EVENTS.c.id)
        )
        with self._transaction("reading open drift events") as conn:
            return [_event_from(row) for row in conn.execute(query)]

    def add_timeline(
        self,
        event_id: str,
        action: TimelineAction,
        at: datetime,
        actor: str | None = None,
        note: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        once: bool = False,
    ) -> bool:
        """Append one timeline entry; with ``once``, skip it (False) if the event already has an
        entry with this action, actor and detail (a webhook delivered twice records once)."""
        entry = TimelineEntry(
            event_id=event_id,
            action=action,
            at=at,
            actor=actor,
            note=note,
            detail=dict(detail) if detail is not None else None,
        )
        with self._transaction(f"adding {action!r} to the timeline of {event_id!r}") as conn:
            if once and self._has_entry(conn, entry):
                return False
            conn.execute(sa.insert(TIMELINE), [_timeline_values(entry)])
            return True

    def timeline(
        self, event_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> list[TimelineEntry]:
        """Timeline entries of these events (all if None) at or after ``since``, in order."""
        query = sa.select(TIMELINE).order_by(TIMELINE.c.at, TIMELINE.c.id)
        if since is not None:
            query = query.where(TIMELINE.c.at >= since)
        ids = None if event_ids is None else sorted(set(event_ids))
        with self._transaction("reading the event timeline") as conn:
            if ids is None:
                return [_entry_from(row) for row in conn.execute(query)]
            found: list[tuple[Any, ...]] = []
            for start in range(0, len(ids), _CHUNK):
                chunk = query.where(TIMELINE.c.event_id.in_(ids[start : start + _CHUNK]))
                found.extend((row.at, row.id, _entry_from(row)) for row in conn.execute(chunk))
        return [entry for *_, entry in sorted(found, key=lambda f: (f[0], f[1]))]

    def event(self, event_id: str) -> DriftEvent | None:
        """The stored event with this id, or None."""
        query = sa.select(EVENTS).where(EVENTS.c.id == event_id)
        with self._transaction(f"reading drift event {event_id!r}") as conn:
            row = conn.execute(query).first()
        return None if row is None else _event_from(row)

    def event_ids(self, prefix: str, limit: int = 2) -> list[str]:
        """Up to ``limit`` stored event ids that start with ``prefix``, in order."""
        query = (
            sa.select(EVENTS.c.id)
            .where(EVENTS.c.id.startswith(prefix, autoescape=True))
            .order_by(EVENTS.c.id)
            .limit(limit)
        )
        with self._transaction(f"looking up event ids starting {prefix!r}") as conn:
            return list(conn.execute(query).scalars())

    def acknowledge(
        self,
        event_id: str,
        by: str,
        note: str | None = None,
        at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
        severity: Severity | None = None,
    ) -> Transition:
        """Mark an open event acknowledged and say so on its timeline, in one transaction.

        Acknowledging an event that is already acknowledged or resolved changes nothing; with
        ``severity``, neither does acknowledging one a regrade has moved off that severity.
        Raises :class:`UnknownEventError` if no event has this id.
        """
        return self._transition(event_id, ("open",), "acknowledged", by, note, at, detail, severity)

    def resolve(
        self,
        event_id: str,
        by: str,
        note: str | None = None,
        at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Transition:
        """Mark an event resolved and say so on its timeline, in one transaction (idempotent).

        Raises :class:`UnknownEventError` if no event has this id.
        """
        return self._transition(
            event_id, ("open", "acknowledged"), "resolved", by, note, at, detail
        )

    def regrade(
        self,
        event_id: str,
        severity: Severity,
        after: Interval,
        at: datetime,
        note: str,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        """Raise a not yet resolved event to ``severity``, with ``after`` the evidence it now
        rests on, and say so on its timeline (actor ``driftmon``), in one transaction. False,
        and nothing written, if it is resolved or already as grave (another worker was first).

        An acknowledged event is reopened: its acknowledgement (and the silence made with it)
        covered the milder severity, so the graver one pages and escalates from ``at``.
        """
        milder = [s for s in SEVERITIES if graver(severity, s)]
        raised = {"severity": severity, **_interval_values("after", after)}

        def raise_if(conn: Connection, current: EventStatus, **also: Any) -> bool:
            # Conditional, so of two workers (or a regrade and an ack) only one matches.
            statement = (
                sa.update(EVENTS)
                .where(
                    EVENTS.c.id == event_id,
                    EVENTS.c.status == current,
                    EVENTS.c.severity.in_(milder),
                )
                .values(**raised, **also)
            )
            return conn.execute(statement).rowcount == 1

        with self._transaction(f"regrading event {event_id!r} {severity}") as conn:
            reopened = raise_if(conn, "acknowledged", status="open", reopened_ts=at)
            if not reopened and not raise_if(conn, "open"):
                return False
            entry = regrade_entry(event_id, at, note, detail, reopened)
            conn.execute(sa.insert(TIMELINE), [_timeline_values(entry)])
            return True

    def _transition(
        self,
        event_id: str,
        sources: tuple[EventStatus, ...],
        target: EventStatus,
        by: str,
        note: str | None,
        at: datetime | None,
        detail: Mapping[str, Any] | None = None,
        severity: Severity | None = None,
    ) -> Transition:
        # A conditional UPDATE is the lock: of two concurrent acks only one matches a row.
        when = at or datetime.now(UTC)
        entry = TimelineEntry(
            event_id=event_id,
            action=target,
            at=when,
            actor=by,
            note=note,
            detail=dict(detail) if detail is not None else None,
        )
        with self._transaction(f"setting event {event_id!r} {target}") as conn:
            current = conn.execute(
                sa.select(EVENTS.c.status).where(EVENTS.c.id == event_id)
            ).scalar_one_or_none()
            if current is None:
                raise UnknownEventError(
                    f"no drift event with id {event_id!r} in {self._shown_url}; "
                    "check the id in the alert's event_id label"
                )
            update = (
                sa.update(EVENTS)
                .where(EVENTS.c.id == event_id, EVENTS.c.status.in_(sources))
                .values(status=target)
            )
            if severity is not None:
                update = update.where(EVENTS.c.severity == severity)
            if conn.execute(update).rowcount != 1:
                return Transition(event_id, current, current)
            conn.execute(sa.insert(TIMELINE), [_timeline_values(entry)])
            return Transition(event_id, current, target)

    @staticmethod
    def _has_entry(conn: Connection, entry: TimelineEntry) -> bool:
        query = sa.select(TIMELINE).where(
            TIMELINE.c.event_id == entry.event_id, TIMELINE.c.action == entry.action
        )
        return any(
            row.actor == entry.actor and (row.detail or None) == entry.detail
            for row in conn.execute(query)
        )

    # --- what the weekly report reads besides counts and events (migration 0004) -------------

    def add_report_rows(self, rows: ReportRows) -> None:
        """Store exemplars (idempotent by sample id) and hourly DLQ and classifier counts
        (additive, like :meth:`add_counts`), all in one transaction."""
        if not rows:
            return
        with self._transaction("adding report exemplars and hourly tallies") as conn:
            if rows.exemplars:
                insert = self._dialect_insert(EXEMPLARS).on_conflict_do_nothing(
                    index_elements=[EXEMPLARS.c.sample_id]
                )
                conn.execute(insert, [dataclasses.asdict(e) for e in rows.exemplars])
            dlq: dict[tuple[Any, ...], int] = {}
            for d in rows.dlq:
                dlq[(d.hour, d.reason)] = dlq.get((d.hour, d.reason), 0) + d.count
            self._add_up(conn, DLQ_COUNTS, ("hour", "reason"), "count", dlq)
            used: dict[tuple[Any, ...], int] = {}
            for c in rows.classifiers:
                key = (c.hour, c.model, c.role, c.classifier)
                used[key] = used.get(key, 0) + c.samples
            self._add_up(conn, CLASSIFIER_COUNTS, _CLASSIFIER_KEY, "samples", used)

    def _add_up(
        self,
        conn: Connection,
        table: sa.Table,
        keys: tuple[str, ...],
        column: str,
        totals: Mapping[tuple[Any, ...], int],
    ) -> None:
        """Insert cells or add to the stored ones, in key order (no deadlock between writers)."""
        if not totals:
            return
        insert = self._dialect_insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={column: table.c[column] + insert.excluded[column]},
        )
        values = [
            dict(zip(keys, key, strict=True)) | {column: n} for key, n in sorted(totals.items())
        ]
        conn.execute(statement, values)

    def _hourly(
        self, table: sa.Table, column: str, start: datetime | None, end: datetime | None
    ) -> list[sa.Row[Any]]:
        query = sa.select(table).order_by(*table.primary_key.columns)
        if start is not None:
            query = query.where(table.c[column] >= start)
        if end is not None:
            query = query.where(table.c[column] < end)
        with self._transaction(f"reading {table.name}") as conn:
            return list(conn.execute(query))

    def exemplars(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[Exemplar]:
        """Stored exemplars whose ``ts`` is in ``[start, end)``, by sample id."""
        return [Exemplar(**row._mapping) for row in self._hourly(EXEMPLARS, "ts", start, end)]

    def dlq_counts(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[DlqRow]:
        """Hourly DLQ counts by reason for hours in ``[start, end)``."""
        return [DlqRow(**row._mapping) for row in self._hourly(DLQ_COUNTS, "hour", start, end)]

    def classifier_counts(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[ClassifierRow]:
        """Hourly verdict counts by model, role and classifier for hours in ``[start, end)``."""
        rows = self._hourly(CLASSIFIER_COUNTS, "hour", start, end)
        return [ClassifierRow(**row._mapping) for row in rows]

    def delete_exemplars(self, before: datetime) -> int:
        """Delete exemplars older than ``before`` (retention); returns how many went."""
        statement = sa.delete(EXEMPLARS).where(EXEMPLARS.c.ts < before)
        with self._transaction("deleting expired exemplars") as conn:
            return conn.execute(statement).rowcount

    def claim_report(self, week: str, at: datetime) -> bool:
        """Claim the weekly report of ``week`` for this worker; False if already claimed."""
        insert = self._dialect_insert(REPORT_RUNS).on_conflict_do_nothing(
            index_elements=[REPORT_RUNS.c.week]
        )
        statement = insert.returning(REPORT_RUNS.c.week)
        row = {"week": week, "claimed_at": at, "finished_at": None, "location": None}
        with self._transaction(f"claiming the report of {week}") as conn:
            return conn.execute(statement, [row]).first() is not None

    def finish_report(self, week: str, at: datetime, location: str) -> None:
        """Record where the claimed report of ``week`` was written."""
        statement = (
            sa.update(REPORT_RUNS)
            .where(REPORT_RUNS.c.week == week)
            .values(finished_at=at, location=location)
        )
        with self._transaction(f"finishing the report of {week}") as conn:
            conn.execute(statement)

    def release_report(self, week: str) -> None:
        """Give up a claim (the report failed) so a later attempt may try again."""
        statement = sa.delete(REPORT_RUNS).where(
            REPORT_RUNS.c.week == week, REPORT_RUNS.c.finished_at.is_(None)
        )
        with self._transaction(f"releasing the report of {week}") as conn:
            conn.execute(statement)

    def report_runs(self) -> dict[str, dict[str, Any]]:
        """Claimed weekly reports by week: when claimed, when finished, where written."""
        with self._transaction("reading report runs") as conn:
            rows = conn.execute(sa.select(REPORT_RUNS).order_by(REPORT_RUNS.c.week)).all()
        return {row.week: dict(row._mapping) for row in rows}


def _timeline_values(entry: TimelineEntry) -> dict[str, Any]:
    return entry.model_dump()


def _entry_from(row: sa.Row[Any]) -> TimelineEntry:
    m = row._mapping
    return TimelineEntry(
        event_id=m["event_id"],
        action=m["action"],
        at=m["at"],
        actor=m["actor"],
        note=m["note"],
        detail=m["detail"],
    )
