"""Runs and snapshots: what save_run records and how it is read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from store_builders import ERROR, FAIL, NOT_EVALUATED, PASS, at, run_report, snapshot, snapshots_for

from auditor.results import ResultStatus, Severity, TenantStatus
from auditor.store import RunAlreadyStored, Store, UnknownRun, fingerprint
from auditor.store.engine import transaction
from auditor.store.schema import ResultRow, RunRow, TenantRunRow


def test_latest_and_previous_snapshots(store: Store) -> None:
    """Two runs: the latest snapshot is the second, the one before it the first."""
    first = run_report("run-1", at(0), {"acme": {}, "globex": {}})
    second = run_report("run-2", at(1), {"acme": {"okta_app_active": FAIL}})
    store.save_run(first, snapshots_for(first, label="before"))
    store.save_run(second, snapshots_for(second, label="after"))

    assert store.latest_snapshot("acme") == snapshot("acme", "after")
    assert store.latest_snapshot("acme", before_run="run-2") == snapshot("acme", "before")
    assert store.latest_snapshot("acme", before_run="run-1") is None
    assert store.latest_snapshot("globex") == snapshot("globex", "before")
    assert store.latest_snapshot("initech") is None
    assert store.snapshot("acme", "run-1") == snapshot("acme", "before")
    assert store.snapshot("globex", "run-2") is None
    with pytest.raises(UnknownRun, match="run-9"):
        store.latest_snapshot("acme", before_run="run-9")


def test_runs_in_the_same_second_keep_their_order(store: Store) -> None:
    """Runs that start in the same second are ordered by when they were saved."""
    for n in range(3):
        report = run_report(f"run-{n}", at(0), {"acme": {}})
        store.save_run(report, snapshots_for(report, label=f"v{n}"))

    assert store.latest_snapshot("acme") == snapshot("acme", "v2")
    assert store.latest_snapshot("acme", before_run="run-2") == snapshot("acme", "v1")
    assert [r.id for r in store.runs()] == ["run-2", "run-1", "run-0"]


def test_snapshot_is_stored_exactly_as_given(store: Store) -> None:
    """The stored snapshot is the given JSON, key order and non-ASCII text included."""
    report = run_report("run-1", at(0), {"acme": {}})
    given = {"zeta": 1, "alpha": {"label": "Sécurité ✓", "nested": [3, 1, 2]}, "nothing": None}
    store.save_run(report, {"acme": given})

    with transaction(store.engine, write=False) as session:
        text = session.scalar(select(TenantRunRow.snapshot))
    assert text == json.dumps(given, ensure_ascii=False)
    stored = store.snapshot("acme", "run-1")
    assert stored == given
    assert list(stored or {}) == ["zeta", "alpha", "nothing"]


def test_runs_newest_first_with_tenant_statuses(store: Store) -> None:
    """runs() lists runs newest first, filters by tenant, limits, and shows statuses."""
    reports = [
        run_report("r1", at(0), {"acme": {}, "globex": {"cognito_idp_exists": FAIL}}),
        run_report("r2", at(1), {"globex": {"okta_app_active": ERROR}}, trigger="schedule"),
        run_report("r3", at(2), {"acme": {"okta_app_active": NOT_EVALUATED}}),
    ]
    for report in reports:
        store.save_run(report, snapshots_for(report))

    runs = store.runs()
    assert [r.id for r in runs] == ["r3", "r2", "r1"]
    assert runs[1].trigger == "schedule"
    assert runs[1].outcome is TenantStatus.ERROR
    assert runs[2].outcome is TenantStatus.FAIL
    assert runs[2].tenants == {"acme": TenantStatus.PASS, "globex": TenantStatus.FAIL}
    assert runs[0].started_at == at(2)
    assert runs[0].finished_at == at(2) + timedelta(minutes=1)
    assert [r.id for r in store.runs("acme")] == ["r3", "r1"]
    assert [r.id for r in store.runs("globex", limit=1)] == ["r2"]
    assert store.runs("initech") == []
    with pytest.raises(ValueError, match="limit"):
        store.runs(limit=0)


def test_results_are_stored_with_fingerprint_and_json(store: Store) -> None:
    """Each result keeps its fingerprint, verdict, severity, expected/actual and waiver."""
    report = run_report("r1", at(0), {"acme": {"okta_app_active": FAIL}})
    waived = (
        report.tenants[0]
        .results[1]
        .model_copy(
            update={"status": ResultStatus.FAIL, "waiver": report.tenants[0].results[0].waiver}
        )
    )
    tenant = report.tenants[0].model_copy(
        update={"results": [report.tenants[0].results[0], waived, report.tenants[0].results[2]]}
    )
    report = report.model_copy(update={"tenants": [tenant]})
    store.save_run(report, snapshots_for(report))

    stored = store.results("acme", "r1")
    assert [r.rule_id for r in stored] == [r.rule_id for r in tenant.results]
    active = stored[0]
    assert active.fingerprint == fingerprint("acme", "okta_app_active", None)
    assert active.status is ResultStatus.FAIL
    assert active.severity is Severity.CRITICAL
    assert active.lifecycle == "new"
    assert active.expected == {"status": "ACTIVE"}
    assert active.actual == {"status": "INACTIVE", "note": "é ✓"}
    assert not active.waived
    assert stored[2].expected is None
    assert stored[2].lifecycle is None


def test_save_run_refuses_a_second_save_and_bad_snapshots(store: Store) -> None:
    """A run id saved twice, or snapshots that do not match the tenants, write nothing."""
    report = run_report("r1", at(0), {"acme": {}})
    store.save_run(report, snapshots_for(report))

    with pytest.raises(RunAlreadyStored):
        store.save_run(report, snapshots_for(report))
    other = run_report("r2", at(1), {"acme": {}, "globex": {}})
    with pytest.raises(ValueError, match=r"missing: \['globex'\]"):
        store.save_run(other, {"acme": snapshot("acme")})
    with pytest.raises(ValueError, match="JSON"):
        store.save_run(other, {"acme": snapshot("acme"), "globex": {"x": float("nan")}})

    with transaction(store.engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(RunRow)) == 1
        assert session.scalar(select(func.count()).select_from(TenantRunRow)) == 1
        assert session.scalar(select(func.count()).select_from(ResultRow)) == 3


def test_times_are_kept_in_utc(store: Store) -> None:
    """A run reported with a +02:00 offset reads back as the same instant in UTC."""
    plus_two = timezone(timedelta(hours=2))
    started = datetime(2025, 6, 1, 12, 30, 15, tzinfo=plus_two)
    report = run_report("r1", at(0), {"acme": {}})
    run = report.run.model_copy(
        update={"started_at": started.isoformat(), "finished_at": "2025-06-01T10:31:00Z"}
    )
    store.save_run(report.model_copy(update={"run": run}), snapshots_for(report))

    (stored,) = store.runs()
    assert stored.started_at == datetime(2025, 6, 1, 10, 30, 15, tzinfo=UTC)
    assert stored.started_at.tzinfo is UTC
    naive = report.model_copy(
        update={"run": run.model_copy(update={"id": "r2", "started_at": "2025-06-01T10:00:00"})}
    )
    with pytest.raises(ValueError, match="no timezone"):
        store.save_run(naive, snapshots_for(report))


def test_a_failure_inside_save_run_rolls_everything_back(store: Store) -> None:
    """A save_run that fails half-way (one fingerprint twice) leaves the store as it was."""
    first = run_report("r1", at(0), {"acme": {"okta_app_active": FAIL}})
    store.save_run(first, snapshots_for(first))
    before = store.finding_states("acme")
    report = run_report("r2", at(1), {"acme": {"okta_app_active": PASS}, "globex": {}})
    globex = report.tenants[1]
    twice = globex.model_copy(update={"results": [globex.results[0], globex.results[0]]})
    broken = report.model_copy(update={"tenants": [report.tenants[0], twice]})

    with pytest.raises(IntegrityError):
        store.save_run(broken, snapshots_for(report))

    # acme's finding was resolved inside the failed transaction: that is undone too.
    assert store.finding_states("acme") == before
    assert [r.id for r in store.runs()] == ["r1"]
    with transaction(store.engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(TenantRunRow)) == 1
        assert session.scalar(select(func.count()).select_from(ResultRow)) == 3
    store.save_run(report, snapshots_for(report))
    assert store.results("acme", "r2")[0].lifecycle == "resolved"
