"""Memory across runs, as a user drives it: audit, accept a baseline, drift, history, waivers.

Each test runs the CLI (``main(argv)``, in-process) against the emulators, with the
default store: a real SQLite file at .auditor/state.db under the test's working directory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cli_helpers import new_id, report

EVIL = "https://evil.example.com/cb"


def add_evil_redirect(org) -> None:
    org.oauth_client["redirect_uris"].append(EVIL)


def remove_evil_redirect(org) -> None:
    org.oauth_client["redirect_uris"].remove(EVIL)


def results_of(out):
    (tenant,) = report(out)["tenants"]
    return tenant, {r["rule_id"]: r for r in tenant["results"]}


def test_drift_and_lifecycle_across_three_runs(fleet, audit, cli, tmp_path):
    """A foreign redirect URI appears (new; drift vs previous and baseline), then is resolved."""
    tenant = fleet.add(new_id("mem"))
    proc, out = audit("--all")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ".auditor" / "state.db").is_file()
    first, _ = results_of(out)
    assert first["drift"] == []  # a first run has nothing to compare with

    proc = cli(["baseline", "accept"], "--all", "--reason", "reviewed with the customer")
    assert proc.returncode == 0, proc.stderr
    assert "baseline is now run" in proc.stdout

    add_evil_redirect(tenant.org)
    proc, out = audit("--all")
    assert proc.returncode == 1, proc.stderr
    second, results = results_of(out)
    foreign = results["okta_app_no_foreign_redirect_uris"]
    assert foreign["status"] == "fail"
    assert foreign["lifecycle"] == "new"
    assert foreign["first_seen"] is not None
    drift = {(d["path"], d["against"]): d for d in second["drift"]}
    path = "okta.app.settings.oauthClient.redirect_uris"
    assert drift[(path, "previous")]["added"] == [EVIL]
    assert drift[(path, "baseline")]["added"] == [EVIL]

    proc, out = audit("--all")
    _, results = results_of(out)
    assert results["okta_app_no_foreign_redirect_uris"]["lifecycle"] == "persisting"
    assert results["okta_app_no_foreign_redirect_uris"]["first_seen"] == foreign["first_seen"]
    third, _ = results_of(out)
    assert [d["against"] for d in third["drift"]] == ["baseline"]  # nothing new since last run

    remove_evil_redirect(tenant.org)
    proc, out = audit("--all")
    assert proc.returncode == 0, proc.stderr
    fourth, results = results_of(out)
    assert results["okta_app_no_foreign_redirect_uris"]["status"] == "pass"
    assert results["okta_app_no_foreign_redirect_uris"]["lifecycle"] == "resolved"
    assert fourth["drift"][0]["removed"] == [EVIL]


def test_history_and_diff_show_what_changed(fleet, audit, cli):
    """`auditor history` lists runs with their changes; `auditor diff` shows the latest one."""
    tenant = fleet.add(new_id("hist"))
    audit("--all")
    add_evil_redirect(tenant.org)
    audit("--all")
    proc = cli(["history"], "--tenant", tenant.tenant_id)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert sum(" manual " in line for line in lines) == 2
    assert f"redirect_uris: + {EVIL}" in proc.stdout
    proc = cli(["diff"], "--tenant", tenant.tenant_id)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"okta.app.settings.oauthClient.redirect_uris: + {EVIL}"


def test_baseline_accept_without_a_run_says_audit_first(fleet, cli):
    """Accepting a baseline for a never-audited tenant exits 2 and says to audit first."""
    tenant = fleet.add(new_id("nobase"))
    proc = cli(["baseline", "accept"], "--tenant", tenant.tenant_id)
    assert proc.returncode == 2
    assert "audit first" in proc.stderr


def test_waiver_keeps_the_failure_but_not_the_exit_code(fleet, audit, tmp_path):
    """A waived failure stays `fail`, is marked waived, and no longer makes the exit code 1."""
    tenant = fleet.add(new_id("waive"))
    add_evil_redirect(tenant.org)
    expires = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    (tmp_path / "waivers.yaml").write_text(
        "waivers:\n"
        f"  - tenant: {tenant.tenant_id}\n"
        "    rule: okta_app_no_foreign_redirect_uris\n"
        "    reason: partner callback under review (ticket SEC-42)\n"
        "    owner: security@rapticore.io\n"
        f"    expires: {expires}\n"
    )
    proc, out = audit("--all", extra_config="waivers: waivers.yaml")
    assert proc.returncode == 0, proc.stderr
    tenant_report, results = results_of(out)
    waived = results["okta_app_no_foreign_redirect_uris"]
    assert waived["status"] == "fail"
    assert waived["waiver"]["owner"] == "security@rapticore.io"
    assert tenant_report["status"] == "pass"
    assert report(out)["summary"]["waived"] == 1


def test_expired_waiver_stops_applying(fleet, audit, tmp_path):
    """A waiver past its expiry no longer covers the failure (exit 1) and is reported expired."""
    tenant = fleet.add(new_id("expired"))
    add_evil_redirect(tenant.org)
    expired = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    (tmp_path / "waivers.yaml").write_text(
        "waivers:\n"
        f"  - tenant: {tenant.tenant_id}\n"
        "    rule: okta_app_no_foreign_redirect_uris\n"
        "    reason: was acceptable last quarter\n"
        "    owner: security@rapticore.io\n"
        f"    expires: {expired}\n"
    )
    proc, out = audit("--all", extra_config="waivers: waivers.yaml")
    assert proc.returncode == 1, proc.stderr
    _, results = results_of(out)
    assert results["okta_app_no_foreign_redirect_uris"]["waiver"] is None
    assert [w["problem"] for w in report(out)["waivers"]] == ["expired"]


def test_bad_waiver_file_exits_2_with_its_line(fleet, audit, tmp_path):
    """A waiver without an expiry date exits 2 naming the waiver file and line."""
    fleet.add(new_id("badwaiver"))
    (tmp_path / "waivers.yaml").write_text(
        "waivers:\n  - tenant: '*'\n    rule: okta_app_assigned\n"
        "    reason: r\n    owner: o\n"
    )
    proc, _ = audit("--all", extra_config="waivers: waivers.yaml")
    assert proc.returncode == 2
    assert "waivers.yaml, line" in proc.stderr
    assert "expires" in proc.stderr


def test_history_with_a_store_that_cannot_be_opened_is_one_line_exit_3(fleet, cli):
    """`auditor history` on a store that is down: exit 3, one line naming the store, no password."""
    tenant = fleet.add(new_id("down"))
    proc = cli(["history"], "--tenant", tenant.tenant_id,
               extra_config="store: postgresql+psycopg://auditor:pw-Secret-9@127.0.0.1:1/x")
    assert proc.returncode == 3, proc.stderr
    assert "could not open the store" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pw-Secret-9" not in proc.stderr


@pytest.mark.parametrize("limit", ["-1", "0", "10000000000", "ten"])
def test_history_limit_out_of_range_is_a_usage_error(fleet, cli, limit):
    """`history --limit` outside 1..10000 exits 2 naming the bound, never a traceback."""
    tenant = fleet.add(new_id("lim"))
    proc = cli(["history"], "--tenant", tenant.tenant_id, "--limit", limit)
    assert proc.returncode == 2
    assert "--limit" in proc.stderr
    assert "Traceback" not in proc.stderr
