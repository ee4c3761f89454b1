"""Alert bookkeeping (issue 7): what each route was told, and the outbox of what to tell.

Two facts per route are kept: for every finding (tenant + rule) whether the route was
last told it fails or that it was resolved, and which tenants it was told could not be
audited. :meth:`AlertStore.record` reads those facts, lets the caller compute the run's
events from them, and writes the events to the outbox and the new facts back, in ONE
write transaction: a crash leaves either both or neither, and two runs recording at once
are serialized by the store's write lock. Delivery happens afterwards and only ever
marks outbox rows delivered (or notes why not).

The outbox holds what a message says, never where it goes: webhook URLs and secrets
stay in the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update

from auditor.store.engine import transaction
from auditor.store.errors import UnknownRun
from auditor.store.lifecycle import as_utc
from auditor.store.schema import AlertFindingRow, AlertOutboxRow, AlertTenantErrorRow, RunRow

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

    from auditor.store.store import Store


@dataclass(frozen=True, slots=True)
class ToldFinding:
    """What a route last heard about a finding: failing (and when it was told) or resolved."""

    failing: bool
    told_at: datetime


@dataclass(frozen=True, slots=True)
class AnnouncedState:
    """Everything one route has been told (or has queued in the outbox, which will tell it)."""

    findings: Mapping[tuple[str, str], ToldFinding] = field(default_factory=dict)
    errored: Mapping[str, datetime] = field(default_factory=dict)  # tenant -> told at


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One event for one route, as the outbox keeps it."""

    id: str
    route: str
    run_id: str
    kind: str
    tenant_id: str
    rule_id: str | None
    severity: str | None
    title: str
    message: str
    remediation: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Announcement:
    """A route's events from one run, and the facts they make true."""

    events: Sequence[AlertRecord] = ()
    findings: Mapping[tuple[str, str], ToldFinding] = field(default_factory=dict)
    errors_told: Mapping[str, datetime] = field(default_factory=dict)
    errors_cleared: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An undelivered event, with its delivery history."""

    record: AlertRecord
    recorded_at: datetime
    attempts: int
    last_error: str | None


class AlertStore:
    """The alert tables of one store."""

    def __init__(self, store: Store) -> None:
        self._engine = store.engine

    def record(
        self,
        run_id: str,
        routes: Iterable[str],
        compute: Callable[[str, AnnouncedState], Announcement],
        *,
        now: datetime,
    ) -> list[AlertRecord]:
        """For each route, compute the run's events from its state and record them.

        One write transaction for all routes. The run must already be saved (events are
        recorded after the run, so an outbox entry never points at a run that is not
        there); raises :class:`UnknownRun` otherwise. An event whose id is already in the
        outbox (the same run recorded twice) is not added again.
        """
        now = as_utc(now)
        recorded: list[AlertRecord] = []
        with transaction(self._engine, write=True) as session:
            if session.scalar(select(RunRow.seq).where(RunRow.id == run_id)) is None:
                raise UnknownRun(run_id)
            for route in routes:
                state = _state(session, route)
                result = compute(route, state)
                ids = [event.id for event in result.events]
                known = (
                    set(
                        session.scalars(select(AlertOutboxRow.id).where(AlertOutboxRow.id.in_(ids)))
                    )
                    if ids
                    else set()
                )
                for event in result.events:
                    if event.id in known:
                        continue
                    known.add(event.id)
                    session.add(_outbox_row(event, now))
                    recorded.append(event)
                for (tenant, rule), told in result.findings.items():
                    row = session.get(AlertFindingRow, (route, tenant, rule))
                    if row is None:
                        row = AlertFindingRow(route=route, tenant_id=tenant, rule_id=rule)
                        session.add(row)
                    row.failing = told.failing
                    row.told_at = told.told_at
                for tenant, told_at in result.errors_told.items():
                    error_row = session.get(AlertTenantErrorRow, (route, tenant))
                    if error_row is None:
                        session.add(
                            AlertTenantErrorRow(route=route, tenant_id=tenant, told_at=told_at)
                        )
                if result.errors_cleared:
                    session.execute(
                        delete(AlertTenantErrorRow).where(
                            AlertTenantErrorRow.route == route,
                            AlertTenantErrorRow.tenant_id.in_(sorted(result.errors_cleared)),
                        )
                    )
                session.flush()
        return recorded

    def state(self, route: str) -> AnnouncedState:
        """What the route has been told so far."""
        with transaction(self._engine, write=False) as session:
            return _state(session, route)

    def pending(self, route: str | None = None) -> list[OutboxEntry]:
        """Undelivered events (of one route, when given), oldest first."""
        with transaction(self._engine, write=False) as session:
            stmt = select(AlertOutboxRow).where(AlertOutboxRow.delivered_at.is_(None))
            if route is not None:
                stmt = stmt.where(AlertOutboxRow.route == route)
            rows = session.scalars(stmt.order_by(AlertOutboxRow.seq))
            return [_entry(row) for row in rows]

    def delivered_count(self, route: str | None = None) -> int:
        """How many events were delivered (of one route, when given)."""
        return self._count(AlertOutboxRow.delivered_at.is_not(None), route)

    def pending_count(self, route: str | None = None) -> int:
        """How many events wait in the outbox (of one route, when given), without loading them."""
        return self._count(AlertOutboxRow.delivered_at.is_(None), route)

    def _count(self, state: ColumnElement[bool], route: str | None) -> int:
        with transaction(self._engine, write=False) as session:
            stmt = select(func.count()).select_from(AlertOutboxRow).where(state)
            if route is not None:
                stmt = stmt.where(AlertOutboxRow.route == route)
            return int(session.scalar(stmt) or 0)

    def mark_delivered(self, ids: Sequence[str], *, at: datetime) -> None:
        """These events reached their route: they leave the outbox."""
        if not ids:
            return
        at = as_utc(at)
        with transaction(self._engine, write=True) as session:
            session.execute(
                update(AlertOutboxRow)
                .where(AlertOutboxRow.id.in_(list(ids)), AlertOutboxRow.delivered_at.is_(None))
                .values(
                    delivered_at=at,
                    attempts=AlertOutboxRow.attempts + 1,
                    last_error=None,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def claim(
        self, route: str, *, owner: str, until: datetime, now: datetime
    ) -> list[OutboxEntry] | None:
        """Claim the route's undelivered events for delivery by ``owner`` until ``until``.

        None when another owner's claim on the route is still live (it is delivering them;
        sending too would post them twice, or out of order). Otherwise every pending event
        of the route, oldest first, now claimed. Delivered or failed events lose their
        claim (:meth:`mark_delivered`, :meth:`mark_failed`), the rest with :meth:`release`.
        """
        now, until = as_utc(now), as_utc(until)
        with transaction(self._engine, write=True) as session:
            rows = list(
                session.scalars(
                    select(AlertOutboxRow)
                    .where(AlertOutboxRow.route == route, AlertOutboxRow.delivered_at.is_(None))
                    .order_by(AlertOutboxRow.seq)
                )
            )
            if any(
                row.claimed_by not in {None, owner}
                and row.claimed_until is not None
                and row.claimed_until > now
                for row in rows
            ):
                return None
            for row in rows:
                row.claimed_by = owner
                row.claimed_until = until
            session.flush()
            return [_entry(row) for row in rows]

    def release(self, route: str, *, owner: str) -> None:
        """Give up ``owner``'s remaining claims on the route (delivery is over)."""
        with transaction(self._engine, write=True) as session:
            session.execute(
                update(AlertOutboxRow)
                .where(AlertOutboxRow.route == route, AlertOutboxRow.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None)
            )

    def prune_delivered(self, older_than_days: int, *, now: datetime) -> int:
        """Forget delivered events recorded more than ``older_than_days`` ago; how many.

        Undelivered events are kept whatever their age: they have not been told yet.
        """
        if older_than_days < 0:
            raise ValueError(f"older_than_days must be 0 or more, not {older_than_days}")
        cutoff = as_utc(now) - timedelta(days=older_than_days)
        with transaction(self._engine, write=True) as session:
            doomed = session.execute(
                delete(AlertOutboxRow).where(
                    AlertOutboxRow.delivered_at.is_not(None),
                    AlertOutboxRow.recorded_at < cutoff,
                )
            )
            return int(getattr(doomed, "rowcount", 0) or 0)

    def mark_failed(self, ids: Sequence[str], *, error: str) -> None:
        """These events could not be delivered this time; they stay in the outbox."""
        if not ids:
            return
        with transaction(self._engine, write=True) as session:
            session.execute(
                update(AlertOutboxRow)
                .where(AlertOutboxRow.id.in_(list(ids)), AlertOutboxRow.delivered_at.is_(None))
                .values(
                    attempts=AlertOutboxRow.attempts + 1,
                    last_error=error[:500],
                    claimed_by=None,
                    claimed_until=None,
                )
            )


def _state(session: Session, route: str) -> AnnouncedState:
    findings = {
        (row.tenant_id, row.rule_id): ToldFinding(failing=row.failing, told_at=row.told_at)
        for row in session.scalars(select(AlertFindingRow).where(AlertFindingRow.route == route))
    }
    errored = {
        row.tenant_id: row.told_at
        for row in session.scalars(
            select(AlertTenantErrorRow).where(AlertTenantErrorRow.route == route)
        )
    }
    return AnnouncedState(findings=findings, errored=errored)


def _outbox_row(event: AlertRecord, now: datetime) -> AlertOutboxRow:
    return AlertOutboxRow(
        id=event.id,
        route=event.route,
        run_id=event.run_id,
        kind=event.kind,
        tenant_id=event.tenant_id,
        rule_id=event.rule_id,
        severity=event.severity,
        title=event.title,
        message=event.message,
        remediation=event.remediation,
        occurred_at=event.occurred_at,
        recorded_at=now,
        delivered_at=None,
        attempts=0,
        last_error=None,
        claimed_by=None,
        claimed_until=None,
    )


def _entry(row: AlertOutboxRow) -> OutboxEntry:
    return OutboxEntry(
        record=_record(row),
        recorded_at=row.recorded_at,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def _record(row: AlertOutboxRow) -> AlertRecord:
    return AlertRecord(
        id=row.id,
        route=row.route,
        run_id=row.run_id,
        kind=row.kind,
        tenant_id=row.tenant_id,
        rule_id=row.rule_id,
        severity=row.severity,
        title=row.title,
        message=row.message,
        remediation=row.remediation,
        occurred_at=row.occurred_at,
    )
