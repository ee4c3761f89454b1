"""Signed webhooks as a SIEM receives them: signature, schema, stable ids, no secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING

import jsonschema
from alert_helpers import (
    FAST,
    SLACK_TOKEN,
    WEBHOOK_SECRET,
    Receiver,
    Runs,
    alerts_config,
    hook_route,
    slack_route,
)
from report.report_builders import failing, tenant

from auditor.alerts import announce, flush, send_test_reason
from auditor.alerts.webhook import payload_schema, shipped_schema

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from auditor.store import Store


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The consumer's check, exactly as the README section "Signed webhooks" writes it."""
    timestamp = headers["x-auditor-timestamp"]
    expected = hmac.new(
        secret.encode(), b"v1:" + timestamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(headers["x-auditor-signature"], f"v1={expected}")


def test_the_signature_verifies_with_the_documented_algorithm(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """Every attempt carries a fresh timestamp and a v1 HMAC that verifies; tampering fails."""
    config = alerts_config(hook_route(hook_receiver.url))
    hook_receiver.answer((500, {}))  # the retry is signed too
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)

    assert len(hook_receiver.requests) == 2
    for request in hook_receiver.requests:
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-auditor-timestamp"].isdigit()
        assert verify(WEBHOOK_SECRET, request.headers, request.body)
        assert not verify("another-secret-0123456789", request.headers, request.body)
        assert not verify(WEBHOOK_SECRET, request.headers, request.body.replace(b"acme", b"acmf"))


def test_the_payload_follows_the_shipped_schema(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """The body validates against webhook.schema.json, which is the payload model's schema."""
    assert shipped_schema() == payload_schema()
    config = alerts_config(
        hook_route(hook_receiver.url), report_url="https://audits.example.internal/r.html"
    )
    report = runs.save(tenant("acme", failing("okta_app_active", message="the app is INACTIVE")))
    announce(report, store, config, policy=FAST)

    (request,) = hook_receiver.requests
    body = request.json()
    jsonschema.Draft202012Validator(shipped_schema()).validate(body)
    assert body["schema_version"] == "1"
    assert body["run_id"] == report.run.id
    (event,) = body["events"]
    assert event["kind"] == "new"
    assert event["route"] == "siem"
    assert event["severity"] == "critical"
    assert event["message"] == "the app is INACTIVE"
    assert event["occurred_at"] == report.run.started_at
    assert event["report_url"] == "https://audits.example.internal/r.html"
    assert event["remediation"].startswith("1. In the Okta Admin Console")


def test_event_ids_are_stable_across_retries_and_flushes(
    runs: Runs, store: Store, hook_receiver: Receiver
) -> None:
    """An event that fails first and is flushed later carries the same id both times."""
    config = alerts_config(hook_route(hook_receiver.url))
    hook_receiver.down = True
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)
    hook_receiver.down = False
    flush(store, config, policy=FAST)

    ids = {r.json()["events"][0]["id"] for r in hook_receiver.requests}
    assert len(hook_receiver.requests) == FAST.retries + 2
    assert len(ids) == 1


def test_send_test_posts_a_test_message(slack_receiver: Receiver, hook_receiver: Receiver) -> None:
    """`alerts test` posts a message with the word "test" and says whether it arrived."""
    config = alerts_config(slack_route(slack_receiver.url), hook_route(hook_receiver.url))
    assert send_test_reason(config.routes[0], policy=FAST) is None
    assert send_test_reason(config.routes[1], policy=FAST) is None
    assert "test" in slack_receiver.requests[0].json()["text"]
    assert "test" in hook_receiver.requests[0].body.decode()
    assert verify(WEBHOOK_SECRET, hook_receiver.requests[0].headers, hook_receiver.requests[0].body)
    hook_receiver.down = True
    assert send_test_reason(config.routes[1], policy=FAST) is not None


def test_no_url_or_secret_in_the_store_or_the_logs(  # noqa: PLR0913, PLR0917 - fixtures
    runs: Runs,
    store: Store,
    slack_receiver: Receiver,
    hook_receiver: Receiver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After failures and deliveries, neither the SQLite file nor DEBUG logs hold URL or secret."""
    caplog.set_level(logging.DEBUG)
    config = alerts_config(slack_route(slack_receiver.url), hook_route(hook_receiver.url))
    slack_receiver.answer((500, {}), (429, {"Retry-After": "0"}))
    hook_receiver.down = True
    announce(runs.save(tenant("acme", failing("okta_app_active"))), store, config, policy=FAST)
    hook_receiver.down = False
    flush(store, config, policy=FAST)
    send_test_reason(config.routes[0], policy=FAST)
    store.close()

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert stored  # the file (and its WAL) were read
    logged = caplog.text + json.dumps([r.getMessage() for r in caplog.records])
    for secret in (SLACK_TOKEN, WEBHOOK_SECRET, "/hooks/sso-auditor", slack_receiver.url):
        assert secret.encode() not in stored
        assert secret not in logged
    assert "not everything was delivered" in caplog.text  # the logs did say something
