"""Property: whatever the runs, outages and --no-alerts runs, routes hear each transition once."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alert_helpers import Receiver, Runs, alerts_config, hook_route, named, slack_route
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report.report_builders import failing, tenant, waiver

from auditor.alerts import DeliveryPolicy, announce, flush
from auditor.results import ResultStatus, Severity, TenantError, TenantReport
from auditor.store import open_store

if TYPE_CHECKING:
    from auditor.alerts.config import RouteConfig

TENANTS = ("acme", "globex")
RULES = {"okta_app_active": Severity.CRITICAL, "okta_app_signout_redirect_uri": Severity.LOW}
OUTCOMES = ("pass", "fail", "waived", "error", "not_evaluated")
QUICK = DeliveryPolicy(
    request_timeout=2, retries=1, backoff=0.01, max_backoff=0.01, max_retry_after=1, deadline=10
)
SLACK_KINDS = {
    "*New*": "new",
    "*Regressed*": "regressed",
    "*Still failing*": "reminder",
    "*Could not audit*": "error",
    "*Resolved*": "resolved",
    "*Recovered*": "recovered",
}


@dataclass(frozen=True)
class Step:
    """One run: each tenant's state, whether alerts are on, which receivers are down."""

    tenants: dict[str, tuple[bool, dict[str, str]]]  # tenant -> (errored, rule -> outcome)
    deliver: bool
    slack_down: bool
    hook_down: bool
    flush_after_outage: bool


def tenant_report(
    tenant_id: str,
    errored: bool,  # noqa: FBT001 - mirrors Step
    outcomes: dict[str, str],
) -> TenantReport:
    results = []
    for rule_id, outcome in outcomes.items():
        if outcome == "fail":
            results.append(failing(rule_id))
        elif outcome == "waived":
            results.append(failing(rule_id, waiver=waiver()))
        elif outcome in {"error", "not_evaluated"}:
            results.append(failing(rule_id, status=ResultStatus(outcome)))
    errors = [TenantError(source="okta", message="HTTP 503")] if errored else None
    return tenant(tenant_id, *results, errors=errors)


steps = st.builds(
    Step,
    tenants=st.fixed_dictionaries(
        {
            t: st.tuples(
                st.booleans(),
                st.fixed_dictionaries({r: st.sampled_from(OUTCOMES) for r in RULES}),
            )
            for t in TENANTS
        }
    ),
    deliver=st.sampled_from([True, True, True, False]),
    slack_down=st.booleans(),
    hook_down=st.booleans(),
    flush_after_outage=st.booleans(),
)


def expected(  # noqa: C901 - the contract's table, as one readable function
    route: RouteConfig, plan: list[Step]
) -> list[tuple[str, str | None, str]]:
    """CONTRACT 6 as a reference model: what the route must hear, in order."""
    told: dict[tuple[str, str], bool] = {}
    errored: set[str] = set()
    heard: list[tuple[str, str | None, str]] = []

    def tell(tenant_id: str, rule: str | None, kind: str) -> bool:
        if kind not in route.events:
            return False
        if rule is not None and not RULES[rule].at_least(route.severity_floor):
            return False
        heard.append((tenant_id, rule, kind))
        return True

    for step in plan:
        if not step.deliver:
            continue
        for tenant_id, (is_errored, outcomes) in step.tenants.items():
            if not route.wants_tenant(tenant_id):
                continue
            if is_errored and tenant_id not in errored and tell(tenant_id, None, "error"):
                errored.add(tenant_id)
            if not is_errored and tenant_id in errored and tell(tenant_id, None, "recovered"):
                errored.discard(tenant_id)
            for rule, outcome in outcomes.items():
                prior = told.get((tenant_id, rule))
                if outcome == "fail" and prior is not True:
                    kind = "new" if prior is None else "regressed"
                    if tell(tenant_id, rule, kind):
                        told[(tenant_id, rule)] = True
                elif outcome == "pass" and prior is True and tell(tenant_id, rule, "resolved"):
                    told[(tenant_id, rule)] = False
    return heard


def slack_heard(receiver: Receiver) -> list[tuple[str, str | None, str]]:
    heard = []
    for request in receiver.accepted():
        for block in request.json()["blocks"]:
            text = block.get("text", {}).get("text", "")
            if block["type"] != "section" or "tenant `" not in text:
                continue
            kind = next(v for k, v in SLACK_KINDS.items() if k in text.split(" · ")[0])
            tenant_id = text.split("tenant `", 1)[1].split("`", 1)[0]
            rule = text.split("rule `", 1)[1].split("`", 1)[0] if "rule `" in text else None
            heard.append((tenant_id, rule, kind))
    return heard


def per_key(events: list[tuple[str, str | None, str]]) -> dict[tuple[str, str | None], list[str]]:
    """Each finding's (or tenant's) sequence of kinds: the order that must be kept."""
    keyed: dict[tuple[str, str | None], list[str]] = {}
    for tenant_id, rule, kind in events:
        keyed.setdefault((tenant_id, rule), []).append(kind)
    return keyed


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=st.lists(steps, min_size=1, max_size=6))
def test_every_route_is_told_each_transition_exactly_once(
    plan: list[Step], slack_receiver: Receiver, hook_receiver: Receiver
) -> None:
    """After random runs, outages and quiet runs, routes heard each transition once, in order."""
    slack_receiver.clear()
    hook_receiver.clear()
    config = alerts_config(
        slack_route(slack_receiver.url),
        hook_route(
            hook_receiver.url,
            min_severity="high",
            tenants=["acme"],
            events=["new", "resolved", "error", "recovered"],
        ),
    )
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'state.db'}")
        try:
            runs = Runs(store)
            for step in plan:
                slack_receiver.down, hook_receiver.down = step.slack_down, step.hook_down
                report = runs.save(
                    *(
                        tenant_report(t, err, outcomes)
                        for t, (err, outcomes) in step.tenants.items()
                    )
                )
                if step.deliver:  # else a --no-alerts run: announce is not called
                    announce(report, store, config, policy=QUICK)
                slack_receiver.down = hook_receiver.down = False
                if step.flush_after_outage:
                    flush(store, config, policy=QUICK)
            assert flush(store, config, policy=QUICK).ok
        finally:
            store.close()

    slack_route_config, hook_route_config = config.routes
    for heard, route in (
        (slack_heard(slack_receiver), slack_route_config),
        (named(hook_receiver.accepted()), hook_route_config),
    ):
        want = expected(route, plan)
        assert sorted(heard, key=str) == sorted(want, key=str)  # each once, nothing else
        assert per_key(heard) == per_key(want)  # and in the order they happened
    ids = [e["id"] for r in hook_receiver.accepted() for e in r.json()["events"]]
    assert len(ids) == len(set(ids))
