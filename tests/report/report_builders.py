"""Builders for report tests: a compliant tenant by default, then one change per test.

The catalog mirrors CONTRACT section 5 (ids and default severities); results are built
as the rule engine would build them, with RunReport models directly.
"""

from __future__ import annotations

from typing import Any, Literal

from auditor.results import (
    DriftEntry,
    Lifecycle,
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantError,
    TenantReport,
    TenantStatus,
    WaiverIssue,
    WaiverNote,
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
RUN_STARTED = "2025-01-01T02:00:00Z"

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
    lifecycle: Lifecycle | None = None,
    first_seen: str | None = None,
    waiver: WaiverNote | None = None,
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
        fingerprint=f"fp-{rule_id}" if lifecycle else None,
        lifecycle=lifecycle,
        first_seen=first_seen,
        last_seen=RUN_STARTED if lifecycle else None,
        waiver=waiver,
    )


def resolved(rule_id: str, *, first_seen: str = "2024-12-01T02:00:00Z") -> RuleResult:
    """The catalog rule's passing result for a finding that failed in earlier runs."""
    return passing(rule_id).model_copy(
        update={
            "fingerprint": f"fp-{rule_id}",
            "lifecycle": "resolved",
            "first_seen": first_seen,
            "last_seen": "2024-12-31T02:00:00Z",
        }
    )


def waiver(
    *,
    reason: str = "Partner SSO migration, ticket SEC-142",
    owner: str = "alice@example.com",
    expires: str = "2025-06-30",
    expiring_soon: bool = False,
) -> WaiverNote:
    """A waiver note as apply_waivers puts on a covered failure."""
    return WaiverNote(reason=reason, owner=owner, expires=expires, expiring_soon=expiring_soon)


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
    elif any(r.counts or r.status is ResultStatus.ERROR for r in results):
        status = TenantStatus.FAIL
    else:
        status = TenantStatus.PASS
    return TenantReport(
        tenant_id=tenant_id, status=status, results=results, drift=drift or [], errors=errors or []
    )


def run_of(
    *tenants: TenantReport,
    waivers: list[WaiverIssue] | None = None,
    trigger: Literal["manual", "schedule", "demo"] = "manual",
) -> RunReport:
    """A run report around the tenants, with the summary counted from them."""
    statuses = [t.status for t in tenants]
    return RunReport(
        run=RunInfo(
            id="run-20250101T020000Z",
            started_at=RUN_STARTED,
            finished_at="2025-01-01T02:00:09Z",
            trigger=trigger,
        ),
        summary=Summary(
            tenants=len(tenants),
            passed=statuses.count(TenantStatus.PASS),
            failed=statuses.count(TenantStatus.FAIL),
            errored=statuses.count(TenantStatus.ERROR),
            waived=sum(r.waiver is not None for t in tenants for r in t.results),
        ),
        tenants=list(tenants),
        waivers=waivers or [],
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


def memory_run() -> RunReport:
    """A scheduled run with lifecycle, waived and resolved results, drift and waiver issues."""
    globex = tenant(
        "globex",
        failing(
            "okta_app_active",
            message="the app is INACTIVE",
            lifecycle="new",
            first_seen=RUN_STARTED,
        ),
        failing(
            "okta_app_assigned",
            message="no group is assigned",
            lifecycle="persisting",
            first_seen="2024-11-03T02:00:00Z",
        ),
        failing(
            "cognito_idp_scopes",
            message="authorize_scopes lacks email",
            lifecycle="regressed",
            first_seen="2024-10-01T02:00:00Z",
        ),
        failing(
            "okta_app_no_foreign_redirect_uris",
            message="redirect URI https://sso.partner.example/cb: host is outside the base domain",
            expected=[],
            actual=["https://sso.partner.example/cb"],
            lifecycle="persisting",
            first_seen="2024-12-15T02:00:00Z",
            waiver=waiver(expiring_soon=True, expires="2025-01-10"),
        ),
        resolved("okta_app_signout_redirect_uri"),
        drift=[
            DriftEntry(
                path="okta.app.settings.oauthClient.redirect_uris",
                before=["https://auth.globex.rapticore.io/oauth2/idpresponse"],
                after=[
                    "https://auth.globex.rapticore.io/oauth2/idpresponse",
                    "https://evil.example.com/cb",
                ],
                against="previous",
                added=["https://evil.example.com/cb"],
                removed=[],
            ),
            DriftEntry(
                path="okta.app.settings.oauthClient.grant_types",
                before=["authorization_code", "refresh_token"],
                after=["authorization_code", "implicit"],
                against="baseline",
                added=["implicit"],
                removed=["refresh_token"],
            ),
            DriftEntry(
                path="cognito.idp.client_secret",
                before="rotated",
                after="rotated",
                against="baseline",
            ),
        ],
    )
    # Every failure waived: the tenant passes, and its waived result is no open failure.
    hooli = tenant(
        "hooli",
        failing(
            "okta_app_no_excess_scopes",
            message="grants okta.users.manage beyond the allowed scopes",
            waiver=waiver(reason="Provisioning pilot", owner="bob@example.com"),
        ),
    )
    issues = [
        WaiverIssue(
            tenant="*",
            rule="okta_app_signout_redirect_uri",
            owner="carol@example.com",
            expires="2025-03-01",
            problem="stale",
        ),
        WaiverIssue(
            tenant="initech",
            rule="cognito_idp_scopes",
            subject="email",
            owner="dave@example.com",
            expires="2024-12-31",
            problem="expired",
        ),
        WaiverIssue(
            tenant="globex",
            rule="okta_app_no_foreign_redirect_uris",
            subject="https://sso.partner.example/cb",
            owner="alice@example.com",
            expires="2025-01-10",
            problem="expiring",
        ),
    ]
    return run_of(globex, hooli, tenant("acme"), waivers=issues, trigger="schedule")
