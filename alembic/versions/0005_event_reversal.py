"""Drift events remember which earlier change they go back on (a rollback).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Frozen like 0001: written by hand, compared against ``monitor.store`` by a test.
``reverses`` holds a :class:`~monitor.schema.Reversal` (an event id, the rate before that
event's change, its detection time), or NULL: events written before it are not rollbacks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("drift_events", sa.Column("reverses", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("drift_events", "reverses")
