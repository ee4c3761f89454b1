"""The store's alert tables (issue 7), on SQLite and PostgreSQL: state and outbox together."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from store_builders import FAIL, at, run_report, snapshots_for

from auditor.store import UnknownRun
from auditor.store.alerts import (
    AlertRecord,
    AlertStore,
    AnnouncedState,
    Announcement,
    ToldFinding,
)

if TYPE_CHECKING:
    from auditor.store import Store


def record(route: str, event_id: str, run_id: str = "r1") -> AlertRecord:
    """A `new` event for acme/okta_app_active."""
    return AlertRecord(
        id=event_id,
        route=route,
        run_id=run_id,
        kind="new",
        tenant_id="acme",
        rule_id="okta_app_active",
        severity="critical",
        title="Okta app active",
        message="the app is INACTIVE",
        remediation=None,
        occurred_at=at(0),
    )


def told(route: str, event_id: str) -> Announcement:
    """The announcement of that event, with the state it makes true."""
    return Announcement(
        events=[record(route, event_id)],
        findings={("acme", "okta_app_active"): ToldFinding(failing=True, told_at=at(0))},
        errors_told={"acme": at(0)},
    )


def saved(store: Store) -> None:
    report = run_report("r1", at(0), {"acme": {"okta_app_active": FAIL}})
    store.save_run(report, snapshots_for(report))


def test_events_and_state_are_recorded_together(store: Store) -> None:
    """record() writes the outbox and the route's state; pending and delivery follow."""
    saved(store)
    alerts = AlertStore(store)
    seen: list[AnnouncedState] = []

    def compute(route: str, state: AnnouncedState) -> Announcement:
        seen.append(state)
        return told(route, f"id-{route}")

    assert len(alerts.record("r1", ["a", "b"], compute, now=at(0))) == 2
    assert seen == [AnnouncedState(), AnnouncedState()]
    state = alerts.state("a")
    assert state.findings == {("acme", "okta_app_active"): ToldFinding(failing=True, told_at=at(0))}
    assert state.errored == {"acme": at(0)}
    assert [e.record.id for e in alerts.pending()] == ["id-a", "id-b"]
    assert (alerts.pending_count(), alerts.pending_count("b")) == (2, 1)

    alerts.mark_failed(["id-a"], error="HTTP 500")
    (entry,) = alerts.pending("a")
    assert entry.attempts == 1
    assert entry.last_error == "HTTP 500"
    alerts.mark_delivered(["id-a"], at=at(0))
    assert alerts.pending("a") == []
    assert alerts.delivered_count() == 1
    assert alerts.pending_count() == 1
    # Recording the same event again (a re-announced run) adds nothing.
    assert alerts.record("r1", ["a"], compute, now=at(0)) == []
    assert [e.record.id for e in alerts.pending()] == ["id-b"]


def test_a_failure_while_recording_leaves_nothing(store: Store) -> None:
    """When computing the second route fails, the first route's events and state roll back."""
    saved(store)
    alerts = AlertStore(store)

    def compute(route: str, _state: AnnouncedState) -> Announcement:
        if route == "b":
            raise RuntimeError("boom")
        return told(route, f"id-{route}")

    with pytest.raises(RuntimeError):
        alerts.record("r1", ["a", "b"], compute, now=at(0))
    assert alerts.pending() == []
    assert alerts.state("a") == AnnouncedState()


def test_events_of_an_unrecorded_run_are_refused(store: Store) -> None:
    """Events are recorded after their run: a run id the store lacks is an error."""
    with pytest.raises(UnknownRun):
        AlertStore(store).record("nope", ["a"], lambda r, _s: told(r, "x"), now=at(0))


def test_prune_forgets_delivered_events_only(store: Store) -> None:
    """Old delivered events are pruned; an undelivered one stays however old it is."""
    saved(store)
    alerts = AlertStore(store)
    alerts.record("r1", ["a", "b"], lambda r, _s: told(r, f"id-{r}"), now=at(0))
    alerts.mark_delivered(["id-a"], at=at(0))

    assert alerts.prune_delivered(30, now=at(10)) == 0
    assert alerts.prune_delivered(30, now=at(40)) == 1
    assert alerts.delivered_count() == 0
    assert [e.record.id for e in alerts.pending()] == ["id-b"]
