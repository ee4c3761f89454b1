"""Baselines (accept, replace, the no-run error) and retention (prune)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from store_builders import FAIL, at, run_report, snapshot, snapshots_for

from auditor.store import NoRunRecorded, Store
from auditor.store.engine import transaction
from auditor.store.schema import FindingRow, ResultRow, TenantRunRow


def _save(store: Store, run_id: str, day: float, tenants: list[str], label: str = "x") -> None:
    report = run_report(run_id, at(day), {t: {"okta_app_active": FAIL} for t in tenants})
    store.save_run(report, snapshots_for(report, label=label))


def test_accept_baseline_needs_a_recorded_run(store: Store) -> None:
    """Accepting a baseline for a tenant never audited is a LookupError that says what to do."""
    _save(store, "r1", 0, ["globex"])
    with pytest.raises(NoRunRecorded, match="audit it first") as caught:
        store.accept_baseline("acme", accepted_by="alice", reason=None, now=at(1))
    assert isinstance(caught.value, LookupError)
    assert caught.value.tenant_id == "acme"
    assert store.baseline("acme") is None


def test_accept_baseline_approves_the_latest_snapshot(store: Store) -> None:
    """A baseline is the latest snapshot at acceptance, kept until accepted again."""
    _save(store, "r1", 0, ["acme"], label="one")
    plus_two = timezone(timedelta(hours=2))
    accepted = store.accept_baseline(
        "acme",
        accepted_by="alice",
        reason="initial review",
        now=datetime(2025, 3, 2, 12, 0, tzinfo=plus_two),
    )
    assert accepted.run_id == "r1"
    assert accepted.snapshot == snapshot("acme", "one")
    assert accepted.accepted_at == datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
    assert store.baseline("acme") == accepted

    _save(store, "r2", 1, ["acme"], label="two")
    assert store.baseline("acme") == accepted

    again = store.accept_baseline("acme", accepted_by="bob", reason=None, now=at(2))
    assert (again.run_id, again.accepted_by, again.reason) == ("r2", "bob", None)
    assert store.baseline("acme") == again
    assert again.snapshot == snapshot("acme", "two")
    with pytest.raises(ValueError, match="no timezone"):
        store.accept_baseline("acme", accepted_by="bob", reason=None, now=datetime(2025, 1, 1))  # noqa: DTZ001 - the point


def test_prune_keeps_baselines_and_each_tenants_latest_run(store: Store) -> None:
    """Pruning deletes old runs with their snapshots and results, except protected ones."""
    _save(store, "old-baseline", 0, ["acme"])
    store.accept_baseline("acme", accepted_by="alice", reason=None, now=at(0.5))
    _save(store, "old-plain", 1, ["acme", "globex"])
    _save(store, "old-globex-last", 2, ["globex", "initech"])
    _save(store, "old-plain-2", 3, ["acme", "initech"])
    _save(store, "old-plain-3", 4, ["acme"])
    _save(store, "recent", 99, ["acme"])
    findings_before = store.finding_states("acme")

    removed = store.prune(90, now=at(100))

    assert removed == 2
    kept = {r.id for r in store.runs(limit=100)}
    assert kept == {"old-baseline", "old-globex-last", "old-plain-2", "recent"}
    assert store.baseline("acme") is not None
    assert store.latest_snapshot("globex") is not None
    assert store.snapshot("acme", "old-plain") is None
    assert store.finding_states("acme") == findings_before
    with transaction(store.engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(TenantRunRow)) == 6
        assert session.scalar(select(func.count()).select_from(ResultRow)) == 18
        assert session.scalar(select(func.count()).select_from(FindingRow)) == 3
    assert store.prune(90, now=at(100)) == 0
    with pytest.raises(ValueError, match="0 or more"):
        store.prune(-1, now=at(100))
