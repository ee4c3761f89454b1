"""The alert outbox and what each route was last told (issue 7).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the announced-state tables and the outbox."""
    op.create_table(
        "alert_findings",
        sa.Column("route", sa.String(length=63), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("route", "tenant_id", "rule_id", name="pk_alert_findings"),
    )
    op.create_table(
        "alert_tenant_errors",
        sa.Column("route", sa.String(length=63), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("route", "tenant_id", name="pk_alert_tenant_errors"),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=63), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("remediation", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_alert_outbox"),
        sa.UniqueConstraint("id", name="uq_alert_outbox_id"),
    )
    op.create_index(
        "ix_alert_outbox_route_pending", "alert_outbox", ["route", "delivered_at", "seq"]
    )


def downgrade() -> None:
    """Drop the alert tables (undelivered alerts are lost)."""
    op.drop_index("ix_alert_outbox_route_pending", table_name="alert_outbox")
    op.drop_table("alert_outbox")
    op.drop_table("alert_tenant_errors")
    op.drop_table("alert_findings")
