"""Builders for store tests: run reports made with the result models directly.

``run_report("r1", at(0), {"acme": {"okta_app_active": FAIL}})`` is a run that started
at day 0 with one tenant and the given verdicts (any rule not named passes); its
snapshots come from tests/builders.py's compliant snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from builders import compliant_snapshot

from auditor.results import (
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantReport,
    TenantStatus,
    WaiverNote,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

PASS = ResultStatus.PASS
FAIL = ResultStatus.FAIL
ERROR = ResultStatus.ERROR
NOT_EVALUATED = ResultStatus.NOT_EVALUATED

RULES: tuple[tuple[str, Severity], ...] = (
    ("okta_app_active", Severity.CRITICAL),
    ("okta_app_signout_redirect_uri", Severity.LOW),
    ("cognito_idp_exists", Severity.CRITICAL),
)
EPOCH = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    """A moment ``days`` after the tests' epoch (aware UTC)."""
    return EPOCH + timedelta(days=days)


def stamp(moment: datetime) -> str:
    """RFC 3339 with a Z, as the run pipeline writes it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def result(rule_id: str, status: ResultStatus, *, waived: bool = False) -> RuleResult:
    """One rule's verdict, with an expected/actual pair when it does not pass."""
    severity = dict(RULES)[rule_id]
    failing = status is not ResultStatus.PASS
    return RuleResult(
        rule_id=rule_id,
        status=status,
        severity=severity,
        message=f"{rule_id} is {status.value}",
        expected={"status": "ACTIVE"} if failing else None,
        actual={"status": "INACTIVE", "note": "é ✓"} if failing else None,
        waiver=WaiverNote(reason="accepted", owner="sec", expires="2099-01-01") if waived else None,
    )


def tenant_report(tenant_id: str, verdicts: Mapping[str, ResultStatus]) -> TenantReport:
    """The tenant's results: every rule of RULES, passing unless ``verdicts`` says else."""
    results = [result(rule, verdicts.get(rule, PASS)) for rule, _ in RULES]
    statuses = {r.status for r in results}
    status = (
        TenantStatus.ERROR
        if ResultStatus.ERROR in statuses
        else TenantStatus.FAIL
        if ResultStatus.FAIL in statuses
        else TenantStatus.PASS
    )
    return TenantReport(tenant_id=tenant_id, status=status, results=results)


def run_report(
    run_id: str,
    started: datetime,
    tenants: Mapping[str, Mapping[str, ResultStatus]],
    *,
    trigger: str = "manual",
) -> RunReport:
    """A whole run report that started at ``started`` and took a minute."""
    reports = [tenant_report(t, v) for t, v in tenants.items()]
    return RunReport.model_validate(
        {
            "run": RunInfo.model_validate(
                {
                    "id": run_id,
                    "started_at": stamp(started),
                    "finished_at": stamp(started + timedelta(minutes=1)),
                    "trigger": trigger,
                }
            ),
            "summary": Summary(
                tenants=len(reports),
                passed=sum(t.status is TenantStatus.PASS for t in reports),
                failed=sum(t.status is TenantStatus.FAIL for t in reports),
                errored=sum(t.status is TenantStatus.ERROR for t in reports),
            ),
            "tenants": reports,
        }
    )


def snapshot(tenant_id: str, label: str = "Rapticore") -> dict[str, Any]:
    """A compliant tenant's redacted snapshot JSON, its app label set to ``label``."""
    data = compliant_snapshot(tenant_id).to_jsonable()
    data["okta"]["app"]["value"]["label"] = label
    return data


def snapshots_for(report: RunReport, label: str = "Rapticore") -> dict[str, dict[str, Any]]:
    """A snapshot for each tenant of the report."""
    return {t.tenant_id: snapshot(t.tenant_id, label) for t in report.tenants}
