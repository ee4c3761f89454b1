"""Service fixtures: a real run report (three tenants: pass, fail, error) from the rule pack."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from builders import compliant_snapshot, idp_not_found, with_section

from auditor.audit import TenantOutcome, build_report
from auditor.rules import load_rule_pack
from auditor.snapshot import Section

if TYPE_CHECKING:
    from auditor.results import RunReport


@pytest.fixture(scope="session")
def three_tenant_report() -> RunReport:
    """Tenant acme passes, beta fails (no IdP in its pool), gamma errors (grants uncollected)."""
    pack = load_rule_pack()
    snapshots = [
        compliant_snapshot("acme"),
        idp_not_found(compliant_snapshot("beta")),
        with_section(compliant_snapshot("gamma"), "okta.grants", Section.error("HTTP 500")),
    ]
    outcomes = [TenantOutcome(s, pack.evaluate(s)) for s in snapshots]
    return build_report(
        "run-1", "2026-11-28T02:00:00Z", "2026-11-28T02:03:00Z", outcomes
    )
