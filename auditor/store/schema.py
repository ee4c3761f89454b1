"""The store's tables, as typed SQLAlchemy models (the migrations create them).

Changing a model means writing a migration in ``migrations/versions/``; a test compares
the migrated database with these models, so the two cannot silently drift apart.

Times are ``UTCDateTime``: aware UTC in Python, ``timestamp with time zone`` on
PostgreSQL, and a fixed-width UTC string on SQLite (so they also sort as text).
JSON (snapshots, expected/actual) is kept as text exactly as ``json.dumps`` wrote it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names: Alembic needs them to alter or drop a constraint later
# (and SQLite's batch mode needs them to rebuild a table).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT_ID = 63  # a DNS label
RUN_ID = 64
FINGERPRINT = 64
RULE_ID = 128
STATUS = 16
LEASE_NAME = 200
LEASE_HOLDER = 200


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC; a naive datetime is refused, never guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """To UTC; SQLite's DATETIME has no zone, so it gets the naive UTC time."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no timezone; the store keeps aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ANN401, ARG002 - whatever the driver returns; the signature is SQLAlchemy's
        """Back to an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The store's declarative base."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy's own API


class RunRow(Base):
    """One audit run: when, why, and how it came out."""

    __tablename__ = "runs"

    # Insertion order: breaks ties between runs that started in the same second.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(RUN_ID), unique=True)
    trigger: Mapped[str] = mapped_column(String(STATUS))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(STATUS))
    tenants: Mapped[int]
    passed: Mapped[int]
    failed: Mapped[int]
    errored: Mapped[int]
    waived: Mapped[int]


class TenantRunRow(Base):
    """One tenant in one run: its status and its redacted snapshot."""

    __tablename__ = "tenant_runs"
    __table_args__ = (Index("ix_tenant_runs_tenant_time", "tenant_id", "started_at", "run_seq"),)

    run_id: Mapped[str] = mapped_column(
        String(RUN_ID), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID), primary_key=True)
    # Copied from the run, so "the tenant's latest run" is one index range scan.
    started_at: Mapped[datetime]
    run_seq: Mapped[int]
    status: Mapped[str] = mapped_column(String(STATUS))
    snapshot: Mapped[str] = mapped_column(Text)


class ResultRow(Base):
    """One rule's verdict on one tenant in one run."""

    __tablename__ = "results"
    __table_args__ = (
        ForeignKeyConstraint(
            ["run_id", "tenant_id"],
            ["tenant_runs.run_id", "tenant_runs.tenant_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("run_id", "tenant_id", "fingerprint"),
        Index("ix_results_tenant_fingerprint", "tenant_id", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(RUN_ID))
    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID))
    fingerprint: Mapped[str] = mapped_column(String(FINGERPRINT))
    rule_id: Mapped[str] = mapped_column(String(RULE_ID))
    subject: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(STATUS))
    severity: Mapped[str] = mapped_column(String(STATUS))
    lifecycle: Mapped[str | None] = mapped_column(String(STATUS))
    message: Mapped[str | None] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)  # JSON text; NULL for JSON null
    actual: Mapped[str | None] = mapped_column(Text)
    waived: Mapped[bool] = mapped_column(Boolean)


class FindingRow(Base):
    """A finding's lifecycle state: open or resolved, first and last seen failing."""

    __tablename__ = "findings"

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(FINGERPRINT), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(RULE_ID))
    subject: Mapped[str | None] = mapped_column(Text)
    is_open: Mapped[bool] = mapped_column(Boolean)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class BaselineRow(Base):
    """A tenant's approved snapshot: which run, who approved it, when and why."""

    __tablename__ = "baselines"
    __table_args__ = (
        # No cascade: pruning never deletes a baseline's run (and the database says so).
        ForeignKeyConstraint(
            ["run_id", "tenant_id"], ["tenant_runs.run_id", "tenant_runs.tenant_id"]
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(RUN_ID))
    accepted_at: Mapped[datetime]
    accepted_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


# ------------------------------------------------------------------ alerts (issue 7)
ROUTE = 63


class AlertFindingRow(Base):
    """What one alert route was last told about one finding (tenant + rule)."""

    __tablename__ = "alert_findings"

    route: Mapped[str] = mapped_column(String(ROUTE), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(RULE_ID), primary_key=True)
    # True after new/regressed/reminder, False after resolved.
    failing: Mapped[bool] = mapped_column(Boolean)
    # When the route was last told (the run's start): reminders count from here.
    told_at: Mapped[datetime]


class AlertTenantErrorRow(Base):
    """A tenant the route was told could not be audited, and not yet that it recovered."""

    __tablename__ = "alert_tenant_errors"

    route: Mapped[str] = mapped_column(String(ROUTE), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID), primary_key=True)
    told_at: Mapped[datetime]


class AlertOutboxRow(Base):
    """One event for one route: recorded with the run, delivered afterwards (or later).

    Holds what the message says, never where it goes: destinations and secrets stay in
    the config.
    """

    __tablename__ = "alert_outbox"
    __table_args__ = (Index("ix_alert_outbox_route_pending", "route", "delivered_at", "seq"),)

    # Recording order: a route's events are delivered in it.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    route: Mapped[str] = mapped_column(String(ROUTE))
    run_id: Mapped[str] = mapped_column(String(RUN_ID))
    kind: Mapped[str] = mapped_column(String(STATUS))
    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID))
    rule_id: Mapped[str | None] = mapped_column(String(RULE_ID))
    severity: Mapped[str | None] = mapped_column(String(STATUS))
    title: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    remediation: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer)
    # Why the last attempt failed, in words that never include the destination.
    last_error: Mapped[str | None] = mapped_column(Text)
    # A delivering process's claim: another process (a flush during a run) leaves the
    # route alone until it expires, so two senders never post the same event.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]


# ------------------------------------------------------------------ leases (issue 8)
class LeaseRow(Base):
    """A named lease (issue 8): who holds it, until when, and whether its work is done.

    ``slot:<job>:<time>`` leases make one replica run each scheduled slot and stay behind,
    done, so a replica that fires later skips the slot; ``tenant:<id>`` leases keep two
    processes from auditing one tenant at once and are deleted on release.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(LEASE_NAME), primary_key=True)
    holder: Mapped[str] = mapped_column(String(LEASE_HOLDER))
    acquired_at: Mapped[datetime]
    # The holder renews it while it works; past it, anyone may take the lease over.
    expires_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


# --------------------------------------------------------------- run groups (issue 9)
RUN_GROUP = 64


class RunGroupShardRow(Base):
    """One shard's latest run in a run group (``audit --shard I/N --run-group ID``).

    A shard run again replaces its row; the run it pointed at stays in the history. The
    shard's final report (drift, lifecycle and waivers applied, as its own ``audit``
    wrote it) is kept zlib-compressed, one tenant a line (see
    :mod:`auditor.store.run_groups`), so ``auditor report --run-group`` can write the
    whole run's reports exactly as the shards judged them, one tenant at a time.
    """

    __tablename__ = "run_group_shards"

    group_id: Mapped[str] = mapped_column(String(RUN_GROUP), primary_key=True)
    shard_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    shard_count: Mapped[int] = mapped_column(Integer)
    # Pruning the run drops its shard from the group (the group is then incomplete).
    run_id: Mapped[str] = mapped_column(
        String(RUN_ID), ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    recorded_at: Mapped[datetime]
    report: Mapped[bytes] = mapped_column(LargeBinary)
