"""The first schema: runs, tenant runs (snapshots), results, findings, baselines.

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "runs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("tenants", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errored", sa.Integer(), nullable=False),
        sa.Column("waived", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_runs"),
        sa.UniqueConstraint("id", name="uq_runs_id"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])

    op.create_table(
        "tenant_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_tenant_runs_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "tenant_id", name="pk_tenant_runs"),
    )
    op.create_index(
        "ix_tenant_runs_tenant_time", "tenant_runs", ["tenant_id", "started_at", "run_seq"]
    )

    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("lifecycle", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("actual", sa.Text(), nullable=True),
        sa.Column("waived", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id", "tenant_id"],
            ["tenant_runs.run_id", "tenant_runs.tenant_id"],
            name="fk_results_run_id_tenant_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_results"),
        sa.UniqueConstraint(
            "run_id", "tenant_id", "fingerprint", name="uq_results_run_id_tenant_id_fingerprint"
        ),
    )
    op.create_index("ix_results_tenant_fingerprint", "results", ["tenant_id", "fingerprint"])

    op.create_table(
        "findings",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "fingerprint", name="pk_findings"),
    )

    op.create_table(
        "baselines",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id", "tenant_id"],
            ["tenant_runs.run_id", "tenant_runs.tenant_id"],
            name="fk_baselines_run_id_tenant_runs",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_baselines"),
    )


def downgrade() -> None:
    """Drop everything (the store's history is lost)."""
    op.drop_table("baselines")
    op.drop_table("findings")
    op.drop_index("ix_results_tenant_fingerprint", table_name="results")
    op.drop_table("results")
    op.drop_index("ix_tenant_runs_tenant_time", table_name="tenant_runs")
    op.drop_table("tenant_runs")
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_table("runs")
