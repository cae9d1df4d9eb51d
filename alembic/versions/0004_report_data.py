"""What the weekly report reads besides counts and events: exemplars, DLQ and classifier tallies.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Frozen like 0001: written by hand, compared against ``monitor.store`` by a test.
``report_exemplars`` holds redacted snippets only; the worker deletes rows older than
``report.retention_days``. ``report_runs`` lets one worker claim each week's scheduled report.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_exemplars",
        sa.Column("sample_id", sa.String(256), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("surface", sa.String(256), nullable=False),
        sa.Column("locale", sa.String(64), nullable=False),
        sa.Column("policy_area", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_report_exemplars")),
    )
    op.create_index(op.f("ix_report_exemplars_ts"), "report_exemplars", ["ts"])
    op.create_table(
        "dlq_counts_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "reason", name=op.f("pk_dlq_counts_hourly")),
    )
    op.create_table(
        "classifier_counts_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("classifier", sa.String(256), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour", "model", "role", "classifier", name=op.f("pk_classifier_counts_hourly")
        ),
    )
    op.create_table(
        "report_runs",
        sa.Column("week", sa.String(16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_report_runs")),
    )


def downgrade() -> None:
    op.drop_table("report_runs")
    op.drop_table("classifier_counts_hourly")
    op.drop_table("dlq_counts_hourly")
    op.drop_index(op.f("ix_report_exemplars_ts"), table_name="report_exemplars")
    op.drop_table("report_exemplars")
