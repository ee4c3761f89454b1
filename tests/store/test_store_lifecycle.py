"""Findings across runs: fingerprints, the pure lifecycle, and what the store keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from store_builders import ERROR, FAIL, NOT_EVALUATED, PASS, at, run_report, snapshots_for

from auditor.store import FindingState, LifecycleView, Store, fingerprint, lifecycle_of

if TYPE_CHECKING:
    from auditor.results import ResultStatus

FP = fingerprint("acme", "okta_app_active", None)


def test_fingerprint_is_stable_and_distinguishes_subjects() -> None:
    """The fingerprint is a fixed 16-hex-digit value that changes with every part."""
    assert len(FP) == 16
    assert int(FP, 16) >= 0
    assert fingerprint("acme", "okta_app_active") == FP
    others = {
        fingerprint("globex", "okta_app_active"),
        fingerprint("acme", "okta_app_assigned"),
        fingerprint("acme", "okta_app_active", ""),
        fingerprint("acme", "okta_app_active", "https://evil.example.com/cb"),
        fingerprint("acme,okta_app_active", "", None),
    }
    assert FP not in others
    assert len(others) == 5


def test_fingerprint_is_pinned() -> None:
    """Known triples keep their fingerprints: stored history and waivers depend on them."""
    assert fingerprint("acme", "okta_app_active", None) == "9c085966991c2e7e"
    assert (
        fingerprint("acme", "okta_app_no_foreign_redirect_uris", "https://evil.example.com/cb")
        == "7613712081bbf643"
    )


def _state(*, is_open: bool) -> FindingState:
    return FindingState(
        fingerprint=FP,
        rule_id="okta_app_active",
        subject=None,
        open=is_open,
        first_seen=at(0),
        last_seen=at(1),
        resolved_at=None if is_open else at(2),
    )


@pytest.mark.parametrize(
    ("status", "prior_open", "expected"),
    [
        (FAIL, None, LifecycleView("new", at(5), at(5))),
        (FAIL, True, LifecycleView("persisting", at(0), at(5))),
        (FAIL, False, LifecycleView("regressed", at(0), at(5))),
        (PASS, True, LifecycleView("resolved", at(0), at(1))),
        (PASS, False, LifecycleView(None, None, None)),
        (PASS, None, LifecycleView(None, None, None)),
        (ERROR, True, LifecycleView(None, None, None)),
        (NOT_EVALUATED, True, LifecycleView(None, None, None)),
        (NOT_EVALUATED, None, LifecycleView(None, None, None)),
    ],
)
def test_lifecycle_of(
    status: ResultStatus, *, prior_open: bool | None, expected: LifecycleView
) -> None:
    """Each verdict and prior state maps to the lifecycle and dates in the table."""
    prior = None if prior_open is None else _state(is_open=prior_open)
    assert lifecycle_of(status, prior, seen_at=at(5)) == expected


def test_lifecycle_result_fields_are_rfc3339() -> None:
    """A lifecycle view gives RuleResult's text fields, in UTC with a Z."""
    view = lifecycle_of(FAIL, _state(is_open=True), seen_at=at(5))
    assert view.result_fields() == {
        "lifecycle": "persisting",
        "first_seen": "2025-03-01T02:00:00Z",
        "last_seen": "2025-03-06T02:00:00Z",
    }
    with pytest.raises(ValueError, match="no timezone"):
        lifecycle_of(FAIL, None, seen_at=datetime(2025, 1, 1))  # noqa: DTZ001 - the point


def _save(store: Store, run_id: str, day: int, status: ResultStatus) -> None:
    report = run_report(run_id, at(day), {"acme": {"okta_app_active": status}})
    # What the lead does: read prior states, show lifecycle_of in the report, then save.
    prior = store.finding_states("acme").get(FP)
    view = lifecycle_of(status, prior, seen_at=at(day))
    tenant = report.tenants[0]
    first = tenant.results[0].model_copy(update={**view.result_fields(), "fingerprint": FP})
    tenant = tenant.model_copy(update={"results": [first, *tenant.results[1:]]})
    store.save_run(report.model_copy(update={"tenants": [tenant]}), snapshots_for(report))


def test_finding_lifecycle_new_persisting_resolved_regressed(store: Store) -> None:
    """A finding goes new -> persisting -> resolved -> regressed, errors change nothing."""
    _save(store, "r1", 1, FAIL)
    state = store.finding_states("acme")[FP]
    assert (state.open, state.first_seen, state.last_seen) == (True, at(1), at(1))
    assert state.rule_id == "okta_app_active"

    _save(store, "r2", 2, FAIL)
    state = store.finding_states("acme")[FP]
    assert (state.open, state.first_seen, state.last_seen) == (True, at(1), at(2))

    _save(store, "r3", 3, PASS)
    state = store.finding_states("acme")[FP]
    assert (state.open, state.last_seen, state.resolved_at) == (False, at(2), at(3))

    _save(store, "r4", 4, ERROR)
    _save(store, "r5", 5, NOT_EVALUATED)
    assert store.finding_states("acme")[FP] == state

    _save(store, "r6", 6, FAIL)
    state = store.finding_states("acme")[FP]
    assert (state.open, state.first_seen, state.last_seen) == (True, at(1), at(6))
    assert state.resolved_at is None
    assert state.first_seen.tzinfo is UTC

    stored = [store.results("acme", f"r{n}")[0].lifecycle for n in range(1, 7)]
    assert stored == ["new", "persisting", "resolved", None, None, "regressed"]
    assert set(store.finding_states("acme")) == {FP}
    assert store.finding_states("globex") == {}
