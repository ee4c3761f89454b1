"""Service fixtures: a real run report (three tenants: pass, fail, error) from the rule pack."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import structlog
from builders import compliant_snapshot, idp_not_found, with_section

from auditor import logs
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


@pytest.fixture(autouse=True)
def _restore_logging():
    """Put the root logger back as pytest had it (setup_logging changes process state)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in (*logs.SDK_LOGGERS, logs.RUN_LOGGER)}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    logging.captureWarnings(capture=False)
    structlog.reset_defaults()
