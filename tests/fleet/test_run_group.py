"""Joining shard reports into the whole run's report (pure: no store, no network)."""

from __future__ import annotations

from auditor.results import (
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantReport,
    TenantStatus,
    WaiverIssue,
)
from auditor.run_group import combine_reports, missing_shards
from auditor.shards import Shard
from auditor.store import GroupShard


def _tenant(tenant_id: str, status: TenantStatus) -> TenantReport:
    result = RuleResult(
        rule_id="okta_app_active",
        status=ResultStatus.FAIL if status is TenantStatus.FAIL else ResultStatus.PASS,
        severity=Severity.CRITICAL,
        message="m",
        expected=None,
        actual=None,
        remediation=None,
    )
    return TenantReport(tenant_id=tenant_id, status=status, results=[result])


def _stale(tenant: str) -> WaiverIssue:
    return WaiverIssue(tenant=tenant, rule="okta_app_active", owner="o", expires="2027-01-01",
                       problem="stale")


def _report(run_id: str, start: str, end: str, tenants: list[TenantReport],
            waivers: list[WaiverIssue]) -> RunReport:
    return RunReport(
        run=RunInfo(id=run_id, started_at=start, finished_at=end),
        summary=Summary(tenants=len(tenants), passed=0, failed=0, errored=0),
        tenants=tenants,
        waivers=waivers,
    )


def test_combined_report_orders_tenants_as_the_config_and_recounts_the_summary() -> None:
    """Tenants follow the config's order across shards; the summary counts the whole run."""
    first = _report("r0", "2026-11-27T02:00:01.000Z", "2026-11-27T02:10:00.000Z",
                    [_tenant("b", TenantStatus.PASS), _tenant("d", TenantStatus.FAIL)], [])
    second = _report("r1", "2026-11-27T02:00:00.000Z", "2026-11-27T02:05:00.000Z",
                     [_tenant("a", TenantStatus.ERROR), _tenant("c", TenantStatus.PASS)], [])
    whole = combine_reports([first, second], "r1", order=["a", "b", "c", "d"])
    assert [t.tenant_id for t in whole.tenants] == ["a", "b", "c", "d"]
    assert whole.summary == Summary(tenants=4, passed=2, failed=1, errored=1, waived=0)
    assert (whole.run.id, whole.run.started_at, whole.run.finished_at) == (
        "r1", "2026-11-27T02:00:00.000Z", "2026-11-27T02:10:00.000Z",
    )


def test_a_waiver_is_stale_only_when_every_shard_found_it_stale() -> None:
    """A waiver stale in one shard but used in another (its tenant's) is not reported stale."""
    first = _report("r0", "2026-11-27T02:00:00Z", "2026-11-27T02:01:00Z",
                    [_tenant("a", TenantStatus.PASS)], [_stale("b"), _stale("gone")])
    second = _report("r1", "2026-11-27T02:00:00Z", "2026-11-27T02:01:00Z",
                     [_tenant("b", TenantStatus.PASS)], [_stale("a"), _stale("gone")])
    whole = combine_reports([first, second], "r1")
    assert whole.waivers == [_stale("gone")]


def test_missing_shards_are_those_of_the_count_without_a_run() -> None:
    """Shards 0 and 2 of 4 recorded: 1/4 and 3/4 are missing; nothing recorded: none known."""
    recorded = [GroupShard(i, 4, f"r{i}", None, b"") for i in (0, 2)]  # type: ignore[arg-type]
    assert missing_shards(recorded) == [Shard(1, 4), Shard(3, 4)]
    assert missing_shards([]) == []
