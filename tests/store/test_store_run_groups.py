"""The run-group table (CONTRACT section 7), on SQLite and PostgreSQL: shards read back.

Rows recorded before the JSON Lines format hold the shard's whole ``report.json``,
zlib-compressed; a group mixing both kinds of row still reports the whole run.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from store_builders import ERROR, FAIL, at, run_report, snapshots_for

from auditor.report.json_report import render_json
from auditor.run_group import combine_reports
from auditor.store import RunGroups
from auditor.store.engine import transaction
from auditor.store.schema import RunGroupShardRow

if TYPE_CHECKING:
    from auditor.results import RunReport
    from auditor.store import Store


def _recorded(store: Store, group: str, index: int, report: RunReport) -> None:
    store.save_run(report, snapshots_for(report))
    RunGroups(store).record_shard(group, index, 2, report)


def test_two_recorded_shards_read_back_and_combine_tenant_by_tenant(store: Store) -> None:
    """Each shard's report comes back as recorded; combined, the tenants follow the config."""
    first = run_report("r0", at(0), {"b": {}, "d": {"okta_app_active": FAIL}})
    second = run_report("r1", at(0.01), {"a": {"cognito_idp_exists": ERROR}, "c": {}})
    _recorded(store, "night", 0, first)
    _recorded(store, "night", 1, second)

    shards = RunGroups(store).shards("night")
    assert [s.report() for s in shards] == [first, second]
    whole = combine_reports(shards, "r1", order=["a", "b", "c", "d"])
    assert [t.tenant_id for t in whole.tenants] == ["a", "b", "c", "d"]
    assert (whole.summary.passed, whole.summary.failed, whole.summary.errored) == (2, 1, 1)
    assert (whole.run.started_at, whole.run.finished_at) == (
        first.run.started_at, second.run.finished_at,
    )


def test_a_shard_recorded_in_the_earlier_format_still_reads(store: Store) -> None:
    """A row holding report.json compressed whole (as recorded before) reads as before."""
    first = run_report("r0", at(0), {"b": {}, "d": {"okta_app_active": FAIL}})
    second = run_report("r1", at(0.01), {"a": {}, "c": {}})
    _recorded(store, "upgraded", 0, first)
    _recorded(store, "upgraded", 1, second)
    with transaction(store.engine, write=True) as session:
        row = session.get(RunGroupShardRow, ("upgraded", 1))
        assert row is not None
        row.report = zlib.compress(render_json(second))  # what the earlier code stored

    shards = RunGroups(store).shards("upgraded")
    assert shards[1].report() == second
    whole = combine_reports(shards, "r1", order=["a", "b", "c", "d"])
    assert [t.tenant_id for t in whole.tenants] == ["a", "b", "c", "d"]
    assert whole.to_model().tenants == [*second.tenants[:1], first.tenants[0],
                                        second.tenants[1], first.tenants[1]]


def test_entries_name_the_recorded_shards_as_shards_does(store: Store) -> None:
    """What `--wait` polls (no reports read) names the same shards, runs and times."""
    groups = RunGroups(store)
    assert groups.entries("polled") == []
    _recorded(store, "polled", 1, run_report("r1", at(0), {"a": {}}))
    assert [(e.index, e.count, e.run_id) for e in groups.entries("polled")] == [(1, 2, "r1")]
    _recorded(store, "polled", 0, run_report("r0", at(0.01), {"b": {}}))
    assert [(e.index, e.count, e.run_id, e.recorded_at) for e in groups.entries("polled")] == [
        (s.index, s.count, s.run_id, s.recorded_at) for s in groups.shards("polled")
    ]
