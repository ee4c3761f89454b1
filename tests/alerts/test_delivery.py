"""End to end: runs saved in a real SQLite store, announced to real loopback receivers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from alert_helpers import (
    FAST,
    Receiver,
    Runs,
    alerts_config,
    free_port_url,
    hook_route,
    named,
    slack_route,
)
from report.report_builders import failing, tenant, waiver

from auditor.alerts import DeliveryPolicy, announce, flush, pending, status_lines
from auditor.alerts.delivery import retry_after_seconds
from auditor.results import ResultStatus, TenantError
from auditor.store import AlertStore

if TYPE_CHECKING:
    from auditor.store import Store

COGNITO_DOWN = [TenantError(source="cognito", message="AccessDeniedException: DescribeUserPool")]


def cognito_errors() -> list:
    """Every Cognito rule as could-not-evaluate (what a Cognito outage produces)."""
    return [
        failing(rule_id, status=ResultStatus.ERROR, message="Cognito could not be read")
        for rule_id in (
            "cognito_idp_exists",
            "cognito_idp_client_id_matches",
            "cognito_idp_issuer_matches",
        )
    ]


def slack_named(requests: list) -> list[tuple[str, str]]:
    """(tenant, rule) pairs named in Slack messages' sections, in order."""
    found = []
    for request in requests:
        for block in request.json()["blocks"]:
            text = block.get("text", {}).get("text", "")
            if block["type"] == "section" and "tenant `" in text:
                tenant_id = text.split("tenant `", 1)[1].split("`", 1)[0]
                rule = text.split("rule `", 1)[1].split("`", 1)[0] if "rule `" in text else ""
                found.append((tenant_id, rule))
    return found


def test_first_run_announces_each_counting_failure_once(
    runs: Runs, store: Store, slack_receiver: Receiver, hook_receiver: Receiver
) -> None:
    """A first run posts one Slack message and one webhook naming each counting failure once."""
    config = alerts_config(slack_route(slack_receiver.url), hook_route(hook_receiver.url))
    report = runs.save(
        tenant("acme", failing("okta_app_active"), failing("cognito_idp_scopes")),
        tenant("globex", failing("okta_app_assigned", waiver=waiver())),  # waived: silent
        tenant("hooli"),
    )

    result = announce(report, store, config, policy=FAST)

    assert result.ok
    assert result.summary() is None
    assert len(slack_receiver.requests) == 1
    assert sorted(slack_named(slack_receiver.requests)) == [
        ("acme", "cognito_idp_scopes"),
        ("acme", "okta_app_active"),
    ]
    assert len(hook_receiver.requests) == 1
    assert sorted(named(hook_receiver.requests)) == [
        ("acme", "cognito_idp_scopes", "new"),
        ("acme", "okta_app_active", "new"),
    ]


def test_an_identical_run_sends_no_request(
    runs: Runs, store: Store, slack_receiver: Receiver, hook_receiver: Receiver
) -> None:
    """A second run with the same failures sends no request at all to either route."""
    config = alerts_config(slack_route(slack_receiver.url), hook_route(hook_receiver.url))
    acme = tenant("acme", failing("okta_app_active"))
    announce(runs.save(acme), store, config, policy=FAST)
    slack_receiver.clear()
    hook_receiver.clear()

    result = announce(runs.save(acme), store, config, policy=FAST)

    assert slack_receiver.requests == []
    assert hook_receiver.requests == []
    assert result.ok


def test_a_fix_sends_resolved(runs: Runs, store: Store, hook_receiver: Receiver) -> None:
    """When a failure the route was told about passes, the route gets one resolved event."""
    config = alerts_config(hook_route(hook_receiver.url))
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)
    hook_receiver.clear()

    announce(runs.save(tenant("acme")), store, config, policy=FAST)

    assert named(hook_receiver.requests) == [("acme", "okta_app_active", "resolved")]


def test_error_then_recovery_sends_error_recovered_and_nothing_else(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """A tenant that errors and recovers with its old failure gets error, recovered, no new."""
    config = alerts_config(hook_route(hook_receiver.url))
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)
    hook_receiver.clear()

    erroring = tenant("acme", failing("okta_app_active"), *cognito_errors(), errors=COGNITO_DOWN)
    announce(runs.save(erroring), store, config, policy=FAST)
    announce(runs.save(erroring), store, config, policy=FAST)  # still erroring: silent
    recovered = tenant("acme", failing("okta_app_active"))
    announce(runs.save(recovered), store, config, policy=FAST)
    announce(runs.save(recovered), store, config, policy=FAST)

    assert named(hook_receiver.requests) == [
        ("acme", None, "error"),
        ("acme", None, "recovered"),
    ]


def test_a_failure_hidden_by_an_error_is_not_resolved(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """A failing Cognito rule that becomes `error` is not resolved; fixed later, it is."""
    config = alerts_config(hook_route(hook_receiver.url))
    announce(runs.save(tenant("acme", failing("cognito_idp_exists"))), store, config, policy=FAST)
    erroring = tenant("acme", *cognito_errors(), errors=COGNITO_DOWN)
    announce(runs.save(erroring), store, config, policy=FAST)
    announce(runs.save(tenant("acme")), store, config, policy=FAST)

    assert named(hook_receiver.requests) == [
        ("acme", "cognito_idp_exists", "new"),
        ("acme", None, "error"),
        ("acme", None, "recovered"),
        ("acme", "cognito_idp_exists", "resolved"),
    ]


def test_500_twice_then_200_delivers_exactly_once(
    runs: Runs, store: Store, slack_receiver: Receiver
) -> None:
    """A Slack receiver answering 500, 500, 200 gets the message once (retries, no repeat)."""
    config = alerts_config(slack_route(slack_receiver.url))
    slack_receiver.answer((500, {}), (500, {}))

    result = announce(
        runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST
    )

    statuses = [r.headers["x-test-status"] for r in slack_receiver.requests]
    assert statuses == ["500", "500", "200"]
    assert len(slack_receiver.accepted()) == 1
    assert result.ok
    assert result.delivered == 1
    # Nothing left to re-send: the next run and a flush are silent.
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)
    assert flush(store, config, policy=FAST).ok
    assert len(slack_receiver.requests) == 3


def test_a_receiver_that_is_down_keeps_events_until_a_later_run(
    runs: Runs, store: Store, receiver_factory
) -> None:
    """Events for a down receiver stay in the outbox, are reported, and go out once later."""
    down_url = free_port_url()
    config = alerts_config(slack_route(down_url))
    result = announce(
        runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST
    )

    assert not result.ok
    assert result.undelivered == 1
    assert "oncall: 1" in (result.summary() or "")
    assert "connection failed" in (result.summary() or "")
    assert [e.record.rule_id for e in pending(store, config)["oncall"]] == ["okta_app_active"]

    # The receiver comes back on another port: same route name, new URL in the config.
    receiver = receiver_factory()
    config = alerts_config(slack_route(receiver.url))
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)

    assert len(receiver.requests) == 1
    assert slack_named(receiver.requests) == [("acme", "okta_app_active")]
    assert pending(store, config) == {"oncall": []}


def test_flush_delivers_the_outbox_once(runs: Runs, store: Store, hook_receiver: Receiver) -> None:
    """`flush` after an outage delivers the pending events once; a second flush sends nothing."""
    config = alerts_config(hook_route(hook_receiver.url))
    hook_receiver.down = True
    first = announce(
        runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST
    )
    assert first.undelivered == 1
    assert "HTTP 503" in (first.summary() or "")
    hook_receiver.down = False
    hook_receiver.clear()

    assert flush(store, config, policy=FAST).ok
    assert flush(store, config, policy=FAST).ok
    assert named(hook_receiver.requests) == [("acme", "okta_app_active", "new")]


def test_429_retry_after_is_honoured(
    runs: Runs, store: Store, slack_receiver: Receiver, hook_receiver: Receiver
) -> None:
    """After a 429 with Retry-After: 1, both clients wait at least a second before retrying."""
    config = alerts_config(slack_route(slack_receiver.url), hook_route(hook_receiver.url))
    slack_receiver.answer((429, {"Retry-After": "1"}))
    hook_receiver.answer((429, {"Retry-After": "1"}))

    result = announce(
        runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST
    )

    assert result.ok
    for receiver in (slack_receiver, hook_receiver):
        first, second = receiver.requests
        assert first.headers["x-test-status"] == "429"
        assert second.at - first.at >= 0.95
        assert first.body == second.body  # a retry repeats the same message


def test_a_too_long_retry_after_leaves_the_event_for_later(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """A Retry-After beyond the policy's limit is not waited out: the event stays pending."""
    config = alerts_config(hook_route(hook_receiver.url))
    hook_receiver.answer((429, {"Retry-After": "3600"}))

    result = announce(
        runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST
    )

    assert len(hook_receiver.requests) == 1
    assert result.undelivered == 1
    assert "Retry-After" in (result.summary() or "")
    assert flush(store, config, policy=FAST).ok


def test_a_new_route_hears_the_current_failures(runs: Runs, store: Store, receiver_factory) -> None:
    """A route added later is told the failures that already existed, once."""
    old = receiver_factory("/old")
    announce(
        runs.save(tenant("acme", failing("okta_app_active"))),
        store,
        alerts_config(hook_route(old.url, name="old")),
        policy=FAST,
    )
    new = receiver_factory("/new")
    both = alerts_config(hook_route(old.url, name="old"), hook_route(new.url, name="new"))

    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, both, policy=FAST)

    assert len(old.requests) == 1
    assert named(new.requests) == [("acme", "okta_app_active", "new")]


def test_reannouncing_the_same_run_sends_nothing(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """Announcing a run twice (a restart after recording) sends each event once."""
    config = alerts_config(hook_route(hook_receiver.url))
    report = runs.save(tenant("acme", failing("okta_app_active")))
    announce(report, store, config, policy=FAST)
    announce(report, store, config, policy=FAST)
    assert len(hook_receiver.requests) == 1


def test_an_unsaved_run_is_not_announced(store: Store, hook_receiver: Receiver) -> None:
    """Announcing a run that was never saved records nothing and says so (no exception)."""
    from report.report_builders import run_of  # noqa: PLC0415

    config = alerts_config(hook_route(hook_receiver.url))
    result = announce(run_of(tenant("acme", failing("okta_app_active"))), store, config)

    assert not result.ok
    assert "UnknownRun" in (result.summary() or "")
    assert hook_receiver.requests == []


def test_a_route_another_process_is_delivering_is_left_alone(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """While another process's claim on a route is live, flush sends nothing; after it, once."""
    config = alerts_config(hook_route(hook_receiver.url))
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)
    hook_receiver.clear()
    report = runs.save(tenant("acme"))
    # Record the fix, then let "another process" claim the route before we deliver.
    hook_receiver.down = True
    announce(report, store, config, policy=FAST)
    hook_receiver.down = False
    hook_receiver.clear()
    alerts = AlertStore(store)
    now = datetime.now(UTC)
    assert alerts.claim("siem", owner="other", until=now + timedelta(minutes=5), now=now)

    busy = flush(store, config, policy=FAST)
    assert hook_receiver.requests == []
    assert "another process" in (busy.summary() or "")

    alerts.release("siem", owner="other")
    assert flush(store, config, policy=FAST).ok
    assert named(hook_receiver.requests) == [("acme", "okta_app_active", "resolved")]


def test_status_lists_undelivered_events_per_route(
    runs: Runs, store: Store, slack_receiver: Receiver, hook_receiver: Receiver
) -> None:
    """`alerts status` names each route, and each undelivered event with its last error."""
    config = alerts_config(slack_route(slack_receiver.url), hook_route(hook_receiver.url))
    hook_receiver.down = True
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)

    assert status_lines(pending(store, config)) == [
        "oncall: 0 undelivered",
        "siem: 1 undelivered",
        "  new       acme/okta_app_active  run run-001  (1 attempt(s), last: HTTP 503)",
    ]


def test_a_hanging_receiver_does_not_hold_the_audit(
    runs: Runs, store: Store, slack_receiver: Receiver, hook_receiver: Receiver
) -> None:
    """Receivers that never answer in time cost the request timeouts, then wait in the outbox."""
    config = alerts_config(slack_route(slack_receiver.url), hook_route(hook_receiver.url))
    slack_receiver.delay = hook_receiver.delay = 5
    policy = DeliveryPolicy(request_timeout=1, retries=1, backoff=0.05, deadline=10)
    report = runs.save(tenant("acme", failing("okta_app_active")))

    started = time.monotonic()
    result = announce(report, store, config, policy=policy)
    elapsed = time.monotonic() - started

    assert elapsed < 4  # two 1 s attempts per route, routes in parallel
    assert result.undelivered == 2
    assert "timed out" in (result.summary() or "")


def test_retry_after_may_be_an_http_date() -> None:
    """Retry-After as delta-seconds or an HTTP date both give the seconds to wait."""
    now = datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now=now) == 3
    assert retry_after_seconds("Wed, 01 Jan 2025 02:00:07 GMT", now=now) == 7
    assert retry_after_seconds("soon", now=now) is None
