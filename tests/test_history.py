"""The run pipeline's memory (auditor.history) over a real SQLite file: retention, secrets."""

from __future__ import annotations

import json
from datetime import date

from builders import change, compliant_snapshot

from auditor.audit import AuditRun, TenantOutcome, build_report
from auditor.history import remember
from auditor.rules import load_rule_pack
from auditor.store import open_store

PACK = load_rule_pack()


def run_at(run_id: str, started_at: str, snapshot) -> AuditRun:
    outcomes = [TenantOutcome(snapshot, PACK.evaluate(snapshot))]
    return AuditRun(report=build_report(run_id, started_at, started_at, outcomes),
                    outcomes=outcomes)


def test_old_runs_are_pruned_after_each_run(tmp_path):
    """With retention_days 90, a run from 100 days ago is deleted once a newer run is saved."""
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        remember(run_at("old", "2026-08-18T02:00:00Z", compliant_snapshot()), store,
                 today=date(2026, 8, 18))
        kept = remember(run_at("new", "2026-11-26T02:00:00Z", compliant_snapshot()), store,
                        today=date(2026, 11, 26), retention_days=90)
        assert kept.pruned_runs == 1
        assert [r.id for r in store.runs("acme")] == ["new"]
    finally:
        store.close()


def test_the_store_never_holds_a_secret_digest(tmp_path):
    """What is saved has secret fingerprints only: no in-memory SHA-256 digest reaches disk."""
    snapshot = compliant_snapshot()
    digest = snapshot.okta.secrets.value[0].secret.sha256
    assert digest is not None
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        remember(run_at("r1", "2026-11-26T02:00:00Z", snapshot), store, today=date(2026, 11, 26))
        stored = store.snapshot("acme", "r1")
    finally:
        store.close()
    assert digest not in json.dumps(stored)
    assert digest.encode() not in (tmp_path / "state.db").read_bytes()


def test_a_rotated_secret_is_drift_without_values(tmp_path):
    """A Cognito secret changed between runs shows as "rotated", never as a fingerprint."""
    before = compliant_snapshot()
    new_ref = {"fingerprint": "f" * 24, "masked": False}
    after = change(before, "cognito.idp.ProviderDetails.client_secret", new_ref)
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        remember(run_at("r1", "2026-11-25T02:00:00Z", before), store, today=date(2026, 11, 25))
        second = remember(run_at("r2", "2026-11-26T02:00:00Z", after), store,
                          today=date(2026, 11, 26))
    finally:
        store.close()
    (tenant,) = second.report.tenants
    (entry,) = [d for d in tenant.drift if d.path.endswith("client_secret")]
    assert (entry.before, entry.after, entry.against) == ("rotated", "rotated", "previous")
    assert "f" * 24 not in second.report.model_dump_json()
