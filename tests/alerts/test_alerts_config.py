"""The config's `alerts:` block: what loads, and how each mistake is reported (exit 2)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from auditor.config import load_config, load_config_with_lines
from auditor.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

HOOK = "https://hooks.slack.com/services/T0/B0/SecretHookToken"
BASE = """\
version: 1
tenants:
  - id: acme
    okta:
      org_url: https://acme.okta.com
      token: tok
    cognito:
      region: us-east-1
      user_pool_id: us-east-1_AbCdEf
      provider_name: Okta
"""


def write(tmp_path: Path, alerts: str) -> Path:
    path = tmp_path / "auditor.yaml"
    path.write_text(BASE + textwrap.dedent(alerts), encoding="utf-8")
    return path


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_config_with_lines(path)
    return info.value


def test_the_contract_example_loads_with_secrets_held_secret(tmp_path, monkeypatch):
    """CONTRACT 6's example loads; the Slack URL and HMAC key come from the environment, hidden."""
    monkeypatch.setenv("SLACK_WEBHOOK_ONCALL", HOOK)
    monkeypatch.setenv("AUDITOR_WEBHOOK_SECRET", "hmac-key-0123456789abcdef")
    config = load_config(
        write(
            tmp_path,
            """\
            alerts:
              report_url: https://audits.example.internal/latest/report.html
              reminder_days: 7
              routes:
                - name: security-oncall
                  slack:
                    webhook_url: ${SLACK_WEBHOOK_ONCALL}
                  min_severity: high
                  tenants: ["*"]
                  events: [new, regressed, resolved, error, recovered, reminder]
                - name: siem
                  webhook:
                    url: https://siem.example.com/hooks/sso-auditor
                    secret: ${AUDITOR_WEBHOOK_SECRET}
            """,
        )
    )
    assert config.alerts is not None
    oncall, siem = config.alerts.routes
    assert oncall.min_severity == "high"
    assert oncall.kind == "slack"
    assert siem.kind == "webhook"
    assert siem.min_severity == "low"
    assert siem.events == ["new", "regressed", "resolved", "error", "recovered", "reminder"]
    dumped = repr(config) + config.model_dump_json()
    assert "SecretHookToken" not in dumped
    assert "hmac-key" not in dumped


@pytest.mark.parametrize(
    ("alerts", "line", "words"),
    [
        (
            """\
            alerts:
              routes:
                - name: Oncall
                  slack: {webhook_url: https://hooks.slack.com/x}
            """,
            13,
            "name",
        ),
        (
            """\
            alerts:
              routes:
                - name: a
                  slack: {webhook_url: https://hooks.slack.com/x}
                - name: a
                  slack: {webhook_url: https://hooks.slack.com/y}
            """,
            12,
            "appears twice",
        ),
        (
            """\
            alerts:
              routes:
                - name: a
                  min_severity: urgent
                  slack: {webhook_url: https://hooks.slack.com/x}
            """,
            14,
            "min_severity",
        ),
        (
            """\
            alerts:
              routes:
                - name: a
                  events: [new, fixed]
                  slack: {webhook_url: https://hooks.slack.com/x}
            """,
            14,
            "events",
        ),
        (
            """\
            alerts:
              routes:
                - name: a
                  slack: {webhook_url: https://hooks.slack.com/x}
                  webhook: {url: https://siem.example.com/h, secret: 0123456789abcdef}
            """,
            13,
            "exactly one",
        ),
        (
            """\
            alerts:
              routes:
                - name: a
                  slak: {webhook_url: https://hooks.slack.com/x}
            """,
            14,
            "unknown key 'slak'",
        ),
        (
            """\
            alerts:
              reminder_days: "7"
              routes:
                - name: a
                  slack: {webhook_url: https://hooks.slack.com/x}
            """,
            12,
            "reminder_days",
        ),
    ],
)
def test_an_invalid_alerts_block_is_a_config_error_with_its_line(tmp_path, alerts, line, words):
    """Each mistake in `alerts:` is an InputError (exit 2) naming the line and the problem."""
    err = error_of(write(tmp_path, alerts))
    assert err.line == line
    assert words in err.message


def test_a_plain_http_destination_is_refused_without_quoting_it(tmp_path, monkeypatch):
    """http:// destinations are refused (loopback only with the env flag); errors hide the path."""
    monkeypatch.delenv("AUDITOR_ALLOW_HTTP_LOOPBACK", raising=False)
    path = write(
        tmp_path,
        """\
        alerts:
          routes:
            - name: a
              slack: {webhook_url: "http://hooks.slack.com/services/T0/B0/SecretHookToken"}
        """,
    )
    err = error_of(path)
    assert err.line == 14
    assert "https" in err.message
    assert "SecretHookToken" not in str(err)

    loopback = write(
        tmp_path,
        """\
        alerts:
          routes:
            - name: a
              webhook: {url: "http://127.0.0.1:9/hook", secret: 0123456789abcdef}
        """,
    )
    assert "AUDITOR_ALLOW_HTTP_LOOPBACK" in error_of(loopback).message
    monkeypatch.setenv("AUDITOR_ALLOW_HTTP_LOOPBACK", "1")
    assert load_config(loopback).alerts is not None
