"""The timeline of each drift event: detected, notified, acknowledged, escalated, resolved.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Frozen like 0001: written by hand, compared against ``monitor.store`` by a test. ``event_id``
has no foreign key on purpose: a webhook may report an alert for an event this database has not
stored (yet), and the weekly report still wants to see it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = ("detected", "notified", "acknowledged", "escalated", "resolved")


def upgrade() -> None:
    allowed = ", ".join(f"'{action}'" for action in ACTIONS)
    op.create_table(
        "event_timeline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(256), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_timeline")),
        sa.CheckConstraint(f"action IN ({allowed})", name=op.f("ck_event_timeline_action")),
    )
    op.create_index(op.f("ix_event_timeline_event_id"), "event_timeline", ["event_id"])
    op.create_index(op.f("ix_event_timeline_at"), "event_timeline", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_event_timeline_at"), table_name="event_timeline")
    op.drop_index(op.f("ix_event_timeline_event_id"), table_name="event_timeline")
    op.drop_table("event_timeline")
