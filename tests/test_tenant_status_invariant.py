"""The tenant verdict never claims ``pass`` over a rule it could not judge.

Issue 11 item 1: a ``not_evaluated`` result is harmless only beside a failing rule that
explains it (the missing app fails ``okta_app_active``); otherwise the tenant is ``error``,
with the unjudged rule named, so the exit code is 3 and nobody reads it as "all good".
"""

from __future__ import annotations

from typing import Any

from builders import (
    app_not_found,
    change,
    compliant_snapshot,
    idp_not_found,
    masked_ref,
    with_section,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.audit import TenantOutcome, build_report
from auditor.results import ResultStatus, TenantStatus
from auditor.rules import load_rule_pack
from auditor.snapshot import Section, TenantSnapshot

PACK = load_rule_pack()

SECTIONS = [
    "okta.app", "okta.grants", "okta.profile_mapping", "okta.secrets", "okta.assignments",
    "okta.discovery", "okta.default_user_type_id",
    "cognito.idp", "cognito.app_clients", "cognito.domain",
]


def _verdict(snapshot: TenantSnapshot) -> tuple[TenantStatus, list[Any], list[Any]]:
    results = PACK.evaluate(snapshot)
    report = build_report("run", "2026-11-27T02:00:00Z", "2026-11-27T02:01:00Z",
                          [TenantOutcome(snapshot, results)])
    (tenant,) = report.tenants
    return tenant.status, tenant.results, tenant.errors


def test_masked_secret_alone_is_not_a_pass() -> None:
    """A compliant tenant whose Okta secret is masked cannot be verified: error, not pass."""
    snapshot = compliant_snapshot()
    snapshot = change(snapshot, "okta.secrets.0.secret", masked_ref())
    status, results, errors = _verdict(snapshot)
    unjudged = [r.rule_id for r in results if r.status is ResultStatus.NOT_EVALUATED]
    assert unjudged == ["cognito_idp_client_secret_matches"]
    assert status is TenantStatus.ERROR
    assert any("cognito_idp_client_secret_matches could not be evaluated" in e.message
               for e in errors)


def test_missing_app_explains_its_unjudged_rules() -> None:
    """A deleted app fails okta_app_active; the rules that read it are not_evaluated: fail."""
    status, results, errors = _verdict(app_not_found(compliant_snapshot()))
    assert any(r.status is ResultStatus.NOT_EVALUATED for r in results)
    assert status is TenantStatus.FAIL
    assert errors == []


def test_missing_idp_explains_its_unjudged_rules() -> None:
    """No IdP fails cognito_idp_exists; the issuer is never fetched: fail, not error."""
    status, _, _ = _verdict(idp_not_found(compliant_snapshot()))
    assert status is TenantStatus.FAIL


_damage = st.dictionaries(
    st.sampled_from(SECTIONS),
    st.sampled_from(["absent", "skipped", "error"]),
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(damage=_damage, masked=st.booleans())
def test_never_pass_over_an_unjudged_rule(*, damage: dict[str, str], masked: bool) -> None:
    """Whatever is missing, a tenant is pass only when every one of its rules passed."""
    snapshot = compliant_snapshot()
    if masked:
        snapshot = change(snapshot, "okta.secrets.0.secret", masked_ref())
    for path, how in damage.items():
        section: Section[Any] = getattr(Section, how)(f"{how} in this example")
        snapshot = with_section(snapshot, path, section)
    status, results, _ = _verdict(snapshot)
    statuses = {r.status for r in results}
    if status is TenantStatus.PASS:
        assert statuses == {ResultStatus.PASS}
    if ResultStatus.NOT_EVALUATED in statuses and ResultStatus.FAIL not in statuses:
        assert status is TenantStatus.ERROR
