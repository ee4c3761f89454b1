"""The shared audit flow (``auditor.application``) without the CLI around it."""

from __future__ import annotations

import dataclasses

import pytest
from builders import HASHER
from cli_helpers import new_id, report

from auditor.application import AuditRequest, audit_and_record
from auditor.report import parse_formats
from auditor.results import Severity
from auditor.rules import load_rule_pack

UNREACHABLE_STORE = "postgresql+psycopg://auditor:pw-Secret-123@127.0.0.1:1/auditor"


def test_one_run_is_recorded_and_written_and_nothing_is_printed(fleet, tmp_path, capsys):
    """audit_and_record returns the report, both files and exit 0, and prints nothing."""
    tenant = fleet.add(new_id("app"))
    config = fleet.config(store=f"sqlite:///{tmp_path}/state.db")
    out = tmp_path / "out"
    outcome = audit_and_record(AuditRequest(
        config, config.tenants, pack=load_rule_pack(), output=out,
        formats=parse_formats("json,html"), fail_on=Severity.LOW, hasher=HASHER,
        trigger="schedule",
    ))
    assert outcome.exit_code == 0
    assert outcome.store_failure is None
    assert outcome.written == (out / "report.json", out / "report.html")
    assert [t.tenant_id for t in outcome.report.tenants] == [tenant.tenant_id]
    assert report(out)["run"]["trigger"] == "schedule"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]  # no .partial
    assert capsys.readouterr() == ("", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.exit_code = 1  # type: ignore[misc]


def test_unreachable_store_still_writes_the_reports_and_exits_3(fleet, audit):
    """A store that cannot be reached: reports written, the run said to be unkept, exit 3."""
    fleet.add(new_id("nostore"))
    proc, out = audit("--all", extra_config=f"store: {UNREACHABLE_STORE}")
    assert proc.returncode == 3
    assert "the run was NOT recorded in the store" in proc.stderr
    assert report(out)["summary"]["passed"] == 1
    assert "pw-Secret-123" not in proc.stderr
