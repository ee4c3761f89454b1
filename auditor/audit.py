"""The core of a run: collect every tenant, evaluate the rules, build the run report.

No argparse, no files, no network of its own: the CLI, the scheduler and the demo call
this and decide what to write and where.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from auditor.collect.tenant import collect_fleet, utc_now
from auditor.errors import EXIT_COLLECTION_ERROR, EXIT_FINDINGS, EXIT_OK
from auditor.results import (
    DriftEntry,
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantError,
    TenantReport,
    TenantStatus,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from auditor.collect.secrets import SecretHasher
    from auditor.config import TenantConfig
    from auditor.pacing import PacingConfig
    from auditor.rules import RulePack
    from auditor.snapshot import TenantSnapshot



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
    if snapshot.has_errors or unexplained_gaps(results):
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


def build_report(
    run_id: str,
    started_at: str,
    finished_at: str,
    outcomes: Sequence[TenantOutcome],
    drift: dict[str, list[DriftEntry]] | None = None,
) -> RunReport:
    """The run report (CONTRACT section 4) of these outcomes."""
    tenants = [
        TenantReport(
            tenant_id=o.snapshot.tenant_id,
            status=tenant_status(o.snapshot, o.results),
            results=o.results,
            drift=(drift or {}).get(o.snapshot.tenant_id, []),
            errors=[
                *(TenantError(source=e.source, message=e.message) for e in o.snapshot.errors),
                *(_gap_error(r) for r in unexplained_gaps(o.results)),
            ],
        )
        for o in outcomes
    ]
    return RunReport(
        run=RunInfo(id=run_id, started_at=started_at, finished_at=finished_at),
        summary=Summary(
            tenants=len(tenants),
            passed=sum(t.status is TenantStatus.PASS for t in tenants),
            failed=sum(t.status is TenantStatus.FAIL for t in tenants),
            errored=sum(t.status is TenantStatus.ERROR for t in tenants),
            waived=sum(r.waiver is not None for t in tenants for r in t.results),
        ),
        tenants=tenants,
    )


async def run_audit(  # noqa: PLR0913 - the run's whole context, passed explicitly
    tenants: Sequence[TenantConfig],
    base_domain: str,
    pack: RulePack,
    hasher: SecretHasher,
    *,
    pacing: PacingConfig | None = None,
    concurrency: int | None = None,
    on_done: Callable[[TenantSnapshot], None] | None = None,
) -> AuditRun:
    """Collect and evaluate ``tenants``; never raises for what a tenant's services do.

    ``pacing`` sets the limiters (default: AWS's documented quotas); ``concurrency``,
    when given, caps the tenants in flight on top of them (the config's optional
    ``concurrency:``).
    """
    run_id = str(uuid.uuid4())
    started_at = utc_now()
    snapshots = await collect_fleet(
        tenants, base_domain, hasher, pacing=paced(pacing, concurrency), on_done=on_done
    )
    outcomes = [TenantOutcome(s, pack.evaluate(s)) for s in snapshots]
    report = build_report(run_id, started_at, utc_now(), outcomes)
    return AuditRun(report=report, outcomes=outcomes)


def paced(pacing: PacingConfig | None, concurrency: int | None) -> PacingConfig:
    """``pacing`` (or the defaults) with at most ``concurrency`` tenants in flight."""
    from auditor.pacing import PacingConfig  # noqa: PLC0415 - only the type is needed above

    config = pacing or PacingConfig()
    if concurrency is None:
        return config
    cap = min(concurrency, config.max_tenants_in_flight or concurrency)
    return config.model_copy(update={"max_tenants_in_flight": cap})


def exit_code(report: RunReport, fail_on: Severity) -> int:
    """3 if any tenant errored; else 1 if an unwaived failure is at or above ``fail_on``."""
    if any(t.status is TenantStatus.ERROR for t in report.tenants):
        return EXIT_COLLECTION_ERROR
    failing = any(
        r.counts and r.severity.at_least(fail_on) for t in report.tenants for r in t.results
    )
    return EXIT_FINDINGS if failing else EXIT_OK
