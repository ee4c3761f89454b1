"""Builders for report tests: a compliant tenant by default, then one change per test.

The catalog mirrors CONTRACT section 5 (ids and default severities); results are built
as the rule engine would build them, with RunReport models directly.
"""

from __future__ import annotations

from typing import Any

from auditor.results import (
    DriftEntry,
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantError,
    TenantReport,
    TenantStatus,
)

CATALOG: tuple[tuple[str, Severity], ...] = (
    ("okta_app_active", Severity.CRITICAL),
    ("okta_app_oidc_web", Severity.HIGH),
    ("okta_app_grant_authorization_code", Severity.CRITICAL),
    ("okta_app_no_extra_grants", Severity.HIGH),
    ("okta_app_signin_redirect_uri", Severity.CRITICAL),
    ("okta_app_no_foreign_redirect_uris", Severity.HIGH),
    ("okta_app_signout_redirect_uri", Severity.LOW),
    ("okta_app_assigned", Severity.HIGH),
    ("okta_app_required_scopes", Severity.HIGH),
    ("okta_app_no_excess_scopes", Severity.HIGH),
    ("okta_app_profile_mapping", Severity.MEDIUM),
    ("cognito_idp_exists", Severity.CRITICAL),
    ("cognito_idp_client_id_matches", Severity.CRITICAL),
    ("cognito_idp_client_secret_matches", Severity.CRITICAL),
    ("cognito_idp_issuer_matches", Severity.CRITICAL),
    ("cognito_idp_scopes", Severity.MEDIUM),
    ("cognito_idp_attribute_mapping", Severity.HIGH),
    ("cognito_client_enables_idp", Severity.CRITICAL),
    ("cognito_domain_active", Severity.CRITICAL),
)
SEVERITY = dict(CATALOG)

REMEDIATION = (
    "1. In the Okta Admin Console, open Applications > Applications.\n"
    "2. Select the Rapticore app, then the General tab.\n"
    "3. Click Edit and fix the setting; click Save."
)


def title_of(rule_id: str) -> str:
    """A readable title for a catalog rule."""
    return rule_id.replace("_", " ").capitalize()


def passing(rule_id: str) -> RuleResult:
    """The catalog rule's passing result."""
    return RuleResult(
        rule_id=rule_id,
        status=ResultStatus.PASS,
        severity=SEVERITY[rule_id],
        title=title_of(rule_id),
    )


def failing(  # noqa: PLR0913 - keyword-only fields of one result
    rule_id: str,
    *,
    message: str = "the setting is wrong",
    expected: Any = None,
    actual: Any = None,
    status: ResultStatus = ResultStatus.FAIL,
    title: str | None = None,
) -> RuleResult:
    """The catalog rule's non-passing result (``fail`` unless told otherwise)."""
    return RuleResult(
        rule_id=rule_id,
        status=status,
        severity=SEVERITY[rule_id],
        message=message,
        expected=expected,
        actual=actual,
        remediation=REMEDIATION if status is ResultStatus.FAIL else None,
        title=title if title is not None else title_of(rule_id),
    )


def tenant(
    tenant_id: str,
    *changed: RuleResult,
    drift: list[DriftEntry] | None = None,
    errors: list[TenantError] | None = None,
) -> TenantReport:
    """A tenant with every catalog rule passing except the ``changed`` results given."""
    by_id = {r.rule_id: r for r in changed}
    results = [by_id.get(rule_id, passing(rule_id)) for rule_id, _ in CATALOG]
    if errors:
        status = TenantStatus.ERROR
    elif any(r.status is not ResultStatus.PASS for r in results):
        status = TenantStatus.FAIL
    else:
        status = TenantStatus.PASS
    return TenantReport(
        tenant_id=tenant_id, status=status, results=results, drift=drift or [], errors=errors or []
    )


def run_of(*tenants: TenantReport) -> RunReport:
    """A run report around the tenants, with the summary counted from them."""
    statuses = [t.status for t in tenants]
    return RunReport(
        run=RunInfo(
            id="run-20250101T020000Z",
            started_at="2025-01-01T02:00:00Z",
            finished_at="2025-01-01T02:00:09Z",
        ),
        summary=Summary(
            tenants=len(tenants),
            passed=statuses.count(TenantStatus.PASS),
            failed=statuses.count(TenantStatus.FAIL),
            errored=statuses.count(TenantStatus.ERROR),
        ),
        tenants=list(tenants),
    )


def small_run() -> RunReport:
    """Three tenants: one passing, one failing with drift, one that could not be collected."""
    good = tenant("acme")
    bad = tenant(
        "globex",
        failing(
            "okta_app_signin_redirect_uri",
            message=(
                "redirect_uris lacks https://auth.globex.rapticore.io/oauth2/idpresponse"
                " (found it with a trailing '/')"
            ),
            expected=["https://auth.globex.rapticore.io/oauth2/idpresponse"],
            actual=[
                "https://auth.globex.rapticore.io/oauth2/idpresponse/",
                "https://evil.example.com/cb",
            ],
        ),
        failing(
            "okta_app_signout_redirect_uri", expected=["https://globex.rapticore.io"], actual=[]
        ),
        drift=[
            DriftEntry(
                path="okta.app.settings.oauthClient.redirect_uris",
                before=["https://auth.globex.rapticore.io/oauth2/idpresponse/"],
                after=[
                    "https://auth.globex.rapticore.io/oauth2/idpresponse/",
                    "https://evil.example.com/cb",
                ],
                against="previous",
            ),
            DriftEntry(
                path="okta.app.secrets", before="rotated", after="rotated", against="baseline"
            ),
        ],
    )
    broken = tenant(
        "initech",
        *(
            failing(rule_id, status=ResultStatus.ERROR, message="Cognito could not be read")
            for rule_id, _ in CATALOG
            if rule_id.startswith("cognito_")
        ),
        errors=[
            TenantError(
                source="cognito",
                message="AccessDeniedException: not authorized to DescribeUserPool",
            )
        ],
    )
    return run_of(good, bad, broken)
