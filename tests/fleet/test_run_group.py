"""Joining shard reports into the whole run's report (pure: no store, no network).

Each shard's report is packed as the run-group table keeps it (``compressed_lines``), or
as rows recorded before the JSON Lines format kept it (``report.json``, zlib-compressed).
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import pytest

from auditor.report.json_report import render_json
from auditor.results import (
    DriftEntry,
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantReport,
    TenantStatus,
    WaiverIssue,
    WaiverNote,
)
from auditor.run_group import combine_reports, missing_shards
from auditor.shards import Shard
from auditor.store import DamagedShardReport, GroupShard
from auditor.store.run_groups import compressed_lines
from auditor.streamed_report import summarize

RECORDED = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def _tenant(tenant_id: str, status: TenantStatus, *, waived: bool = False) -> TenantReport:
    result = RuleResult(
        rule_id="okta_app_active",
        status=ResultStatus.FAIL if status is TenantStatus.FAIL else ResultStatus.PASS,
        severity=Severity.CRITICAL,
        message='m \u2713 "quoted"\nsecond\r\u2028line',  # hostile text: still one line
        expected={"status": "ACTIVE"},
        actual=None,
        remediation=None,
        waiver=WaiverNote(reason="r", owner="o", expires="2027-01-01") if waived else None,
    )
    drift = [DriftEntry(path="okta.app.label", before="a", after="b\n", against="previous")]
    return TenantReport(tenant_id=tenant_id, status=status, results=[result], drift=drift)


def _stale(tenant: str) -> WaiverIssue:
    return WaiverIssue(tenant=tenant, rule="okta_app_active", owner="o", expires="2027-01-01",
                       problem="stale")


def _report(run_id: str, start: str, end: str, tenants: list[TenantReport],
            waivers: list[WaiverIssue]) -> RunReport:
    return RunReport(
        run=RunInfo(id=run_id, started_at=start, finished_at=end, trigger="schedule"),
        summary=summarize(tenants),
        tenants=tenants,
        waivers=waivers,
    )


def _shards(*reports: RunReport, old: tuple[int, ...] = ()) -> list[GroupShard]:
    """The reports as recorded shards ``0..N-1``; those at ``old`` in the earlier format."""
    return [
        GroupShard(
            i, len(reports), r.run.id, RECORDED,
            zlib.compress(render_json(r)) if i in old else compressed_lines(r),
        )
        for i, r in enumerate(reports)
    ]


def _combined_whole(reports: list[RunReport], run_id: str, order: list[str]) -> RunReport:
    """The whole run's report as combine_reports built it with every shard in memory."""
    rank = {tenant_id: i for i, tenant_id in enumerate(order)}
    tenants = sorted(
        (t for r in reports for t in r.tenants), key=lambda t: rank.get(t.tenant_id, len(rank))
    )
    stale_everywhere = set.intersection(
        *({w for w in r.waivers if w.problem == "stale"} for r in reports)
    )
    waivers: list[WaiverIssue] = []
    for issue in (w for r in reports for w in r.waivers):
        keep = issue.problem != "stale" or issue in stale_everywhere
        if keep and issue not in waivers:
            waivers.append(issue)
    return RunReport(
        run=RunInfo(
            id=run_id,
            started_at=min(r.run.started_at for r in reports),
            finished_at=max(r.run.finished_at for r in reports),
            trigger=reports[0].run.trigger,
        ),
        summary=summarize(tenants),
        tenants=tenants,
        waivers=waivers,
    )


def _fleet_shards() -> list[RunReport]:
    """Three shards: tenants out of config order, one not in the config, every waiver kind."""
    expiring = WaiverIssue(tenant="t03", rule="okta_app_active", owner="o",
                           expires="2026-12-01", problem="expiring")
    statuses = [TenantStatus.PASS, TenantStatus.FAIL, TenantStatus.ERROR]
    tenants = [
        _tenant(f"t{n:02d}", statuses[n % 3], waived=n % 7 == 0) for n in range(30)
    ]
    return [
        _report("r0", "2026-11-27T02:00:05Z", "2026-11-27T02:20:00Z",
                [t for t in tenants if int(t.tenant_id[1:]) % 3 == 0][::-1],
                [_stale("gone"), _stale("t01"), expiring]),
        _report("r1", "2026-11-27T02:00:01Z", "2026-11-27T02:30:00Z",
                [*(t for t in tenants if int(t.tenant_id[1:]) % 3 == 1),
                 _tenant("retired", TenantStatus.PASS)],
                [_stale("gone"), _stale("t00"), expiring]),
        _report("r2", "2026-11-27T02:00:03Z", "2026-11-27T02:10:00Z",
                [t for t in tenants if int(t.tenant_id[1:]) % 3 == 2], [_stale("gone")]),
    ]


def test_combined_report_orders_tenants_as_the_config_and_recounts_the_summary() -> None:
    """Tenants follow the config's order across shards; the summary counts the whole run."""
    first = _report("r0", "2026-11-27T02:00:01.000Z", "2026-11-27T02:10:00.000Z",
                    [_tenant("b", TenantStatus.PASS), _tenant("d", TenantStatus.FAIL)], [])
    second = _report("r1", "2026-11-27T02:00:00.000Z", "2026-11-27T02:05:00.000Z",
                     [_tenant("a", TenantStatus.ERROR), _tenant("c", TenantStatus.PASS)], [])
    whole = combine_reports(_shards(first, second), "r1", order=["a", "b", "c", "d"])
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
    whole = combine_reports(_shards(first, second), "r1")
    assert whole.waivers == [_stale("gone")]


@pytest.mark.parametrize("old", [(), (1,), (0, 1, 2)], ids=["new", "mixed", "old"])
def test_the_streamed_combination_is_the_report_the_whole_one_gave(old: tuple[int, ...]) -> None:
    """Shards read tenant by tenant combine into the report holding them all whole gave."""
    reports = _fleet_shards()
    order = [f"t{n:02d}" for n in range(30)]
    streamed = combine_reports(_shards(*reports, old=old), "r1", order=order)
    expected = _combined_whole(reports, "r1", order)
    assert streamed.to_model() == expected
    assert render_json(streamed) == render_json(expected)
    assert [t.tenant_id for t in streamed.tenants] == [*order, "retired"]
    assert streamed.waivers == [_stale("gone"), reports[0].waivers[2]]


def test_a_tenant_in_two_shards_is_reported_once_from_the_first() -> None:
    """A config change between shards cannot list a tenant twice or double its counts."""
    first = _report("r0", "2026-11-27T02:00:00Z", "2026-11-27T02:01:00Z",
                    [_tenant("a", TenantStatus.FAIL)], [])
    second = _report("r1", "2026-11-27T02:00:00Z", "2026-11-27T02:01:00Z",
                     [_tenant("a", TenantStatus.PASS), _tenant("b", TenantStatus.PASS)], [])
    whole = combine_reports(_shards(first, second), "r1", order=["a", "b"])
    assert [(t.tenant_id, t.status) for t in whole.tenants] == [
        ("a", TenantStatus.FAIL), ("b", TenantStatus.PASS),
    ]
    assert whole.summary == Summary(tenants=2, passed=1, failed=1, errored=0, waived=0)


@pytest.mark.parametrize("old", [False, True], ids=["json-lines", "report.json"])
def test_a_recorded_shard_reads_back_as_its_audit_wrote_it(old: bool) -> None:  # noqa: FBT001
    """Both stored formats give back the shard's report: head, tenants, and whole."""
    report = _fleet_shards()[1]
    (shard,) = _shards(report, old=(0,) if old else ())
    head = shard.head()
    assert (head.run, head.summary, head.waivers) == (report.run, report.summary, report.waivers)
    assert list(shard.tenants()) == report.tenants
    assert shard.report() == report


def test_a_shards_tenants_are_read_one_at_a_time() -> None:
    """A stored report cut short still yields its first tenants before it is found damaged.

    Read whole, the cut report would give nothing at all: that the first tenants come out
    shows each is parsed from the part of the row read so far, not from the whole.
    """
    report = _report("r0", "2026-11-27T02:00:00Z", "2026-11-27T02:01:00Z",
                     [_tenant(f"t{n:03d}", TenantStatus.PASS) for n in range(200)], [])
    blob = compressed_lines(report)
    shard = GroupShard(0, 1, "r0", RECORDED, blob[: len(blob) // 2])
    read: list[TenantReport] = []
    with pytest.raises(DamagedShardReport, match="shard 0/1's stored report"):
        read.extend(shard.tenants())
    assert 0 < len(read) < len(report.tenants)
    assert read == report.tenants[: len(read)]
    with pytest.raises(DamagedShardReport):
        GroupShard(0, 1, "r0", RECORDED, zlib.compress(render_json(report))[:-9]).head()


def test_missing_shards_are_those_of_the_count_without_a_run() -> None:
    """Shards 0 and 2 of 4 recorded: 1/4 and 3/4 are missing; nothing recorded: none known."""
    recorded = [GroupShard(i, 4, f"r{i}", None, b"") for i in (0, 2)]  # type: ignore[arg-type]
    assert missing_shards(recorded) == [Shard(1, 4), Shard(3, 4)]
    assert missing_shards([]) == []
