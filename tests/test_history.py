"""The run pipeline's memory (auditor.history) over a real SQLite file: retention, secrets."""

from __future__ import annotations

import json
from datetime import date

import pytest
from builders import change, compliant_snapshot

from auditor import history
from auditor.audit import AuditRun, TenantOutcome, build_report
from auditor.history import RunRecorder, remember
from auditor.rules import load_rule_pack
from auditor.store import RunAlreadyStored, open_store
from auditor.waivers import Waiver

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


def _fleet(run_id: str, started_at: str, snapshots) -> AuditRun:
    outcomes = [TenantOutcome(s, PACK.evaluate(s)) for s in snapshots]
    return AuditRun(report=build_report(run_id, started_at, started_at, outcomes),
                    outcomes=outcomes)


def _three_tenants(redirect: str):
    bad = change(compliant_snapshot("globex"), "okta.app.settings.oauthClient.redirect_uris",
                 [redirect])
    return [compliant_snapshot("acme"), bad, compliant_snapshot("initech")]


@pytest.mark.parametrize("spool_bytes", [None, 1], ids=["spool-in-memory", "spool-on-disk"])
def test_tenant_by_tenant_recording_equals_remembering_the_whole_run(
    tmp_path, monkeypatch, spool_bytes
):
    """RunRecorder fed one tenant at a time saves and reports exactly what remember does."""
    if spool_bytes is not None:  # every snapshot past the first byte goes to the disk file
        monkeypatch.setattr(history, "SPOOL_BYTES", spool_bytes)

    waivers = [Waiver(tenant="*", rule="okta_app_signin_redirect_uri", reason="migration",
                      owner="sec@example.com", expires=date(2026, 12, 31)),
               Waiver(tenant="acme", rule="okta_app_assigned", reason="stale one",
                      owner="sec@example.com", expires=date(2026, 12, 31))]
    reports = {}
    for way in ("whole", "streamed"):
        store = open_store(f"sqlite:///{tmp_path}/{way}.db")
        try:
            first = _fleet("r1", "2026-11-25T02:00:00Z", _three_tenants("https://a.example/cb"))
            remember(first, store, today=date(2026, 11, 25))
            second = _fleet("r2", "2026-11-26T02:00:00Z", _three_tenants("https://b.example/cb"))
            if way == "whole":
                done = remember(second, store, waivers=waivers, today=date(2026, 11, 26))
            else:
                # Tenants finish in any order; the report keeps the config's.
                recorder = RunRecorder(store, started_at=second.report.run.started_at,
                                       waivers=waivers, today=date(2026, 11, 26),
                                       order=["acme", "globex", "initech"])
                for outcome in reversed(second.outcomes):
                    recorder.add(outcome.snapshot, outcome.results)
                done = recorder.finish(second.report.run)
                done = type(done)(done.report.to_model(), done.pruned_runs)
            stored = {t: store.snapshot(t, "r2") for t in ("acme", "globex", "initech")}
            reports[way] = (done.report, stored, store.results("globex", "r2"))
        finally:
            store.close()
    assert reports["streamed"] == reports["whole"]
    report = reports["streamed"][0]
    assert [t.tenant_id for t in report.tenants] == ["acme", "globex", "initech"]
    assert any(d.against == "previous" for d in report.tenants[1].drift)
    assert [w.problem for w in report.waivers] == ["stale"]
    assert reports["streamed"][1]["globex"]["tenant_id"] == "globex"


def test_a_run_that_cannot_be_saved_leaves_nothing_behind(tmp_path):
    """A recorder whose run id is already stored raises, and the store keeps only the first run."""
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        run = _fleet("r1", "2026-11-25T02:00:00Z", _three_tenants("https://a.example/cb"))
        remember(run, store, today=date(2026, 11, 25))
        recorder = RunRecorder(store, started_at="2026-11-26T02:00:00Z", today=date(2026, 11, 26))
        for outcome in _fleet("r1", "2026-11-26T02:00:00Z",
                              _three_tenants("https://b.example/cb")).outcomes:
            recorder.add(outcome.snapshot, outcome.results)
        with pytest.raises(RunAlreadyStored):
            recorder.finish(run.report.run)
        assert [r.id for r in store.runs()] == ["r1"]
        stored = store.snapshot("globex", "r1")
        assert stored is not None
        assert "https://a.example/cb" in json.dumps(stored)
    finally:
        store.close()


def test_a_tenant_added_twice_is_refused_and_its_first_snapshot_is_recorded(tmp_path):
    """A recorder refuses a tenant's second add, and the run saves the first add's snapshot."""
    first = _three_tenants("https://a.example/cb")[1]
    again = _three_tenants("https://b.example/cb")[1]
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        run = _fleet("r1", "2026-11-25T02:00:00Z", [first])
        recorder = RunRecorder(store, started_at=run.report.run.started_at,
                               today=date(2026, 11, 25))
        recorder.add(first, PACK.evaluate(first))
        with pytest.raises(ValueError, match="globex added twice"):
            recorder.add(again, PACK.evaluate(again))
        done = recorder.finish(run.report.run)
        assert [t.tenant_id for t in done.report.tenants] == ["globex"]
        stored = json.dumps(store.snapshot("globex", "r1"))
        assert "https://a.example/cb" in stored
        assert "https://b.example/cb" not in stored
    finally:
        store.close()
