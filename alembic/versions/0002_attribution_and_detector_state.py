"""Attribution of drift events (mix vs behaviour) and detector checkpoints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Frozen like 0001: written by hand, compared against ``monitor.store`` by a test.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD/DROP COLUMN works on SQLite (>= 3.35) too, and offline, unlike batch mode.
    op.add_column("drift_events", sa.Column("attribution", sa.JSON(), nullable=True))
    op.create_table(
        "detector_state",
        sa.Column("stream", sa.String(512), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_detector_state")),
    )


def downgrade() -> None:
    op.drop_table("detector_state")
    op.drop_column("drift_events", "attribution")
