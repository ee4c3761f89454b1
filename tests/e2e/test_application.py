"""The shared audit flow (``auditor.application``) without the CLI around it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from builders import HASHER
from cli_helpers import new_id, report

from auditor.application import AuditRequest, audit_and_record
from auditor.report import parse_formats
from auditor.report.destination import Destination, run_folder_name
from auditor.results import Severity
from auditor.rules import load_rule_pack

UNREACHABLE_STORE = "postgresql+psycopg://auditor:pw-Secret-123@127.0.0.1:1/auditor"


def test_one_run_is_recorded_and_written_and_nothing_is_printed(fleet, tmp_path, capsys):
    """audit_and_record returns the report, both files and exit 0, and prints nothing."""
    tenant = fleet.add(new_id("app"))
    config = fleet.config(store=f"sqlite:///{tmp_path}/state.db")
    out = tmp_path / "out"
    outcome = audit_and_record(AuditRequest(
        config, config.tenants, pack=load_rule_pack(), output=Destination.parse(str(out)),
        formats=parse_formats("json,html"), fail_on=Severity.LOW, hasher=HASHER,
        trigger="schedule",
    ))
    assert outcome.exit_code == 0
    assert outcome.store_failure is None
    run_dir = out / "runs" / run_folder_name(outcome.report.run.id, outcome.report.run.started_at)
    assert outcome.written == tuple(str(p) for p in (
        out / "report.json", out / "report.html", run_dir / "report.json", run_dir / "report.html"
    ))
    assert [t.tenant_id for t in outcome.report.tenants] == [tenant.tenant_id]
    assert report(out)["run"]["trigger"] == "schedule"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "runs"]
    assert sorted(p.name for p in run_dir.iterdir()) == ["report.html", "report.json"]
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


def test_output_that_cannot_be_written_exits_2_before_any_audit(fleet, audit, tmp_path):
    """--output naming a file: exit 2 with one line, and no run is recorded (nothing audited)."""
    fleet.add(new_id("noout"))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc, _ = audit("--all", "--output", str(blocker))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(blocker) in proc.stderr
    assert not (tmp_path / ".auditor" / "state.db").exists()  # the store was never opened


def test_no_writable_temporary_folder_exits_3_before_any_audit(
    fleet, audit, tmp_path, monkeypatch
):
    """Nowhere to spool finished tenants: exit 3 saying to set TMPDIR, nothing audited."""
    import tempfile  # noqa: PLC0415

    fleet.add(new_id("notmp"))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the temporary folder should be")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    proc, out = audit("--all")
    assert proc.returncode == 3, proc.stderr
    assert "set TMPDIR to a writable folder" in proc.stderr
    assert str(blocker) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "report.json").exists()
    assert not (tmp_path / ".auditor" / "state.db").exists()  # the store was never opened


def test_every_run_is_kept_under_runs_and_the_top_is_the_latest(fleet, audit):
    """Two audits: two folders under runs/, and the top report.json is the second run."""
    fleet.add(new_id("keep"))
    first, out = audit("--all")
    second, _ = audit("--all")
    assert (first.returncode, second.returncode) == (0, 0)
    kept = sorted((out / "runs").iterdir())
    assert len(kept) == 2
    latest = report(out)
    (this_run,) = [k for k in kept if k.name.endswith(latest["run"]["id"])]
    assert json.loads((this_run / "report.json").read_text()) == latest

