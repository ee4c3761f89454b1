"""The ``auditor`` command as a user runs it, against the local emulators.

The emulators run in this test process; the CLI reaches them over loopback with a config
file and environment variables, exactly as it would reach Okta and AWS. Most tests call
``main(argv)`` in-process; the last ones start a real process where the process matters.
"""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import new_id, report, run_cli

from auditor.emulator.okta import Fault

HEAVY = {"sqlalchemy", "okta", "boto3", "botocore", "moto", "aiohttp", "jinja2", "alembic"}


def test_compliant_tenant_exits_0_with_both_reports(fleet, audit):
    """A compliant tenant passes every rule: exit 0, report.json and report.html written."""
    tenant = fleet.add(new_id("ok"))
    proc, out = audit("--all")
    assert proc.returncode == 0, proc.stderr
    data = report(out)
    assert data["summary"] == {
        "tenants": 1, "passed": 1, "failed": 0, "errored": 0, "waived": 0
    }
    (only,) = data["tenants"]
    assert only["tenant_id"] == tenant.tenant_id
    assert {r["status"] for r in only["results"]} == {"pass"}
    assert len(only["results"]) == 19
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert "1 passed" in proc.stderr


def test_failing_rule_exits_1_and_names_the_difference(fleet, audit):
    """A trailing-slash redirect URI fails its rule, exit 1, and the message says why."""

    def trailing_slash(org):
        client = org.apps[org.app_id]["settings"]["oauthClient"]
        client["redirect_uris"] = [u + "/" for u in client["redirect_uris"]]

    tenant = fleet.add(new_id("slash"), okta_change=trailing_slash)
    proc, out = audit("--tenant", tenant.tenant_id)
    assert proc.returncode == 1, proc.stderr
    results = {r["rule_id"]: r for r in report(out)["tenants"][0]["results"]}
    failed = results["okta_app_signin_redirect_uri"]
    assert failed["status"] == "fail"
    assert "trailing slash" in failed["message"]
    assert failed["severity"] == "critical"
    assert "Sign-in redirect URIs" in failed["remediation"]
    assert f"FAIL  {tenant.tenant_id}" in proc.stderr


def test_fail_on_ignores_lower_severities(fleet, audit):
    """A low-severity failure (sign-out URI) exits 1 by default and 0 with --fail-on high."""

    def no_signout(org):
        org.apps[org.app_id]["settings"]["oauthClient"]["post_logout_redirect_uris"] = []

    fleet.add(new_id("signout"), okta_change=no_signout)
    proc, _ = audit("--all")
    assert proc.returncode == 1, proc.stderr
    proc, _ = audit("--all", "--fail-on", "high")
    assert proc.returncode == 0, proc.stderr
    proc, _ = audit("--all", env={"AUDITOR_FAIL_ON": "HIGH"})
    assert proc.returncode == 0, proc.stderr


def test_collection_error_exits_3_and_other_tenants_are_still_audited(fleet, audit):
    """One tenant's Okta 500s: it is `error` with the reason; the other tenant is audited."""
    broken = fleet.add(new_id("broken"))
    broken.org.faults.append(Fault.error(500, "/api/v1/apps/*/grants"))
    healthy = fleet.add(new_id("healthy"))
    proc, out = audit("--all")
    assert proc.returncode == 3, proc.stderr
    tenants = {t["tenant_id"]: t for t in report(out)["tenants"]}
    assert tenants[healthy.tenant_id]["status"] == "pass"
    bad = tenants[broken.tenant_id]
    assert bad["status"] == "error"
    assert bad["errors"][0]["source"] == "okta"
    assert "HTTP 500" in bad["errors"][0]["message"]
    statuses = {r["rule_id"]: r["status"] for r in bad["results"]}
    assert statuses["okta_app_required_scopes"] in {"error", "not_evaluated"}
    assert statuses["okta_app_active"] == "pass"  # collected data is still judged
    assert len(bad["results"]) == 19


def test_unknown_tenant_is_a_usage_error(fleet, audit):
    """An unknown --tenant exits 2, names the known tenants, and audits nothing."""
    tenant = fleet.add(new_id("known"))
    proc, out = audit("--tenant", "nosuch")
    assert proc.returncode == 2
    assert "unknown tenant nosuch" in proc.stderr
    assert tenant.tenant_id in proc.stderr
    assert not out.exists()


def test_bad_config_exits_2_with_file_and_line(run_auditor, tmp_path):
    """A config with a typo exits 2 naming the file, the line and the key."""
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\ntenants:\n  - id: acme\n    okta:\n      org_ur: x\n")
    proc = run_auditor(["audit", "--all", "--config", str(config)])
    assert proc.returncode == 2
    assert f"{config}, line 5" in proc.stderr
    assert "org_ur" in proc.stderr


def test_missing_env_variable_exits_2_naming_it(fleet, audit):
    """An unset ${OKTA_TOKEN_...} exits 2 and names the variable."""
    tenant = fleet.add(new_id("noenv"))
    var = f"OKTA_TOKEN_{tenant.tenant_id.upper()}"
    proc, _ = audit("--all", env={var: None})
    assert proc.returncode == 2
    assert var in proc.stderr
    assert "line" in proc.stderr


def test_bad_rule_pack_exits_2_before_any_request(fleet, audit, tmp_path):
    """A broken rule file exits 2 with its file and line, and Okta is never called."""
    tenant = fleet.add(new_id("rules"))
    pack = tmp_path / "pack"
    pack.mkdir()
    from auditor.rules import default_rules_dir  # noqa: PLC0415

    for src in default_rules_dir().glob("*.yaml"):
        (pack / src.name).write_text(src.read_text())
    broken = pack / "okta_app_active.yaml"
    broken.write_text(broken.read_text().replace("op: equals", "op: equalz"))
    before = len(tenant.org.requests)
    proc, _ = audit("--all", "--rules", str(pack))
    assert proc.returncode == 2
    assert "okta_app_active.yaml, line" in proc.stderr
    assert "equalz" in proc.stderr
    assert len(tenant.org.requests) == before


def test_format_flag_beats_its_variable(fleet, audit):
    """AUDITOR_FORMAT=html writes only HTML; --format json overrides it."""
    fleet.add(new_id("fmt"))
    proc, out = audit("--all", env={"AUDITOR_FORMAT": "html"})
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.html").exists()
    assert not (out / "report.json").exists()
    proc, out = audit("--all", "--format", "json", env={"AUDITOR_FORMAT": "html"})
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.json").exists()


@pytest.mark.usefixtures("debug_logs")
def test_no_secret_reaches_output_or_logs(fleet, audit):
    """With debug logging, neither the API token nor the client secret is printed or reported."""
    tenant = fleet.add(new_id("secret"))
    proc, out = audit("--all", env={"AUDITOR_LOG_LEVEL": "DEBUG"})
    assert proc.returncode == 0, proc.stderr
    everything = proc.stdout + proc.stderr + (out / "report.json").read_text() + (
        out / "report.html"
    ).read_text()
    assert "DEBUG" in proc.stderr  # the debug log really is part of what is checked
    assert tenant.org.token not in everything
    assert tenant.org.client_secret not in everything


def test_rules_validate_and_list(run_auditor):
    """`rules validate` accepts the built-in pack and `rules list` shows all 19 ids."""
    proc = run_auditor(["rules", "validate"])
    assert proc.returncode == 0, proc.stderr
    assert "19 rules" in proc.stdout
    proc = run_auditor(["rules", "list"])
    assert proc.returncode == 0
    assert "cognito_domain_active" in proc.stdout


def test_demo_runs_without_credentials(run_auditor, tmp_path):
    """`auditor demo` audits its emulated tenants, writes both reports and exits 0."""
    proc = run_auditor(["demo"], {"AWS_ACCESS_KEY_ID": None, "AWS_ENDPOINT_URL": None})
    assert proc.returncode == 0, proc.stderr
    data = report(tmp_path / "reports-out")
    statuses = {t["tenant_id"]: t["status"] for t in data["tenants"]}
    assert statuses["acme"] == "pass"
    assert statuses["globex"] == "fail"
    assert len(statuses) == 6


def test_snapshot_command_prints_the_redacted_snapshot(fleet, cli):
    """`auditor snapshot --tenant X` prints the tenant's snapshot JSON, free of secrets."""
    tenant = fleet.add(new_id("snapcli"))
    proc = cli(["snapshot"], "--tenant", tenant.tenant_id)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["tenant_id"] == tenant.tenant_id
    assert data["okta"]["app"]["status"] == "ok"
    assert data["cognito"]["idp"]["value"]["ProviderDetails"]["client_id"] == tenant.org.client_id
    assert tenant.org.client_secret not in proc.stdout
    assert tenant.org.token not in proc.stdout


def test_bad_environment_value_is_a_usage_error(run_auditor):
    """An AUDITOR_* variable with a value outside its choices exits 2 naming it."""
    proc = run_auditor(["rules", "list"], {"AUDITOR_LOG_LEVEL": "verbose"})
    assert proc.returncode == 2
    assert "AUDITOR_LOG_LEVEL='verbose'" in proc.stderr
    proc = run_auditor(["audit", "--all", "--config", "x.yaml"], {"AUDITOR_FAIL_ON": "urgent"})
    assert proc.returncode == 2
    assert "AUDITOR_FAIL_ON='urgent'" in proc.stderr


# ---------------------------------------------------------------- as a real process


def test_console_script_exits_with_the_verdict(tmp_path):
    """The installed `auditor` script exits 2 (not just prints) on a config error."""
    config = tmp_path / "auditor.yaml"
    config.write_text("version: 1\ntenants: []\nextra_key: 1\n")
    proc = run_cli(["audit", "--all", "--config", str(config)], tmp_path, {},
                   console_script=True)
    assert proc.returncode == 2
    assert f"{config}, line 3" in proc.stderr


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--help"], "exit codes:"),
        (["rules", "list"], "rules:"),
        (["rules", "validate"], "is valid"),
    ],
)
def test_help_imports_no_sdk_or_database_module(tmp_path, argv, says):
    """`--help`, `rules list` and `rules validate` import no SDK, SQLAlchemy or Jinja2."""
    proc = run_cli(argv, tmp_path, {"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr
    assert says in proc.stdout
    imported = {m.group(1).split(".")[0]
                for m in re.finditer(r"^import time:.*\|\s*(\S+)$", proc.stderr, re.MULTILINE)}
    assert "auditor" in imported  # the import log is really there
    assert not imported & HEAVY, sorted(imported & HEAVY)


def test_output_piped_to_a_reader_that_leaves_is_quiet(tmp_path):
    """`auditor rules list -v | head -0`: the reader is gone; exit 0, no traceback on stderr."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from cli_helpers import cli_env  # noqa: PLC0415

    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "rules", "list", "-v"],
        cwd=tmp_path, env=cli_env({}), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves before the first line is written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err
