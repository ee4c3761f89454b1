"""The run history: runs, snapshots, results, findings and baselines in one database.

Every write is one transaction (see :mod:`auditor.store.engine`): a run that dies while
being saved leaves nothing of itself behind, and the next run saves as usual. Snapshots
are stored as the JSON text of the dict given, which is the redacted
``TenantSnapshot.to_jsonable()``: the store adds nothing to it and never sees secrets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import Engine, and_, delete, func, or_, select

from auditor.results import (
    Lifecycle,
    ResultStatus,
    RuleResult,
    RunView,
    Severity,
    Summary,
    TenantReport,
    TenantStatus,
)
from auditor.store import engine as store_engine
from auditor.store.engine import transaction
from auditor.store.errors import NoRunRecorded, RunAlreadyStored, UnknownRun
from auditor.store.fingerprint import fingerprint
from auditor.store.lifecycle import FindingState, as_utc, lifecycle_of, next_state
from auditor.store.migrate import upgrade_to_head
from auditor.store.schema import BaselineRow, FindingRow, ResultRow, RunRow, TenantRunRow

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A recorded run: newest first in :meth:`Store.runs`."""

    id: str
    trigger: str
    started_at: datetime
    finished_at: datetime
    outcome: TenantStatus
    tenants: dict[str, TenantStatus] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredResult:
    """One stored verdict (``expected``/``actual`` decoded from their JSON)."""

    run_id: str
    tenant_id: str
    fingerprint: str
    rule_id: str
    subject: str | None
    status: ResultStatus
    severity: Severity
    lifecycle: Lifecycle | None
    message: str | None
    expected: Any
    actual: Any
    waived: bool


@dataclass(frozen=True, slots=True)
class Baseline:
    """A tenant's approved snapshot: the run it came from, who approved it, when, why."""

    tenant_id: str
    run_id: str
    snapshot: dict[str, Any]
    accepted_at: datetime
    accepted_by: str
    reason: str | None


def open_store(url: str) -> Store:
    """The store at ``url``, its schema migrated to the current head first.

    An SQLite file (and its folder) is created when missing; a fresh PostgreSQL database
    is fine. Opening an up-to-date store changes nothing. ``postgresql://`` URLs use
    psycopg 3.
    """
    engine = store_engine.make_engine(url)
    try:
        upgrade_to_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


class Store:
    """The run history at one database. Use :func:`open_store` to get one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tools and tests; the methods below are the API)."""
        return self._engine

    def close(self) -> None:
        """Close the store's connections."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------------- reads

    def latest_snapshot(
        self, tenant_id: str, *, before_run: str | None = None
    ) -> dict[str, Any] | None:
        """The snapshot of the tenant's most recent run (strictly before ``before_run``).

        None when there is no such run. Raises :class:`UnknownRun` for an unknown
        ``before_run``.
        """
        with transaction(self._engine, write=False) as session:
            before = None if before_run is None else _run_position(session, before_run)
            row = _latest_tenant_run(session, tenant_id, before=before)
            return None if row is None else _loads(row.snapshot)

    def snapshot(self, tenant_id: str, run_id: str) -> dict[str, Any] | None:
        """The tenant's snapshot in that run; None when the run did not audit the tenant."""
        with transaction(self._engine, write=False) as session:
            text = session.scalar(
                select(TenantRunRow.snapshot).where(
                    TenantRunRow.run_id == run_id, TenantRunRow.tenant_id == tenant_id
                )
            )
            return None if text is None else _loads(text)

    def baseline(self, tenant_id: str) -> Baseline | None:
        """The tenant's approved baseline, if one was accepted."""
        with transaction(self._engine, write=False) as session:
            return _baseline(session, tenant_id)

    def finding_states(self, tenant_id: str) -> dict[str, FindingState]:
        """Every finding of the tenant ever recorded, open or resolved, by fingerprint."""
        with transaction(self._engine, write=False) as session:
            rows = session.scalars(select(FindingRow).where(FindingRow.tenant_id == tenant_id))
            return {row.fingerprint: _state(row) for row in rows}

    def runs(self, tenant_id: str | None = None, limit: int = 20) -> list[StoredRun]:
        """The most recent runs (of the tenant, when given), newest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        with transaction(self._engine, write=False) as session:
            stmt = select(RunRow)
            if tenant_id is not None:
                stmt = stmt.join(TenantRunRow, TenantRunRow.run_id == RunRow.id).where(
                    TenantRunRow.tenant_id == tenant_id
                )
            stmt = stmt.order_by(RunRow.started_at.desc(), RunRow.seq.desc()).limit(limit)
            runs = list(session.scalars(stmt))
            statuses: dict[str, dict[str, TenantStatus]] = {run.id: {} for run in runs}
            if runs:
                pairs = session.execute(
                    select(TenantRunRow.run_id, TenantRunRow.tenant_id, TenantRunRow.status)
                    .where(TenantRunRow.run_id.in_(list(statuses)))
                    .order_by(TenantRunRow.tenant_id)
                )
                for run_id, tenant, status in pairs:
                    statuses[run_id][tenant] = TenantStatus(status)
            return [
                StoredRun(
                    id=run.id,
                    trigger=run.trigger,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    outcome=TenantStatus(run.outcome),
                    tenants=statuses[run.id],
                )
                for run in runs
            ]

    def results(self, tenant_id: str, run_id: str) -> list[StoredResult]:
        """The tenant's stored verdicts in that run, in the order they were saved."""
        with transaction(self._engine, write=False) as session:
            rows = session.scalars(
                select(ResultRow)
                .where(ResultRow.run_id == run_id, ResultRow.tenant_id == tenant_id)
                .order_by(ResultRow.id)
            )
            return [_stored_result(row) for row in rows]

    # ------------------------------------------------------------------------ writes

    def save_run(self, report: RunView, snapshots: Mapping[str, Mapping[str, Any]]) -> None:
        """Record a finished run in one transaction, and move its findings forward.

        ``snapshots`` maps each of the report's tenants (exactly those) to its redacted
        snapshot JSON; each is read and serialized when its tenant is written, so a lazy
        mapping (:class:`auditor.history.RunRecorder`'s spool) keeps one in memory at once.
        A FAIL opens or keeps a finding (last seen: the run's start), a
        PASS resolves an open one, ``error`` and ``not_evaluated`` leave it as it was.
        """
        tenants = [t.tenant_id for t in report.tenants]
        if len(set(tenants)) != len(tenants):
            raise ValueError(f"run {report.run.id}: a tenant appears twice in the report")
        if set(tenants) != set(snapshots):
            missing = sorted(set(tenants) - set(snapshots))
            extra = sorted(set(snapshots) - set(tenants))
            raise ValueError(
                f"run {report.run.id}: snapshots must match the report's tenants "
                f"(missing: {missing or 'none'}, not in the report: {extra or 'none'})"
            )
        started_at = parse_time(report.run.started_at)
        finished_at = parse_time(report.run.finished_at)

        with transaction(self._engine, write=True) as session:
            if session.scalar(select(RunRow.seq).where(RunRow.id == report.run.id)) is not None:
                raise RunAlreadyStored(report.run.id)
            run = RunRow(
                id=report.run.id,
                trigger=report.run.trigger,
                started_at=started_at,
                finished_at=finished_at,
                recorded_at=datetime.now(UTC),
                outcome=_outcome(report.summary),
                tenants=report.summary.tenants,
                passed=report.summary.passed,
                failed=report.summary.failed,
                errored=report.summary.errored,
                waived=report.summary.waived,
            )
            session.add(run)
            session.flush()  # assigns run.seq
            for tenant in report.tenants:
                session.add(
                    TenantRunRow(
                        run_id=run.id,
                        tenant_id=tenant.tenant_id,
                        started_at=started_at,
                        run_seq=run.seq,
                        status=tenant.status.value,
                        # Serialized here, one tenant at a time: a fleet's snapshots are
                        # never all in memory. A bad value rolls the whole run back.
                        snapshot=_dumps(snapshots[tenant.tenant_id]),
                    )
                )
                session.flush()  # the tenant run exists before its results point at it
                _save_results(session, run.id, tenant, seen_at=started_at)
                # Written rows need not stay in the session: let them go, tenant by tenant.
                session.flush()
                session.expunge_all()

    def accept_baseline(
        self, tenant_id: str, *, accepted_by: str, reason: str | None, now: datetime
    ) -> Baseline:
        """Approve the tenant's most recent stored snapshot as its baseline.

        Replaces any earlier baseline. Raises :class:`NoRunRecorded` when the tenant was
        never audited (or all its runs were pruned, which prune never does).
        """
        now = as_utc(now)
        with transaction(self._engine, write=True) as session:
            latest = _latest_tenant_run(session, tenant_id, before=None)
            if latest is None:
                raise NoRunRecorded(tenant_id)
            row = session.get(BaselineRow, tenant_id)
            if row is None:
                row = BaselineRow(tenant_id=tenant_id)
                session.add(row)
            row.run_id = latest.run_id
            row.accepted_at = now
            row.accepted_by = accepted_by
            row.reason = reason
            session.flush()
            return Baseline(
                tenant_id=tenant_id,
                run_id=latest.run_id,
                snapshot=_loads(latest.snapshot),
                accepted_at=now,
                accepted_by=accepted_by,
                reason=reason,
            )

    def prune(self, older_than_days: int, *, now: datetime) -> int:
        """Delete runs that started more than ``older_than_days`` days before ``now``.

        A run's snapshots and results go with it. Kept whatever their age: a run a
        baseline points at, and each tenant's most recent run (drift needs them).
        Returns how many runs were deleted.
        """
        if older_than_days < 0:
            raise ValueError(f"older_than_days must be 0 or more, not {older_than_days}")
        cutoff = as_utc(now) - timedelta(days=older_than_days)
        with transaction(self._engine, write=True) as session:
            ranked = select(
                TenantRunRow.run_id,
                func.row_number()
                .over(
                    partition_by=TenantRunRow.tenant_id,
                    order_by=(TenantRunRow.started_at.desc(), TenantRunRow.run_seq.desc()),
                )
                .label("rank"),
            ).subquery()
            latest = select(ranked.c.run_id).where(ranked.c.rank == 1)
            baselines = select(BaselineRow.run_id)
            doomed = list(
                session.scalars(
                    select(RunRow.id).where(
                        RunRow.started_at < cutoff,
                        RunRow.id.not_in(latest),
                        RunRow.id.not_in(baselines),
                    )
                )
            )
            for chunk in _chunks(doomed, 500):
                # Tenant runs and results follow through ON DELETE CASCADE.
                session.execute(delete(RunRow).where(RunRow.id.in_(chunk)))
            return len(doomed)


# ----------------------------------------------------------------------------- helpers


def parse_time(value: str) -> datetime:
    """An RFC 3339 time from a report, as aware UTC; a time without zone is refused."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no timezone; reports carry UTC times (...Z)")
    return moment.astimezone(UTC)


def subject_of(result: RuleResult) -> str | None:
    """The object a result is about, when the result model carries one (else None)."""
    subject = getattr(result, "subject", None)
    return subject if isinstance(subject, str) else None


def _save_results(
    session: Session, run_id: str, tenant: TenantReport, *, seen_at: datetime
) -> None:
    rows = {
        row.fingerprint: row
        for row in session.scalars(
            select(FindingRow).where(FindingRow.tenant_id == tenant.tenant_id)
        )
    }
    for result in tenant.results:
        subject = subject_of(result)
        fp = result.fingerprint or fingerprint(tenant.tenant_id, result.rule_id, subject)
        row = rows.get(fp)
        prior = None if row is None else _state(row)
        view = lifecycle_of(result.status, prior, seen_at=seen_at)
        after = next_state(
            prior,
            result.status,
            fingerprint=fp,
            rule_id=result.rule_id,
            subject=subject,
            seen_at=seen_at,
        )
        dumped = result.model_dump(mode="json")
        session.add(
            ResultRow(
                run_id=run_id,
                tenant_id=tenant.tenant_id,
                fingerprint=fp,
                rule_id=result.rule_id,
                subject=subject,
                status=result.status.value,
                severity=result.severity.value,
                lifecycle=view.lifecycle,
                message=result.message,
                expected=None if dumped["expected"] is None else _dumps(dumped["expected"]),
                actual=None if dumped["actual"] is None else _dumps(dumped["actual"]),
                waived=result.waiver is not None,
            )
        )
        if after is None or after == prior:
            continue
        if row is None:
            row = FindingRow(tenant_id=tenant.tenant_id, fingerprint=fp)
            session.add(row)
            rows[fp] = row
        row.rule_id = after.rule_id
        row.subject = after.subject
        row.is_open = after.open
        row.first_seen = after.first_seen
        row.last_seen = after.last_seen
        row.resolved_at = after.resolved_at


def _run_position(session: Session, run_id: str) -> tuple[datetime, int]:
    found = session.execute(
        select(RunRow.started_at, RunRow.seq).where(RunRow.id == run_id)
    ).one_or_none()
    if found is None:
        raise UnknownRun(run_id)
    return found[0], found[1]


def _latest_tenant_run(
    session: Session, tenant_id: str, *, before: tuple[datetime, int] | None
) -> TenantRunRow | None:
    stmt = select(TenantRunRow).where(TenantRunRow.tenant_id == tenant_id)
    if before is not None:
        at, seq = before
        stmt = stmt.where(
            or_(
                TenantRunRow.started_at < at,
                and_(TenantRunRow.started_at == at, TenantRunRow.run_seq < seq),
            )
        )
    stmt = stmt.order_by(TenantRunRow.started_at.desc(), TenantRunRow.run_seq.desc()).limit(1)
    return session.scalar(stmt)


def _baseline(session: Session, tenant_id: str) -> Baseline | None:
    found = session.execute(
        select(BaselineRow, TenantRunRow.snapshot)
        .join(
            TenantRunRow,
            and_(
                TenantRunRow.run_id == BaselineRow.run_id,
                TenantRunRow.tenant_id == BaselineRow.tenant_id,
            ),
        )
        .where(BaselineRow.tenant_id == tenant_id)
    ).one_or_none()
    if found is None:
        return None
    row, text = found
    return Baseline(
        tenant_id=row.tenant_id,
        run_id=row.run_id,
        snapshot=_loads(text),
        accepted_at=row.accepted_at,
        accepted_by=row.accepted_by,
        reason=row.reason,
    )


def _state(row: FindingRow) -> FindingState:
    return FindingState(
        fingerprint=row.fingerprint,
        rule_id=row.rule_id,
        subject=row.subject,
        open=row.is_open,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
    )


_LIFECYCLES: dict[str | None, Lifecycle | None] = {
    None: None,
    "new": "new",
    "persisting": "persisting",
    "resolved": "resolved",
    "regressed": "regressed",
}


def _stored_result(row: ResultRow) -> StoredResult:
    return StoredResult(
        run_id=row.run_id,
        tenant_id=row.tenant_id,
        fingerprint=row.fingerprint,
        rule_id=row.rule_id,
        subject=row.subject,
        status=ResultStatus(row.status),
        severity=Severity(row.severity),
        lifecycle=_LIFECYCLES[row.lifecycle],
        message=row.message,
        expected=None if row.expected is None else json.loads(row.expected),
        actual=None if row.actual is None else json.loads(row.actual),
        waived=row.waived,
    )


def _outcome(summary: Summary) -> str:
    """The run's worst tenant verdict, read from its counts (not by reading every tenant)."""
    if summary.errored:
        return TenantStatus.ERROR.value
    if summary.failed:
        return TenantStatus.FAIL.value
    return TenantStatus.PASS.value


def _dumps(value: Any) -> str:  # noqa: ANN401 - any JSON value
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError("a stored snapshot is not a JSON object")
    return value


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
