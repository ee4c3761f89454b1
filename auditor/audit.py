"""The core of a run: collect every tenant, evaluate the rules, build the run report.

No argparse, no files, no network of its own: the CLI, the scheduler and the demo call
this and decide what to write and where.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict, Unpack

from auditor.collect.tenant import failed_snapshot, stream_fleet, utc_now
from auditor.errors import EXIT_COLLECTION_ERROR, EXIT_FINDINGS, EXIT_OK
from auditor.logs import bind_run
from auditor.results import (
    DriftEntry,
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    RunView,
    Severity,
    TenantError,
    TenantReport,
    TenantStatus,
    WaiverIssue,
)
from auditor.store.errors import StoreError
from auditor.streamed_report import StreamedReport, TenantReports, summarize

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Sequence
    from datetime import timedelta

    from sqlalchemy import Engine

    from auditor.collect.secrets import SecretHasher
    from auditor.collect.tenant import PacedCollect
    from auditor.config import TenantConfig
    from auditor.pacing import PacingConfig
    from auditor.rules import RulePack
    from auditor.snapshot import TenantSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantOutcome:
    """One tenant's snapshot and the verdicts on it."""

    snapshot: TenantSnapshot
    results: list[RuleResult]


@dataclass(frozen=True)
class AuditRun:
    """A finished run: the report, and the outcomes it was built from (for the store)."""

    report: RunReport
    outcomes: list[TenantOutcome]


def tenant_status(snapshot: TenantSnapshot, results: Sequence[RuleResult]) -> TenantStatus:
    """``error`` when data is missing, else ``fail`` when an unwaived rule fails, else ``pass``.

    A tenant is never ``pass`` while one of its rules could not be judged: a
    ``not_evaluated`` result is harmless only beside a failing rule that explains it (the
    missing app or IdP fails its own rule). Otherwise something the auditor should have
    seen was not seen, and the tenant is ``error`` (see :func:`unexplained_gaps`).
    """
    return status_of(has_errors=snapshot.has_errors, results=results)


def status_of(*, has_errors: bool, results: Sequence[RuleResult]) -> TenantStatus:
    """:func:`tenant_status` from whether anything was not collected, and the verdicts."""
    if has_errors or unexplained_gaps(results):
        return TenantStatus.ERROR
    if any(r.counts for r in results):
        return TenantStatus.FAIL
    return TenantStatus.PASS


def unexplained_gaps(results: Sequence[RuleResult]) -> list[RuleResult]:
    """``not_evaluated`` results that no failing rule of the same tenant accounts for."""
    if any(r.status is ResultStatus.FAIL for r in results):
        return []
    return [r for r in results if r.status is ResultStatus.NOT_EVALUATED]


def _gap_error(result: RuleResult) -> TenantError:
    """A not-evaluated rule as a collection error, named by the half it reads."""
    source: Literal["okta", "cognito"] = (
        "okta" if result.rule_id.startswith("okta_") else "cognito"
    )
    return TenantError(
        source=source,
        message=f"{result.rule_id} could not be evaluated: {result.message}",
    )


def tenant_report(
    snapshot: TenantSnapshot,
    results: list[RuleResult],
    drift: list[DriftEntry] | None = None,
) -> TenantReport:
    """What the run report says about one tenant (CONTRACT section 4)."""
    return TenantReport(
        tenant_id=snapshot.tenant_id,
        status=tenant_status(snapshot, results),
        results=results,
        drift=drift or [],
        errors=[
            *(TenantError(source=e.source, message=e.message) for e in snapshot.errors),
            *(_gap_error(r) for r in unexplained_gaps(results)),
        ],
    )


def build_report(
    run_id: str,
    started_at: str,
    finished_at: str,
    outcomes: Sequence[TenantOutcome],
) -> RunReport:
    """The run report (CONTRACT section 4) of these outcomes, held whole (no memory)."""
    tenants = [tenant_report(o.snapshot, o.results) for o in outcomes]
    return RunReport(
        run=RunInfo(id=run_id, started_at=started_at, finished_at=finished_at),
        summary=summarize(tenants),
        tenants=tenants,
    )


class TenantSink(Protocol):
    """Where :func:`stream_audit` hands each tenant as soon as its rules are evaluated.

    Called from one thread, one tenant at a time; the snapshot is dropped once ``add``
    returns, so what the sink keeps is all the run holds of that tenant.
    """

    def add(self, snapshot: TenantSnapshot, results: list[RuleResult]) -> None:
        """Take one finished tenant."""


class ReportBuilder:
    """A run report built tenant by tenant, kept compactly (:class:`TenantReports`).

    The sink of a run with no store; :class:`auditor.history.RunRecorder` adds memory
    (drift, lifecycle, waivers) and hands its tenants to one of these.
    """

    def __init__(self, order: Sequence[str] = ()) -> None:
        self.tenants = TenantReports(order)

    def add(self, snapshot: TenantSnapshot, results: list[RuleResult]) -> None:
        """Keep the tenant's report."""
        self.add_report(tenant_report(snapshot, results))

    def add_report(self, report: TenantReport) -> None:
        """Keep a tenant's report as it is."""
        self.tenants.add(report)

    def finish(
        self, info: RunInfo, waivers: Sequence[WaiverIssue] = ()
    ) -> StreamedReport:
        """The run report of every tenant added."""
        return StreamedReport(
            run=info, summary=summarize(self.tenants), tenants=self.tenants,
            waivers=list(waivers),
        )

@dataclass(frozen=True)
class TenantLeases:
    """Hold each tenant's lease in the store while collecting it (issue 8).

    So an on-demand ``audit`` during the nightly run (or two overlapping runs anywhere)
    never collects one tenant in two processes at once: the second waits up to ``wait``
    seconds, then reports the tenant as an error (never a pass).
    """

    engine: Engine
    holder: str
    ttl: timedelta
    wait: float
    poll: float = 1.0


_STOP_CHECK_SECONDS = 5.0  # how often a run waiting for a tenant's lease checks for SIGTERM

INTERRUPTED = (
    "interrupted: the auditor was stopped (SIGTERM or Ctrl-C) before this tenant was "
    "audited; the next run audits it"
)


class StreamOptions(TypedDict, total=False):
    """How :func:`stream_audit` (and :func:`run_audit`) runs; every key is optional."""

    pacing: PacingConfig | None  # the limiters (default: AWS's documented quotas)
    concurrency: int | None  # a cap on tenants in flight (the config's `concurrency:`)
    on_done: Callable[[TenantSnapshot], None] | None  # progress, per finished tenant
    run_id: str | None
    leases: TenantLeases | None  # hold each tenant's lease in the store while collecting
    stop: threading.Event | None  # set on SIGTERM: finish the tenants under way, stop


async def run_audit(
    tenants: Sequence[TenantConfig],
    base_domain: str,
    pack: RulePack,
    hasher: SecretHasher,
    **options: Unpack[StreamOptions],
) -> AuditRun:
    """:func:`stream_audit`, every snapshot and verdict kept: a run held whole.

    For small fleets, tests and :func:`auditor.history.remember`; the product streams.
    """
    run_id = options["run_id"] = options.get("run_id") or str(uuid.uuid4())
    outcomes: dict[str, TenantOutcome] = {}

    class _Keep:
        def add(self, snapshot: TenantSnapshot, results: list[RuleResult]) -> None:
            outcomes[snapshot.tenant_id] = TenantOutcome(snapshot, results)

    started_at = utc_now()
    await stream_audit(tenants, base_domain, pack, hasher, _Keep(), **options)
    ordered = [outcomes[t.id] for t in tenants if t.id in outcomes]
    report = build_report(run_id, started_at, utc_now(), ordered)
    return AuditRun(report=report, outcomes=ordered)


async def stream_audit(
    tenants: Sequence[TenantConfig],
    base_domain: str,
    pack: RulePack,
    hasher: SecretHasher,
    sink: TenantSink,
    **options: Unpack[StreamOptions],
) -> None:
    """Collect ``tenants``, evaluate each as it finishes and hand it to ``sink``.

    Never raises for what a tenant's services do. ``pacing`` sets the limiters (default:
    AWS's documented quotas); ``concurrency``, when given, caps the tenants in flight on
    top of them (the config's optional ``concurrency:``).

    The rules and the sink run on one worker thread of their own, tenant after tenant,
    so the event loop keeps serving the collectors' I/O while they work (a sink may read
    the store); a tenant keeps its place in flight until the sink has it, so finished
    snapshots never pile up.

    ``stop``, once set (by a SIGTERM handler), lets the tenants being collected finish
    and turns every tenant not yet started into an ``error`` "interrupted", so a stopped
    run still ends with a complete report of what it did.
    """
    run_id = options.get("run_id") or str(uuid.uuid4())
    stop, leases = options.get("stop"), options.get("leases")

    async def collect(tenant: TenantConfig, collect_one: PacedCollect) -> TenantSnapshot:
        if stop is not None and stop.is_set():
            return failed_snapshot(tenant, base_domain, INTERRUPTED)
        if leases is None:
            return await collect_one(tenant)
        return await _collect_leased(tenant, base_domain, collect_one, leases, stop)

    def evaluate_and_add(snapshot: TenantSnapshot) -> None:
        sink.add(snapshot, pack.evaluate(snapshot))

    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rules")

    async def consume(_position: int, snapshot: TenantSnapshot) -> None:
        # In the tenant's context, so the rules' and the sink's log lines name it.
        call = functools.partial(contextvars.copy_context().run, evaluate_and_add, snapshot)
        await asyncio.get_running_loop().run_in_executor(worker, call)

    try:
        with bind_run(run_id):
            await stream_fleet(
                tenants, base_domain, hasher, consume,
                pacing=paced(options.get("pacing"), options.get("concurrency")),
                on_done=options.get("on_done"), collect=collect,
            )
    finally:
        worker.shutdown(wait=True)


def paced(pacing: PacingConfig | None, concurrency: int | None) -> PacingConfig:
    """``pacing`` (or the defaults) with at most ``concurrency`` tenants in flight."""
    from auditor.pacing import PacingConfig  # noqa: PLC0415 - only the type is needed above

    config = pacing or PacingConfig()
    if concurrency is None:
        return config
    cap = min(concurrency, config.max_tenants_in_flight or concurrency)
    return config.model_copy(update={"max_tenants_in_flight": cap})


async def _collect_leased(
    tenant: TenantConfig,
    base_domain: str,
    collect_one: PacedCollect,
    leases: TenantLeases,
    stop: threading.Event | None,
) -> TenantSnapshot:
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - only with a store

    from auditor.store import lease  # noqa: PLC0415

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    # The wait is taken in short steps, so a SIGTERM never waits behind a busy tenant.
    deadline = time.monotonic() + leases.wait
    while True:
        step = min(max(0.0, deadline - time.monotonic()), _STOP_CHECK_SECONDS)
        try:
            async with lease.hold_async(
                leases.engine, lease.tenant_lease_name(tenant.id), holder=leases.holder,
                ttl=leases.ttl, wait=step, poll=leases.poll,
            ) as held:
                if stopped():  # stopped while we waited for the lease
                    return failed_snapshot(tenant, base_domain, INTERRUPTED)
                snapshot = await collect_one(tenant)
                if held is not None and held.lost.is_set():
                    log.warning("tenant %s: its lease lapsed during collection", tenant.id)
                return snapshot
        except lease.LeaseBusy as exc:
            if stopped():
                return failed_snapshot(tenant, base_domain, INTERRUPTED)
            if time.monotonic() < deadline:
                continue
            reason = (
                f"not audited: another auditor process is auditing this tenant (lease still "
                f"held by {exc.holder} after waiting {leases.wait:.0f}s); the next run audits it"
            )
            log.warning("tenant %s %s", tenant.id, reason)
            return failed_snapshot(tenant, base_domain, reason)
        except (SQLAlchemyError, StoreError) as exc:
            log.exception("tenant %s: could not take its lease in the store", tenant.id)
            return failed_snapshot(
                tenant, base_domain,
                "not audited: could not take the tenant's lease in the store "
                f"({type(exc).__name__})",
            )


def exit_code(report: RunView, fail_on: Severity) -> int:
    """3 if any tenant errored; else 1 if an unwaived failure is at or above ``fail_on``."""
    failing = False
    for tenant in report.tenants:  # one pass: a fleet's tenants are read back one by one
        if tenant.status is TenantStatus.ERROR:
            return EXIT_COLLECTION_ERROR
        failing = failing or any(r.counts and r.severity.at_least(fail_on) for r in tenant.results)
    return EXIT_FINDINGS if failing else EXIT_OK
