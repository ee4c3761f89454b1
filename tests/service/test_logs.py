"""Structured logs (issue 8): JSON lines with run and tenant ids, and no secret on any line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import pytest
import structlog

from auditor import logs
from auditor.collect.secrets import SecretHasher
from auditor.collect.tenant import collect_tenant
from auditor.demo import Fleet
from auditor.emulator.okta import Fault

# Markers planted where secrets live; none may appear on any line.
SSWS = "00MARKERsswsTokenValue0123456789abcdef"
JWT = "eyJhbGciOiJSUzI1NiJ9.MARKERjwtPayload.c2lnbmF0dXJl"
CLIENT_SECRET = "MARKERclientSecret-abcdefghijklmnop"
SLACK = "https://hooks.slack.com/services/T000/B000/MARKERslackPath"
HMAC_KEY = "MARKERhmacKeyNoShape"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvMARKERprivateKeyBody\nAAAA\n-----END PRIVATE KEY-----"
)
MARKERS = ("MARKER",)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line written, each parsed as one JSON object (fails on anything else)."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_no_marker(stream: io.StringIO) -> None:
    text = stream.getvalue()
    for marker in MARKERS:
        assert marker not in text, next(line for line in text.splitlines() if marker in line)


def test_every_line_is_json_and_carries_the_run_and_tenant_ids() -> None:
    """Stdlib and structlog loggers alike write one JSON object a line, with the bound ids."""
    out = io.StringIO()
    logs.setup_logging("debug", "json", stream=out)
    with logs.bind_run("run-42"):
        logging.getLogger("auditor.collect").debug("collected %d sections", 10)
        with logs.bind_tenant("acme"):
            logging.getLogger("auditor.rules").warning("rule skipped", extra={"rule": "r1"})
            structlog.stdlib.get_logger("auditor.x").info("evaluated", results=19)
    logging.getLogger("auditor").warning("after the run")
    got = lines(out)
    assert [line["event"] for line in got] == [
        "collected 10 sections", "rule skipped", "evaluated", "after the run",
    ]
    assert [line.get("run_id") for line in got] == ["run-42"] * 3 + [None]
    assert [line.get("tenant_id") for line in got] == [None, "acme", "acme", None]
    assert got[1]["rule"] == "r1"
    assert got[2]["results"] == 19
    assert {"timestamp", "level", "logger"} <= got[0].keys()
    assert got[1]["level"] == "warning"


def test_tenant_ids_stay_with_their_own_tasks() -> None:
    """Concurrent tenants' tasks each log their own tenant_id, never a neighbour's."""
    out = io.StringIO()
    logs.setup_logging("info", "json", stream=out)
    log = logging.getLogger("auditor.collect")

    async def tenant(tenant_id: str) -> None:
        with logs.bind_tenant(tenant_id):
            for step in range(3):
                log.info("step %d of %s", step, tenant_id)
                await asyncio.sleep(0)
                await asyncio.to_thread(log.info, "thread step of %s", tenant_id)

    async def run() -> None:
        with logs.bind_run("run-1"):
            await asyncio.gather(*(tenant(t) for t in ("acme", "beta", "gamma")))

    asyncio.run(run())
    got = lines(out)
    assert len(got) == 18
    for line in got:
        assert line["event"].endswith(f"of {line['tenant_id']}")
        assert line["run_id"] == "run-1"


def crash() -> None:
    raise RuntimeError(f"collector crashed holding SSWS {SSWS} and {PRIVATE_KEY}")


def test_planted_secrets_never_reach_a_line() -> None:
    """Secrets in messages, args, extras, fields, nested values and tracebacks are scrubbed."""
    out = io.StringIO()
    logs.setup_logging("debug", "json", stream=out)
    logs.register_secret(HMAC_KEY)
    log = logging.getLogger("auditor.test")
    log.debug("okta call with Authorization: SSWS %s", SSWS)
    log.debug("headers %s", {"Authorization": f"Bearer {JWT}", "Accept": "application/json"})
    log.info("body client_secret=%s&grant_type=client_credentials", CLIENT_SECRET)
    log.info('json {"client_secret": "%s", "ok": true}', CLIENT_SECRET)
    log.warning("posting to %s failed", SLACK)
    log.warning("key file read: %s", PRIVATE_KEY)
    log.error("signature check with %s", HMAC_KEY)
    log.info("extra carries it", extra={"token": SSWS, "route": {"webhook_url": SLACK}})
    structlog.stdlib.get_logger("auditor.test").info(
        "fields", client_secret=CLIENT_SECRET, nested=[{"url": SLACK}], note=f"Bearer {JWT}"
    )
    try:
        crash()
    except RuntimeError:
        log.exception("tenant failed")
    got = lines(out)
    assert len(got) == 10
    assert_no_marker(out)
    # Scrubbed, not dropped: the line still says what happened.
    assert got[0]["event"] == "okta call with Authorization: [REDACTED]"
    assert got[2]["event"] == "body client_secret=[REDACTED]&grant_type=client_credentials"
    assert got[4]["event"] == "posting to https://hooks.slack.com/[REDACTED] failed"
    assert "RuntimeError: collector crashed" in got[-1]["exception"]


def test_console_lines_on_a_terminal_are_scrubbed_too() -> None:
    """The human format (what a terminal gets) goes through the same redaction."""
    out = io.StringIO()
    logs.setup_logging("debug", "console", stream=out)
    with logs.bind_run("run-7"):
        logging.getLogger("auditor.test").warning("token=%s at %s", SSWS, SLACK)
    text = out.getvalue()
    assert "run_id=run-7" in text
    assert "token=[REDACTED]" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])
    assert_no_marker(out)


def test_auto_format_is_json_off_a_terminal_and_console_on_one() -> None:
    """A pipe gets JSON lines; a stream that says it is a terminal gets human lines."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, terminal = io.StringIO(), Terminal()
    for stream in (piped, terminal):
        logs.setup_logging("warning", "auto", stream=stream)
        logging.getLogger("auditor").warning("hello")
    assert json.loads(piped.getvalue())["event"] == "hello"
    assert "hello" in terminal.getvalue()
    assert not terminal.getvalue().lstrip().startswith("{")


def test_run_lines_show_at_the_default_level_and_module_info_does_not() -> None:
    """At warning, auditor.run's start/end lines show; other info lines and SDK debug do not."""
    out = io.StringIO()
    logs.setup_logging("warning", "json", stream=out)
    logs.run_log().info("run finished", extra={"tenants": 3})
    logging.getLogger("auditor.collect").info("hidden")
    logging.getLogger("botocore").info("hidden too")
    assert [(line["event"], line["tenants"]) for line in lines(out)] == [("run finished", 3)]

    logs.setup_logging("debug", "json", stream=out)
    for name in logs.SDK_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING

    quiet = io.StringIO()
    logs.setup_logging("error", "json", stream=quiet)
    logs.run_log().info("run finished")
    assert quiet.getvalue() == ""


def test_a_bad_level_or_format_is_refused() -> None:
    """Unknown level or format names are errors saying the choices."""
    with pytest.raises(ValueError, match="debug, info, warning or error"):
        logs.setup_logging("verbose")
    with pytest.raises(ValueError, match="auto, json, console"):
        logs.setup_logging("info", "xml")  # type: ignore[arg-type]


def test_setting_up_again_replaces_the_handler_instead_of_adding_one() -> None:
    """After a second set-up, each line is written once, to the new stream only."""
    first, second = io.StringIO(), io.StringIO()
    logs.setup_logging("warning", "json", stream=first)
    logs.setup_logging("warning", "json", stream=second)
    logging.getLogger("auditor").warning("once")
    assert first.getvalue() == ""
    assert [line["event"] for line in lines(second)] == ["once"]


@pytest.fixture
def fleet(okta_emulator, cognito_env, monkeypatch) -> Fleet:
    """An empty fleet on the session's emulators, with boto3 pointed at moto."""
    monkeypatch.setenv("AUDITOR_ALLOW_HTTP_LOOPBACK", "1")
    return Fleet(okta=okta_emulator, cognito=cognito_env, base_domain="rapticore.io", tenants=[])


@pytest.mark.slow
def test_a_real_collection_at_debug_with_sdk_loggers_forced_on_leaks_no_secret(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant collected (a 429 and a 500 on the way) at debug, SDK debug on: no secret."""
    aws_secret = "MARKERawsSecretAccessKey0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", aws_secret)
    tenant = fleet.add("logleak")
    tenant.org.faults.append(Fault.rate_limited("/api/v1/apps/*/grants", times=1))
    tenant.org.faults.append(Fault.error(500, "/api/v1/apps/*/credentials/secrets"))
    secrets = {tenant.org.token, tenant.org.client_secret, aws_secret}

    out = io.StringIO()
    logs.setup_logging("debug", "json", stream=out)
    # Worse than any real setting: the SDKs' request/response debug output switched on.
    for name in ("botocore", "urllib3", "aiohttp"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with logs.bind_run("run-leak"), logs.bind_tenant(tenant.tenant_id):
        logging.getLogger("auditor.test").debug("config %r", tenant.config())
        snapshot = asyncio.run(
            collect_tenant(tenant.config(), "rapticore.io", SecretHasher(b"k" * 32))
        )
    assert any(e.source == "okta" for e in snapshot.errors)  # the 500 was met
    got = lines(out)
    assert len(got) > 20  # the SDKs really talked (botocore logs every request)
    assert any("Signature=[REDACTED]" in json.dumps(line) for line in got)
    text = out.getvalue()
    for secret in secrets:
        assert secret not in text
    assert "MARKER" not in text
    assert {line.get("tenant_id") for line in got} == {"logleak"}
