"""Hostile tenant text on a terminal: control and bidi characters are printed escaped.

An Okta org (or anyone in front of it) controls its error summaries and app settings; a
terminal obeys ESC, BEL, carriage returns and bidi overrides. ``audit``, ``history`` and
``diff`` must print them as visible escapes, while report.json keeps the raw values.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from cli_helpers import new_id, report

from auditor.emulator.okta import Fault
from auditor.logs import setup_logging
from auditor.report.text import terminal_safe

FAKE = "\x1b[2K\rFAKE LINE: all good\x07"
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b", "\x7f")


def assert_no_raw_controls(text: str) -> None:
    for char in RAW:
        assert char not in text, repr(char)


def test_terminal_safe_escapes_c0_c1_del_and_bidi_but_keeps_plain_text():
    """Every control and bidi character becomes a visible escape; other text is unchanged."""
    assert terminal_safe("acme: café ✓") == "acme: café ✓"
    assert terminal_safe(FAKE) == "\\x1b[2K\\x0dFAKE LINE: all good\\x07"
    assert terminal_safe("a\nb\tc\x00\x7f\x85\x9b") == "a\\x0ab\\x09c\\x00\\x7f\\x85\\x9b"
    assert terminal_safe("\u202aX\u202e\u2066\u2069") == "\\u202aX\\u202e\\u2066\\u2069"


def test_audit_summary_escapes_an_okta_error_summary(fleet, audit):
    """An errorSummary with ESC/CR/BEL is printed escaped in the verdict, raw in JSON."""
    tenant = fleet.add(new_id("esc"))
    tenant.org.faults.append(Fault.error(500, "/api/v1/apps/*/grants", summary=FAKE))
    proc, out = audit("--all")
    assert proc.returncode == 3, proc.stderr
    assert_no_raw_controls(proc.stderr)
    assert "\\x1b[2K\\x0dFAKE LINE: all good\\x07" in proc.stderr
    (only,) = report(out)["tenants"]
    assert any(FAKE in error["message"] for error in only["errors"])


def test_history_and_diff_escape_hostile_values(fleet, audit, cli):
    """A redirect URI with ESC, CR and a bidi override is escaped in history and diff."""
    tenant = fleet.add(new_id("escd"))
    audit("--all")
    hostile = "https://x.example/cb" + FAKE + "\u202e"
    tenant.org.oauth_client["redirect_uris"].append(hostile)
    audit("--all")
    for command in (["history"], ["diff"]):
        proc = cli(command, "--tenant", tenant.tenant_id)
        assert proc.returncode == 0, proc.stderr
        assert_no_raw_controls(proc.stdout)
        assert "https://x.example/cb\\x1b[2K\\x0dFAKE LINE: all good\\x07\\u202e" in proc.stdout


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_log_lines_escape_control_characters_in_the_message(fmt):
    """Human log lines escape ESC/CR/BEL from tenant data; JSON lines carry them escaped."""
    stream = io.StringIO()
    setup_logging("warning", fmt, stream=stream)
    try:
        logging.getLogger("auditor").warning("okta said %s", FAKE)
    finally:
        setup_logging("warning", "console")
    line = stream.getvalue()
    assert_no_raw_controls(line)
    if fmt == "console":
        assert "okta said \\x1b[2K\\x0dFAKE LINE: all good\\x07" in line
    else:
        assert json.loads(line)["event"] == f"okta said {FAKE}"
