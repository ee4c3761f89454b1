"""The event rules of CONTRACT section 6, on plain values (no store, no network)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alert_helpers import alerts_config
from report.report_builders import failing, run_of, tenant, waiver

from auditor.alerts import EventKind
from auditor.alerts.events import announce_run, event_id
from auditor.results import ResultStatus, RunInfo, RunReport, TenantError, TenantReport
from auditor.store.alerts import AnnouncedState, Announcement

URL = "https://hooks.slack.example/services/T/B/x"


def route(**options: Any):
    """A Slack route with these options."""
    return alerts_config({"name": "r", "slack": {"webhook_url": URL}, **options}).routes[0]


def run(day: int, *tenants: TenantReport) -> RunReport:
    """A run on 2025-01-<day>."""
    started = f"2025-01-{day:02d}T02:00:00Z"
    return run_of(*tenants).model_copy(
        update={"run": RunInfo(id=f"run-{day}", started_at=started, finished_at=started)}
    )


def apply(state: AnnouncedState, announcement: Announcement) -> AnnouncedState:
    """The state after recording the announcement (what the store does)."""
    errored = {**state.errored, **announcement.errors_told}
    for tenant_id in announcement.errors_cleared:
        errored.pop(tenant_id, None)
    return replace(state, findings={**state.findings, **announcement.findings}, errored=errored)


def play(route_config, *reports: RunReport, reminder_days: int | None = None) -> list[list[str]]:
    """Each run's events as "kind tenant rule" strings, state carried from run to run."""
    state = AnnouncedState()
    seen = []
    for report in reports:
        announcement = announce_run(report, route_config, state, reminder_days=reminder_days)
        state = apply(state, announcement)
        seen.append([f"{e.kind} {e.tenant_id} {e.rule_id}" for e in announcement.events])
    return seen


def test_new_resolved_regressed() -> None:
    """Fail, pass, fail again: new, resolved, regressed; an unchanged run says nothing."""
    fail = tenant("acme", failing("okta_app_active"))
    assert play(route(), run(1, fail), run(2, fail), run(3, tenant("acme")), run(4, fail)) == [
        ["new acme okta_app_active"],
        [],
        ["resolved acme okta_app_active"],
        ["regressed acme okta_app_active"],
    ]


def test_not_evaluated_and_error_results_are_never_resolved() -> None:
    """A failure that turns not_evaluated or error is not resolved, nor new when it fails again."""
    fail = tenant("acme", failing("okta_app_active"))
    unknown = tenant("acme", failing("okta_app_active", status=ResultStatus.NOT_EVALUATED))
    broken = tenant("acme", failing("okta_app_active", status=ResultStatus.ERROR))
    assert play(route(), run(1, fail), run(2, unknown), run(3, broken), run(4, fail)) == [
        ["new acme okta_app_active"],
        [],
        [],
        [],
    ]


def test_waived_failures_send_nothing() -> None:
    """A waived failure is neither new nor resolved; once the waiver lapses it is new."""
    waived = tenant("acme", failing("okta_app_active", waiver=waiver()))
    fail = tenant("acme", failing("okta_app_active"))
    assert play(route(), run(1, waived), run(2, waived), run(3, fail)) == [
        [],
        [],
        ["new acme okta_app_active"],
    ]


def test_an_erroring_tenant_gets_error_once_then_recovered() -> None:
    """Error once while the tenant stays broken, recovered once it is whole again."""
    down = [TenantError(source="okta", message="HTTP 500")]
    broken = tenant("acme", errors=down)
    assert play(route(), run(1, broken), run(2, broken), run(3, tenant("acme"))) == [
        ["error acme None"],
        [],
        ["recovered acme None"],
    ]


def test_min_severity_filters_rule_events_but_not_errors() -> None:
    """min_severity: high drops a low failure; error always passes the filter."""
    config = route(min_severity="high")
    low_and_critical = tenant(
        "acme", failing("okta_app_signout_redirect_uri"), failing("okta_app_active")
    )
    broken = tenant("globex", errors=[TenantError(source="cognito", message="denied")])
    assert play(config, run(1, low_and_critical, broken)) == [
        ["new acme okta_app_active", "error globex None"]
    ]


def test_a_filtered_event_does_not_change_what_the_route_was_told() -> None:
    """A route that lowers its severity floor later hears the failures it skipped."""
    low = tenant("acme", failing("okta_app_signout_redirect_uri"))
    strict = announce_run(
        run(1, low), route(min_severity="high"), AnnouncedState(), reminder_days=None
    )
    assert list(strict.events) == []
    assert strict.findings == {}


def test_tenant_patterns_and_event_kinds_filter() -> None:
    """tenants: ["glob*"] and events: [resolved] keep only globex's resolution."""
    config = route(tenants=["glob*"], events=["new", "resolved"])
    first = run(
        1, tenant("acme", failing("okta_app_active")), tenant("globex", failing("okta_app_active"))
    )
    second = run(2, tenant("acme"), tenant("globex"))
    assert play(config, first, second) == [
        ["new globex okta_app_active"],
        ["resolved globex okta_app_active"],
    ]


def test_tenants_missing_from_a_run_are_left_alone() -> None:
    """An `audit --tenant acme` run does not resolve globex's failure."""
    both = run(1, tenant("acme"), tenant("globex", failing("okta_app_active")))
    only_acme = run(2, tenant("acme"))
    assert play(route(), both, only_acme) == [["new globex okta_app_active"], []]


def test_reminder_after_reminder_days() -> None:
    """A failure still open reminder_days after it was last announced is announced again."""
    fail = tenant("acme", failing("okta_app_active"))
    runs = [run(day, fail) for day in (1, 3, 8, 9, 15)]
    assert play(route(), *runs, reminder_days=7) == [
        ["new acme okta_app_active"],
        [],
        ["reminder acme okta_app_active"],
        [],
        ["reminder acme okta_app_active"],
    ]


def test_event_ids_name_one_transition() -> None:
    """The id depends on route, tenant, rule, kind and run, and on nothing else."""
    a = event_id("r", "acme", "okta_app_active", EventKind.NEW, "run-1")
    assert a == event_id("r", "acme", "okta_app_active", EventKind.NEW, "run-1")
    assert (
        len(
            {
                a,
                event_id("s", "acme", "okta_app_active", EventKind.NEW, "run-1"),
                event_id("r", "acme", "okta_app_active", EventKind.NEW, "run-2"),
                event_id("r", "acme", "okta_app_active", EventKind.REGRESSED, "run-1"),
                event_id("r", "acme", None, EventKind.NEW, "run-1"),
            }
        )
        == 5
    )
