"""Timeline entries may say an open event was regraded (its severity raised by more evidence).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Frozen like 0001: written by hand, compared against ``monitor.store`` by a test. Only the
CHECK constraint on ``event_timeline.action`` changes. SQLite cannot alter a constraint, so
batch mode rebuilds the table there (from the definition below, which also works offline);
PostgreSQL drops and adds the constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("detected", "notified", "acknowledged", "escalated", "resolved")
NEW = (*OLD, "regraded")
CHECK = "ck_event_timeline_action"


def _allowed(actions: Sequence[str]) -> str:
    return "action IN ({})".format(", ".join(f"'{a}'" for a in actions))


def _table(actions: Sequence[str]) -> sa.Table:
    """``event_timeline`` as it stands with ``actions`` allowed (what batch mode copies)."""
    table = sa.Table(
        "event_timeline",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(256), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_timeline")),
        sa.CheckConstraint(_allowed(actions), name=op.f(CHECK)),
    )
    sa.Index(op.f("ix_event_timeline_event_id"), table.c.event_id)
    sa.Index(op.f("ix_event_timeline_at"), table.c.at)
    return table


def _allow(old: Sequence[str], new: Sequence[str]) -> None:
    with op.batch_alter_table("event_timeline", copy_from=_table(old)) as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), _allowed(new))


def upgrade() -> None:
    _allow(OLD, NEW)


def downgrade() -> None:
    op.execute("DELETE FROM event_timeline WHERE action = 'regraded'")
    _allow(NEW, OLD)
