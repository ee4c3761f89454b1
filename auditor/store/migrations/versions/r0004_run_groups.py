"""Run groups: which run is each shard's result in a sharded fleet audit (issue 9).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the run_group_shards table."""
    op.create_table(
        "run_group_shards",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("shard_index", sa.Integer(), nullable=False),
        sa.Column("shard_count", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_group_shards_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "shard_index", name="pk_run_group_shards"),
    )
    op.create_index("ix_run_group_shards_run_id", "run_group_shards", ["run_id"])


def downgrade() -> None:
    """Drop the run groups (the shards' runs stay in the history)."""
    op.drop_index("ix_run_group_shards_run_id", table_name="run_group_shards")
    op.drop_table("run_group_shards")
