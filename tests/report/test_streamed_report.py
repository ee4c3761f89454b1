"""A streamed run's tenants (auditor.streamed_report): kept compressed, read back as given."""

from __future__ import annotations

import pytest
from builders import change, compliant_snapshot

from auditor import streamed_report
from auditor.audit import ReportBuilder, TenantOutcome, build_report, tenant_report
from auditor.report import ReportFormat, render
from auditor.results import RunInfo, TenantStatus
from auditor.rules import load_rule_pack
from auditor.streamed_report import TenantReports

PACK = load_rule_pack()
INFO = RunInfo(id="r1", started_at="2026-11-27T02:00:00.000Z",
               finished_at="2026-11-27T02:03:00.000Z")


def _outcomes() -> list[TenantOutcome]:
    bad = change(compliant_snapshot("globex"), "okta.app.settings.oauthClient.redirect_uris",
                 ["https://evil.example/cb"])
    broken = change(compliant_snapshot("initech"), "okta.app.status", "INACTIVE")
    snapshots = [compliant_snapshot("acme"), bad, broken, compliant_snapshot("umbrella")]
    return [TenantOutcome(s, PACK.evaluate(s)) for s in snapshots]


@pytest.mark.parametrize("spool_bytes", [None, 1], ids=["in-memory", "on-disk"])
def test_tenants_added_in_any_order_read_back_whole_in_the_given_order(monkeypatch, spool_bytes):
    """Tenants finishing out of order come back equal to what was added, in config order."""
    if spool_bytes is not None:
        monkeypatch.setattr(streamed_report, "SPOOL_BYTES", spool_bytes)
    outcomes = _outcomes()
    expected = [tenant_report(o.snapshot, o.results) for o in outcomes]
    tenants = TenantReports(order=[t.tenant_id for t in expected])
    for report in reversed(expected):
        tenants.add(report)

    assert len(tenants) == 4
    assert list(tenants) == expected
    assert tenants[-1] == expected[-1]
    assert tenants[1:3] == expected[1:3]
    with pytest.raises(IndexError):
        tenants[4]


def test_a_tenant_outside_the_order_comes_after_it_and_none_is_added_twice():
    """A tenant the order does not name is kept after the named ones; a second add is refused."""
    acme, globex, initech, _ = (tenant_report(o.snapshot, o.results) for o in _outcomes())
    tenants = TenantReports(order=["globex", "acme"])
    for report in (initech, acme, globex):
        tenants.add(report)
    assert [t.tenant_id for t in tenants] == ["globex", "acme", "initech"]
    with pytest.raises(ValueError, match="acme added twice"):
        tenants.add(acme)


def test_a_streamed_report_renders_byte_for_byte_as_the_whole_report():
    """report.json and report.html of a streamed run equal those of the same run held whole."""
    outcomes = _outcomes()
    whole = build_report(INFO.id, INFO.started_at, INFO.finished_at, outcomes)
    builder = ReportBuilder([o.snapshot.tenant_id for o in outcomes])
    for outcome in reversed(outcomes):
        builder.add(outcome.snapshot, outcome.results)
    streamed = builder.finish(INFO)

    assert streamed.summary == whole.summary
    assert (streamed.summary.passed, streamed.summary.failed) == (2, 2)
    assert streamed.to_model() == whole
    for fmt in ReportFormat:
        assert render(fmt, streamed) == render(fmt, whole)
    assert [t.status for t in streamed.tenants] == [
        TenantStatus.PASS, TenantStatus.FAIL, TenantStatus.FAIL, TenantStatus.PASS,
    ]
