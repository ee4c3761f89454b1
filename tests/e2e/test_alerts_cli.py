"""Alerts through the CLI: ``auditor audit`` announces, ``auditor alerts`` checks and drains.

Emulated tenants (the ``fleet``), the CLI in-process, a real SQLite store file, and real
HTTP receivers on loopback: one Slack-compatible incoming webhook and one signed webhook,
each recording every request it gets. The receivers' URLs carry a fake credential in
their path, and the webhook a secret, so the tests can look for them where they must not
be.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from alerts.alert_helpers import SLACK_TOKEN, WEBHOOK_SECRET, Receiver, named, receiver_factory
from cli_helpers import cli_env, new_id, report, write_config

from auditor.demo import emulator_environment

__all__ = ["receiver_factory"]  # the fixture, imported for this module's tests

HOOK_TOKEN = "hooktok-7Gq2xVbN0pLs"  # a token in the webhook URL's path: a secret too
REDIRECT_RULE = "okta_app_signin_redirect_uri"
UNREACHABLE_STORE = "postgresql+psycopg://auditor:pw-Secret-123@127.0.0.1:1/auditor"


def trailing_slash(org: Any) -> None:
    """Okta's sign-in redirect URIs get a trailing slash: one critical failure."""
    client = org.apps[org.app_id]["settings"]["oauthClient"]
    client["redirect_uris"] = [u + "/" for u in client["redirect_uris"]]


def fix_trailing_slash(org: Any) -> None:
    """What the admin does after reading the alert."""
    client = org.apps[org.app_id]["settings"]["oauthClient"]
    client["redirect_uris"] = [u.rstrip("/") for u in client["redirect_uris"]]


def no_signout(org: Any) -> None:
    """No sign-out redirect URI: one low-severity failure."""
    org.apps[org.app_id]["settings"]["oauthClient"]["post_logout_redirect_uris"] = []


@pytest.fixture
def slack(receiver_factory: Any) -> Receiver:
    """A Slack-compatible incoming webhook on loopback."""
    return receiver_factory()


@pytest.fixture
def hook(receiver_factory: Any) -> Receiver:
    """A SIEM's signed-webhook endpoint on loopback (its URL holds a token)."""
    return receiver_factory(f"/hooks/{HOOK_TOKEN}")


def alerts_block(tmp_path: Path) -> str:
    """The store and both routes; their URLs and secret come from the environment."""
    return f"""\
store: sqlite:///{tmp_path}/state.db
alerts:
  report_url: https://audits.example.internal/latest/report.html
  routes:
    - name: oncall
      slack:
        webhook_url: ${{SLACK_URL}}
    - name: siem
      webhook:
        url: ${{HOOK_URL}}
        secret: ${{HOOK_SECRET}}
"""


def route_secrets(slack: Receiver, hook: Receiver) -> dict[str, str]:
    """The environment ``alerts_block`` reads, as the README says to keep them."""
    return {"SLACK_URL": slack.url, "HOOK_URL": hook.url, "HOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture
def alerting(cli: Any, slack: Receiver, hook: Receiver, tmp_path: Path) -> Any:
    """Run ``auditor <command> --config ... ARGS`` with both routes in the config."""
    extra = alerts_block(tmp_path)
    secrets = route_secrets(slack, hook)

    def _run(command: list[str], *args: str, env: dict[str, str | None] | None = None) -> Any:
        return cli(command, *args, extra_config=extra, env={**secrets, **(env or {})})

    return _run


def counting_failures(out: Path) -> list[tuple[str, str | None, str]]:
    """(tenant, rule, "new") for every result report.json counts as failing."""
    return sorted(
        (t["tenant_id"], r["rule_id"], "new")
        for t in report(out)["tenants"]
        for r in t["results"]
        if r["status"] == "fail" and not r.get("waived")
    )


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The README's consumer-side check, as a SIEM would run it."""
    timestamp = headers["x-auditor-timestamp"]
    signed = b"v1:" + timestamp.encode() + b":" + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-auditor-signature"], expected)


def test_first_audit_announces_each_failure_once_then_silence_then_resolved(
    fleet: Any, alerting: Any, slack: Receiver, hook: Receiver, tmp_path: Path
) -> None:
    """Run 1 tells each route each counting failure once, run 2 nothing, a fix `resolved`."""
    broken = fleet.add(new_id("alslash"), okta_change=trailing_slash)
    low = fleet.add(new_id("alsignout"), okta_change=no_signout)
    fleet.add(new_id("alok"))

    first = alerting(["audit"], "--all")
    assert first.returncode == 1, first.stderr
    assert "alerts:" not in first.stderr  # all delivered: nothing to say
    failures = counting_failures(tmp_path / "reports-out")
    assert (broken.tenant_id, REDIRECT_RULE, "new") in failures
    assert {f[0] for f in failures} == {broken.tenant_id, low.tenant_id}
    (siem_request,) = hook.requests
    assert sorted(named(hook.requests)) == failures
    assert verify(WEBHOOK_SECRET, siem_request.headers, siem_request.body)
    payload = siem_request.json()
    assert {e["report_url"] for e in payload["events"]} == {
        "https://audits.example.internal/latest/report.html"
    }
    (slack_request,) = slack.requests
    text = json.dumps(slack_request.json())
    assert broken.tenant_id in text
    assert low.tenant_id in text

    second = alerting(["audit"], "--all")
    assert second.returncode == 1, second.stderr
    assert len(hook.requests) == 1
    assert len(slack.requests) == 1

    fix_trailing_slash(broken.org)
    third = alerting(["audit"], "--all")
    assert third.returncode == 1, third.stderr  # the low failure still counts
    assert named(hook.requests[1:]) == [(broken.tenant_id, REDIRECT_RULE, "resolved")]
    assert len(slack.requests) == 2
    assert "resolved" in json.dumps(slack.requests[1].json()).lower()


def test_no_alerts_records_the_run_and_the_next_run_announces_once(
    fleet: Any, alerting: Any, slack: Receiver, hook: Receiver
) -> None:
    """--no-alerts / AUDITOR_NO_ALERTS=1 record but send nothing; the next run tells once."""
    broken = fleet.add(new_id("alquiet"), okta_change=trailing_slash)

    quiet = alerting(["audit"], "--all", "--no-alerts")
    assert quiet.returncode == 1, quiet.stderr
    assert "none sent (--no-alerts)" in quiet.stderr
    quiet_env = alerting(["audit"], "--all", env={"AUDITOR_NO_ALERTS": "1"})
    assert quiet_env.returncode == 1, quiet_env.stderr
    assert slack.requests == []
    assert hook.requests == []
    history = alerting(["history"], "--tenant", broken.tenant_id)
    assert history.stdout.count(" manual ") == 2, history.stdout  # both runs were recorded

    loud = alerting(["audit"], "--all")
    assert loud.returncode == 1, loud.stderr
    assert named(hook.requests) == [(broken.tenant_id, REDIRECT_RULE, "new")]
    assert len(slack.requests) == 1
    again = alerting(["audit"], "--all")
    assert again.returncode == 1
    assert len(hook.requests) == 1
    assert len(slack.requests) == 1


def test_bad_no_alerts_value_is_a_usage_error(fleet: Any, alerting: Any, hook: Receiver) -> None:
    """AUDITOR_NO_ALERTS=maybe is refused (exit 2) before anything is audited or sent."""
    fleet.add(new_id("almaybe"), okta_change=trailing_slash)
    proc = alerting(["audit"], "--all", env={"AUDITOR_NO_ALERTS": "maybe"})
    assert proc.returncode == 2
    assert "AUDITOR_NO_ALERTS" in proc.stderr
    assert hook.requests == []


def test_receiver_down_keeps_the_exit_code_and_flush_delivers_once(
    fleet: Any, alerting: Any, slack: Receiver, hook: Receiver
) -> None:
    """A Slack outage keeps the exit code and the events, which `alerts flush` delivers once."""
    broken = fleet.add(new_id("aldown"), okta_change=trailing_slash)
    slack.down = True

    proc = alerting(["audit"], "--all")
    assert proc.returncode == 1, proc.stderr  # as without alerts
    assert "alerts: route oncall: 1 event(s) not delivered (HTTP 503" in proc.stderr
    assert "route siem" not in proc.stderr  # the SIEM got its message
    assert len(hook.requests) == 1

    status = alerting(["alerts", "status"])
    assert status.returncode == 0, status.stderr
    assert "oncall: 1 undelivered" in status.stdout
    assert f"new       {broken.tenant_id}/{REDIRECT_RULE}" in status.stdout
    assert "siem: 0 undelivered" in status.stdout

    still_down = alerting(["alerts", "flush"])
    assert still_down.returncode == 3
    assert "route oncall" in still_down.stderr

    slack.down = False
    slack.clear()
    flushed = alerting(["alerts", "flush"])
    assert flushed.returncode == 0, flushed.stderr
    assert "1 event(s) delivered" in flushed.stdout
    (delivered,) = slack.accepted()
    assert broken.tenant_id in json.dumps(delivered.json())
    assert "oncall: 0 undelivered" in alerting(["alerts", "status"]).stdout

    assert alerting(["alerts", "flush"]).returncode == 0
    assert alerting(["audit"], "--all").returncode == 1
    assert len(slack.requests) == 1  # told once, whatever ran after
    assert len(hook.requests) == 1


def readme_verify() -> Any:
    """The ``verify`` function of the README's "Signed webhooks" section, run as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Signed webhooks"):]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README lost its verification example"
    assert len(code.group(1).strip().splitlines()) <= 10
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own README's example, under test
    return namespace["verify"]


def test_readme_example_verifies_a_real_delivery(
    fleet: Any, alerting: Any, hook: Receiver
) -> None:
    """The README's 10-line consumer check accepts the CLI's signed request, not a forged one."""
    fleet.add(new_id("alreadme"))
    assert alerting(["alerts", "test"], "--route", "siem").returncode == 0
    (request,) = hook.requests
    headers = {
        "X-Auditor-Timestamp": request.headers["x-auditor-timestamp"],
        "X-Auditor-Signature": request.headers["x-auditor-signature"],
    }
    readme_check = readme_verify()
    assert readme_check(WEBHOOK_SECRET, headers, request.body)
    assert not readme_check(WEBHOOK_SECRET, headers, request.body + b" ")
    assert not readme_check("not-the-secret-0123456789", headers, request.body)


def test_alerts_test_exit_codes(fleet: Any, alerting: Any, slack: Receiver, hook: Receiver) -> None:
    """`alerts test --route` exits 0 when taken, 3 when not, 2 naming routes for an unknown one."""
    fleet.add(new_id("altest"))
    ok = alerting(["alerts", "test"], "--route", "oncall")
    assert ok.returncode == 0, ok.stderr
    (message,) = slack.requests
    assert "test" in message.json()["text"].lower()
    signed = alerting(["alerts", "test"], "--route", "siem")
    assert signed.returncode == 0, signed.stderr
    assert verify(WEBHOOK_SECRET, hook.requests[0].headers, hook.requests[0].body)

    hook.down = True
    down = alerting(["alerts", "test"], "--route", "siem")
    assert down.returncode == 3
    assert "NOT delivered to route siem (webhook): HTTP 503" in down.stderr

    unknown = alerting(["alerts", "test"], "--route", "pager")
    assert unknown.returncode == 2
    assert "unknown route 'pager' (configured: oncall, siem)" in unknown.stderr


def test_invalid_alerts_block_exits_2_with_its_line_and_sends_nothing(
    fleet: Any, cli: Any, slack: Receiver
) -> None:
    """An invalid route name is a config error naming file and line: exit 2, no request."""
    fleet.add(new_id("albad"), okta_change=trailing_slash)
    extra = f"""\
alerts:
  routes:
    - name: On Call
      slack:
        webhook_url: {slack.url}
"""
    proc = cli(["audit"], "--all", extra_config=extra)
    assert proc.returncode == 2
    assert "auditor.yaml" in proc.stderr
    assert "line 5: alerts.routes.0.name" in proc.stderr  # the `- name: On Call` line
    assert slack.requests == []
    assert SLACK_TOKEN not in proc.stderr


def test_unrecorded_run_announces_nothing(
    fleet: Any, cli: Any, slack: Receiver
) -> None:
    """When the store cannot record the run, no route is told anything about it."""
    fleet.add(new_id("alnostore"), okta_change=trailing_slash)
    extra = f"""\
store: {UNREACHABLE_STORE}
alerts:
  routes:
    - name: oncall
      slack:
        webhook_url: {slack.url}
"""
    proc = cli(["audit"], "--all", extra_config=extra)
    assert proc.returncode == 3
    assert "NOT recorded" in proc.stderr
    assert slack.requests == []


@pytest.mark.usefixtures("debug_logs")
def test_no_url_or_secret_in_output_reports_or_store(
    fleet: Any, alerting: Any, slack: Receiver, hook: Receiver, tmp_path: Path
) -> None:
    """No webhook URL, token or secret reaches the output (debug logs), reports or store file."""
    fleet.add(new_id("alsecret"), okta_change=trailing_slash)
    debug = {"AUDITOR_LOG_LEVEL": "debug"}
    slack.down = True
    outputs = [alerting(["audit"], "--all", env=debug)]
    slack.down = False
    outputs += [
        alerting(["alerts", "status"], env=debug),
        alerting(["alerts", "flush"], env=debug),
        alerting(["alerts", "test"], "--route", "siem", env=debug),
    ]
    assert outputs[2].returncode == 0, outputs[2].stderr
    assert len(slack.accepted()) == 1  # the flush really posted through the same client
    out = tmp_path / "reports-out"
    places = {
        "report.json": (out / "report.json").read_bytes(),
        "report.html": (out / "report.html").read_bytes(),
        "store": (tmp_path / "state.db").read_bytes(),
    }
    for i, ran in enumerate(outputs):
        places[f"stdout {i}"] = ran.stdout.encode()
        places[f"stderr {i}"] = ran.stderr.encode()
    assert "DEBUG" in outputs[0].stderr  # the debug logs really were on
    port = str(slack.server.server_address[1])
    for secret in (SLACK_TOKEN, HOOK_TOKEN, WEBHOOK_SECRET, slack.url, hook.url, port):
        for where, data in places.items():
            if secret == port and where == "store":
                continue  # a port number is a few digits: the SQLite pages may hold them
            assert secret.encode() not in data, f"{secret!r} leaked into {where}"


def test_demo_posts_its_second_run_to_a_local_slack_and_shows_it(run_auditor: Any) -> None:
    """`auditor demo` sends run 2's five new failures to its loopback Slack and prints them."""
    proc = run_auditor(["demo"], {"AWS_ACCESS_KEY_ID": None, "AWS_ENDPOINT_URL": None})
    assert proc.returncode == 0, proc.stderr
    shown = proc.stderr[proc.stderr.index("demo: run 2"):]
    assert "demo: Slack message 1 of 1, as the channel would show it:" in shown
    assert "  | SSO audit: 5 new" in shown
    for tenant in ("globex", "initech", "umbrella", "hooli", "stark"):
        assert f"tenant `{tenant}`" in shown
    assert "tenant `acme`" not in shown  # compliant: nothing to say
    assert "alerts:" not in proc.stderr  # everything was delivered
    assert "/services/TDEMO" not in proc.stderr  # the receiver's URL is its credential


def test_schedule_no_alerts_records_and_tells_nobody_until_a_normal_run(  # noqa: PLR0913, PLR0917 - fixtures
    fleet: Any, moto_cognito: Any, alerting: Any, slack: Receiver, hook: Receiver, tmp_path: Path
) -> None:
    """`schedule --now --no-alerts` (a real process) records its run and posts nothing."""
    broken = fleet.add(new_id("alsched"), okta_change=trailing_slash)
    config = tmp_path / "auditor.yaml"
    extra = alerts_block(tmp_path) + "schedule: {cron: '0 3 1 1 *'}"
    tokens = write_config(fleet, config, extra=extra)
    env = cli_env({**emulator_environment(moto_cognito), **tokens, **route_secrets(slack, hook)})
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "auditor", "schedule", "--now", "--no-alerts",
         "--config", str(config)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("alerts:" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=5)
    stderr = "".join(lines)
    assert proc.returncode == 0, stderr
    assert "none sent (--no-alerts)" in stderr
    assert slack.requests == []
    assert hook.requests == []

    assert alerting(["audit"], "--all").returncode == 1  # the run above was recorded...
    assert named(hook.requests) == [(broken.tenant_id, REDIRECT_RULE, "new")]  # ...told now
    assert len(slack.requests) == 1
