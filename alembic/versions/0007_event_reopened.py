"""Drift events remember when a regrade reopened them after an acknowledgement.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Frozen like 0001: written by hand, compared against ``monitor.store`` by a test.
``reopened_ts`` is when a regrade raised an acknowledged event past the severity its
acknowledgement covered, so it is open again and its escalation clock runs from then; NULL for
events never reopened (all events written before it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "drift_events", sa.Column("reopened_ts", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("drift_events", "reopened_ts")
