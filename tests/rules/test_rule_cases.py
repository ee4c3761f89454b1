"""Data-driven rule tests: a compliant tenant, one change per case, every rule checked.

Each case lists the rules it expects *not* to pass, with their status and message
fragments; every other rule of the pack must pass (checkov's expected.yaml, as a table).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from builders import (
    PROVIDER_NAME,
    app_not_found,
    change,
    change_many,
    compliant_snapshot,
    idp_not_found,
    issuer_off_org,
    masked_ref,
    okta_client_secret,
    remove,
    secret_ref,
    sensitive_strings,
    with_section,
)

from auditor.results import ResultStatus, RuleResult
from auditor.rules import RulePack, load_rule_pack
from auditor.snapshot import (
    CognitoAppClient,
    OktaClientSecret,
    OktaScopeGrant,
    Section,
    TenantSnapshot,
)

Build = Callable[[TenantSnapshot], TenantSnapshot]
# rule id -> (status, message fragments that must all appear)
Expect = dict[str, tuple[str, tuple[str, ...]]]

REDIRECTS = "okta.app.settings.oauthClient.redirect_uris"
LOGOUTS = "okta.app.settings.oauthClient.post_logout_redirect_uris"
GRANT_TYPES = "okta.app.settings.oauthClient.grant_types"
PROPS = "okta.profile_mapping.properties"
DETAILS = "cognito.idp.ProviderDetails"
GOOD_REDIRECT = "https://auth.acme.rapticore.io/oauth2/idpresponse"

APP_RULES = (
    "okta_app_oidc_web",
    "okta_app_grant_authorization_code",
    "okta_app_no_extra_grants",
    "okta_app_signin_redirect_uri",
    "okta_app_no_foreign_redirect_uris",
    "okta_app_signout_redirect_uri",
    "okta_app_assigned",
    "okta_app_required_scopes",
    "okta_app_no_excess_scopes",
    "okta_app_profile_mapping",
    "cognito_idp_client_id_matches",
    "cognito_idp_client_secret_matches",
)
IDP_RULES = (
    "cognito_idp_client_id_matches",
    "cognito_idp_client_secret_matches",
    "cognito_idp_issuer_matches",
    "cognito_idp_scopes",
    "cognito_idp_attribute_mapping",
    "cognito_client_enables_idp",
)


def fail(*fragments: str) -> tuple[str, tuple[str, ...]]:
    """Expect a failure whose message has every fragment."""
    return ("fail", fragments)


def error(*fragments: str) -> tuple[str, tuple[str, ...]]:
    """Expect an error whose message has every fragment."""
    return ("error", fragments)


def not_evaluated(*fragments: str) -> tuple[str, tuple[str, ...]]:
    """Expect not_evaluated with a message that has every fragment."""
    return ("not_evaluated", fragments)


def setting(path: str, value: object) -> Build:
    """A build step that changes one value."""
    return lambda snapshot: change(snapshot, path, value)


def redirects(*uris: str) -> Build:
    """A build step that sets the sign-in redirect URIs."""
    return setting(REDIRECTS, list(uris))


def section(path: str, value: Section[object]) -> Build:
    """A build step that replaces a whole section."""
    return lambda snapshot: with_section(snapshot, path, value)


def add_grant(scope: str, status: str) -> Build:
    """A build step that adds a scope grant."""

    def build(snapshot: TenantSnapshot) -> TenantSnapshot:
        grants = snapshot.okta.grants.value or []
        grant = OktaScopeGrant(id=f"oag{scope}", scopeId=scope, status=status)
        return change(snapshot, "okta.grants", [*grants, grant])

    return build


def secrets(*entries: tuple[str, str, object]) -> Build:
    """A build step that sets Okta's client secrets: (id, status, secret value or ref)."""

    def build(snapshot: TenantSnapshot) -> TenantSnapshot:
        items = [
            OktaClientSecret(
                id=secret_id,
                status=status,
                secret=value if not isinstance(value, str) else secret_ref(value),
            )
            for secret_id, status, value in entries
        ]
        return change(snapshot, "okta.secrets", items)

    return build


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    name: str
    build: Build
    expect: Expect = field(default_factory=dict)


CASES = [
    Case("compliant", lambda snapshot: snapshot),
    # --- redirect URIs: simple string comparison, the difference named (CONTRACT 5)
    Case(
        "sign-in redirect with a trailing slash",
        redirects(GOOD_REDIRECT + "/"),
        {"okta_app_signin_redirect_uri": fail("has a trailing slash", GOOD_REDIRECT)},
    ),
    Case(
        "sign-in redirect with a space after https:// (the setup guide's typo)",
        redirects("https:// auth.acme.rapticore.io/oauth2/idpresponse"),
        {
            "okta_app_signin_redirect_uri": fail("has a space"),
            "okta_app_no_foreign_redirect_uris": fail("not a valid DNS name or IP address"),
        },
    ),
    Case(
        "sign-in redirect over http",
        redirects("http://auth.acme.rapticore.io/oauth2/idpresponse"),
        {"okta_app_signin_redirect_uri": fail("uses http, not https")},
    ),
    Case(
        "sign-in redirect with an upper-case host",
        redirects("https://Auth.Acme.rapticore.io/oauth2/idpresponse"),
        {"okta_app_signin_redirect_uri": fail("host has upper-case letters")},
    ),
    Case(
        "sign-in redirect with an explicit :443",
        redirects("https://auth.acme.rapticore.io:443/oauth2/idpresponse"),
        {"okta_app_signin_redirect_uri": fail("explicit :443 port")},
    ),
    Case(
        "sign-in redirect naming another tenant",
        redirects("https://auth.acme2.rapticore.io/oauth2/idpresponse"),
        {
            "okta_app_signin_redirect_uri": fail("names tenant acme2, not acme"),
            "okta_app_no_foreign_redirect_uris": fail(
                "auth.acme2.rapticore.io is outside acme.rapticore.io"
            ),
        },
    ),
    Case(
        "sign-in redirect with a different path",
        redirects("https://auth.acme.rapticore.io/oauth2/idpresponse2"),
        {"okta_app_signin_redirect_uri": fail("different path /oauth2/idpresponse2")},
    ),
    Case(
        "sign-in redirect of another tenant with a trailing slash",
        redirects("https://auth.acme2.rapticore.io/oauth2/idpresponse/"),
        {
            "okta_app_signin_redirect_uri": fail("names tenant acme2", "has a trailing slash"),
            "okta_app_no_foreign_redirect_uris": fail("outside acme.rapticore.io"),
        },
    ),
    Case(
        "no sign-in redirect URI at all",
        redirects(),
        {"okta_app_signin_redirect_uri": fail("is empty", GOOD_REDIRECT)},
    ),
    Case(
        "a foreign redirect URI next to the right one",
        redirects(GOOD_REDIRECT, "https://evil.example.com/callback"),
        {"okta_app_no_foreign_redirect_uris": fail("evil.example.com is outside")},
    ),
    Case(
        "a redirect URI hiding its host behind user info",
        redirects(GOOD_REDIRECT, "https://auth.acme.rapticore.io@evil.example.com/cb"),
        {"okta_app_no_foreign_redirect_uris": fail("user info")},
    ),
    Case(
        "a redirect URI on a look-alike domain",
        redirects(GOOD_REDIRECT, "https://auth.acme.rapticore.io.evil.example/cb"),
        {"okta_app_no_foreign_redirect_uris": fail("is outside acme.rapticore.io")},
    ),
    Case(
        "a redirect URI on another subdomain of the tenant (allowed)",
        redirects(GOOD_REDIRECT, "https://app.acme.rapticore.io/callback"),
    ),
    Case(
        "sign-out redirect with a trailing slash",
        setting(LOGOUTS, ["https://acme.rapticore.io/"]),
        # The whole diagnosis: a trailing placeholder ({base_domain}) must not be cut short.
        {"okta_app_signout_redirect_uri": fail("https://acme.rapticore.io/: has a trailing slash")},
    ),
    Case(
        "sign-out redirect naming another tenant",
        setting(LOGOUTS, ["https://acme2.rapticore.io"]),
        {
            "okta_app_signout_redirect_uri": fail(
                "https://acme2.rapticore.io: names tenant acme2, not acme"
            )
        },
    ),
    Case(
        "no sign-out redirect URI",
        setting(LOGOUTS, None),
        {"okta_app_signout_redirect_uri": fail("is missing")},
    ),
    # --- the app itself
    Case(
        "app deactivated",
        setting("okta.app.status", "INACTIVE"),
        {"okta_app_active": fail("okta.app.status is INACTIVE, not ACTIVE")},
    ),
    Case(
        "app is SAML",
        setting("okta.app.signOnMode", "SAML_2_0"),
        {"okta_app_oidc_web": fail("SAML_2_0, not OPENID_CONNECT")},
    ),
    Case(
        "app is a single-page app",
        setting("okta.app.settings.oauthClient.application_type", "browser"),
        {"okta_app_oidc_web": fail("browser, not web")},
    ),
    Case(
        "authorization code grant unchecked",
        setting(GRANT_TYPES, ["refresh_token"]),
        {"okta_app_grant_authorization_code": fail("lacks authorization_code")},
    ),
    Case(
        "response type code missing",
        setting("okta.app.settings.oauthClient.response_types", ["token"]),
        {"okta_app_grant_authorization_code": fail("response_types lacks code")},
    ),
    Case(
        "an unknown grant type string",
        setting(GRANT_TYPES, ["authorization_code", "urn:example:grant-type:teleport"]),
        {"okta_app_no_extra_grants": fail("urn:example:grant-type:teleport")},
    ),
    Case(
        "implicit and client credentials grants enabled",
        setting(GRANT_TYPES, ["authorization_code", "implicit", "client_credentials"]),
        {"okta_app_no_extra_grants": fail("implicit, client_credentials", "beyond the allowed")},
    ),
    Case(
        "no assignment",
        setting("okta.assignments.group_ids", []),
        {"okta_app_assigned": fail("group_ids is empty", "user_ids is empty")},
    ),
    Case(
        "assigned to a user only",
        lambda s: change_many(
            s, {"okta.assignments.group_ids": [], "okta.assignments.user_ids": ["00u1"]}
        ),
    ),
    # --- Okta API scope grants
    Case(
        "a required grant REVOKED",
        setting("okta.grants.2.status", "REVOKED"),
        {"okta_app_required_scopes": fail("grant okta.userTypes.read: status is REVOKED")},
    ),
    Case(
        "a required grant missing",
        lambda s: remove(s, "okta.grants.2"),
        {"okta_app_required_scopes": fail("no grant for okta.userTypes.read")},
    ),
    Case(
        "an ACTIVE *.manage grant",
        add_grant("okta.users.manage", "ACTIVE"),
        {"okta_app_no_excess_scopes": fail("grant okta.users.manage", "status is ACTIVE")},
    ),
    Case("a REVOKED *.manage grant (harmless)", add_grant("okta.apps.manage", "REVOKED")),
    Case("an extra read grant (harmless)", add_grant("okta.groups.read", "ACTIVE")),
    # --- profile mapping
    Case(
        "a mapping attribute missing",
        lambda s: remove(s, f"{PROPS}.given_name"),
        {"okta_app_profile_mapping": fail("no attribute given_name", "user.firstName")},
    ),
    Case(
        "a mapping attribute with another expression",
        setting(f"{PROPS}.email.expression", "user.login"),
        {"okta_app_profile_mapping": fail("attribute email", "is user.login, not user.email")},
    ),
    Case(
        "whitespace around a mapping expression (trimmed, passes)",
        setting(f"{PROPS}.email.expression", "  user.email \n"),
    ),
    Case(
        "no profile mapping",
        section("okta.profile_mapping", Section.absent("no mapping for this app")),
        {"okta_app_profile_mapping": fail("not found")},
    ),
    # --- client id and secret
    Case(
        "Cognito has another client_id",
        setting(f"{DETAILS}.client_id", "0oaSOMEOTHERAPP00001"),
        {"cognito_idp_client_id_matches": fail("0oaSOMEOTHERAPP00001, not 0oa8k2x4fzQv7Hm1d5d7")},
    ),
    Case(
        "Okta returns masked secrets",
        setting("okta.secrets.0.secret", masked_ref()),
        {"cognito_idp_client_secret_matches": not_evaluated("masked")},
    ),
    Case(
        "Cognito holds another secret",
        setting(f"{DETAILS}.client_secret", secret_ref("stale-secret-from-2023")),
        {"cognito_idp_client_secret_matches": fail("differs from")},
    ),
    Case(
        "Cognito holds a secret that Okta deactivated",
        secrets(("ocsOld", "INACTIVE", okta_client_secret()), ("ocsNew", "ACTIVE", "new-secret")),
        {"cognito_idp_client_secret_matches": fail("ocsOld: status is INACTIVE")},
    ),
    Case(
        "rotation in progress: Cognito holds the still-ACTIVE old secret",
        secrets(("ocsOld", "ACTIVE", okta_client_secret()), ("ocsNew", "ACTIVE", "new-secret")),
    ),
    Case(
        "Cognito has no client_secret",
        setting(f"{DETAILS}.client_secret", None),
        {"cognito_idp_client_secret_matches": fail("client_secret is missing")},
    ),
    Case(
        "the app has no client secret",
        secrets(),
        {"cognito_idp_client_secret_matches": fail("no Okta client secret")},
    ),
    # --- sections not collected: error, never pass
    Case(
        "grants could not be collected",
        section("okta.grants", Section.error("HTTP 500 from Okta")),
        {
            "okta_app_required_scopes": error("HTTP 500 from Okta"),
            "okta_app_no_excess_scopes": error("HTTP 500 from Okta"),
        },
    ),
    Case(
        "the app could not be collected",
        section("okta.app", Section.error("timeout")),
        {
            "okta_app_active": error("timeout"),
            **dict.fromkeys(APP_RULES, error("Okta app could not be collected: timeout")),
        },
    ),
    Case(
        "the IdP could not be collected",
        section("cognito.idp", Section.error("AccessDeniedException")),
        {
            "cognito_idp_exists": error("AccessDeniedException"),
            **dict.fromkeys(IDP_RULES, error("AccessDeniedException")),
        },
    ),
    Case(
        "app clients could not be collected",
        section("cognito.app_clients", Section.error("ThrottlingException")),
        {"cognito_client_enables_idp": error("ThrottlingException")},
    ),
    Case(
        "the default user type could not be collected",
        section("okta.default_user_type_id", Section.error("HTTP 403")),
        {"okta_app_profile_mapping": error("HTTP 403")},
    ),
    Case(
        "the secrets could not be collected",
        section("okta.secrets", Section.error("HTTP 403")),
        {"cognito_idp_client_secret_matches": error("Okta client secrets", "HTTP 403")},
    ),
    # --- absent objects: a finding, and the rules that depend on them not_evaluated
    Case(
        "the Okta app answers 404",
        app_not_found,
        {
            "okta_app_active": fail("not found: deleted, or wrong app_id"),
            **dict.fromkeys(APP_RULES, not_evaluated("Okta app not found, nothing to check")),
        },
    ),
    Case(
        "no IdP named provider_name",
        idp_not_found,
        {
            "cognito_idp_exists": fail(f"identity provider {PROVIDER_NAME}", "not found"),
            **dict.fromkeys(IDP_RULES, not_evaluated("Cognito identity provider not found")),
        },
    ),
    Case(
        "the IdP is not OIDC",
        setting("cognito.idp.ProviderType", "SAML"),
        {"cognito_idp_exists": fail("SAML, not OIDC")},
    ),
    # --- issuer
    Case(
        "issuer off the org (never fetched)",
        lambda s: issuer_off_org(s, "https://acme.okta.com.evil.example/oauth2/default"),
        {"cognito_idp_issuer_matches": fail("is not on https://acme.okta.com", "host")},
    ),
    Case(
        "issuer on the org with a query (never fetched)",
        lambda s: issuer_off_org(s, "https://acme.okta.com?x=1"),
        {"cognito_idp_issuer_matches": fail("has a query ?x=1", "OpenID Connect Discovery")},
    ),
    Case(
        "issuer on the org with a fragment hiding a host (never fetched)",
        lambda s: issuer_off_org(s, "https://acme.okta.com#@127.0.0.1:1234"),
        {
            "cognito_idp_issuer_matches": fail(
                "has a fragment #@127.0.0.1:1234", "an OIDC issuer has no query or fragment"
            )
        },
    ),
    Case(
        "issuer with a trailing slash",
        setting(f"{DETAILS}.oidc_issuer", "https://acme.okta.com/"),
        {"cognito_idp_issuer_matches": fail("has a trailing slash")},
    ),
    Case(
        "issuer of a custom authorization server on the org",
        setting(f"{DETAILS}.oidc_issuer", "https://acme.okta.com/oauth2/default"),
        {"cognito_idp_issuer_matches": fail("different path /oauth2/default")},
    ),
    Case(
        "issuer over http on the org host",
        setting(f"{DETAILS}.oidc_issuer", "http://acme.okta.com"),
        {"cognito_idp_issuer_matches": fail("scheme http, not https")},
    ),
    Case(
        "issuer on the org's custom domain",
        lambda s: change_many(
            s,
            {
                "okta.custom_domain": "login.acme.com",
                "okta.custom_domain_url": "https://login.acme.com",
                f"{DETAILS}.oidc_issuer": "https://login.acme.com",
                "okta.discovery.issuer": "https://login.acme.com",
            },
        ),
    ),
    Case(
        "discovery failed for an on-org issuer",
        section("okta.discovery", Section.error("TLS handshake failed")),
        {"cognito_idp_issuer_matches": error("OIDC discovery document", "TLS handshake failed")},
    ),
    # --- the rest of the Cognito side
    Case(
        "scope profile not requested",
        setting(f"{DETAILS}.authorize_scopes", "openid email"),
        {"cognito_idp_scopes": fail("lacks profile")},
    ),
    Case("scopes in another order", setting(f"{DETAILS}.authorize_scopes", "profile openid email")),
    Case(
        "username mapped from email",
        setting("cognito.idp.AttributeMapping", {"email": "email", "username": "email"}),
        {"cognito_idp_attribute_mapping": fail("username is email, not sub")},
    ),
    Case(
        "email not mapped",
        setting("cognito.idp.AttributeMapping", {"username": "sub"}),
        {"cognito_idp_attribute_mapping": fail("AttributeMapping.email is missing")},
    ),
    Case(
        "app client does not list the provider",
        setting("cognito.app_clients.0.SupportedIdentityProviders", ["COGNITO"]),
        {"cognito_client_enables_idp": fail("SupportedIdentityProviders lacks Okta")},
    ),
    Case(
        "app client without OAuth",
        setting("cognito.app_clients.0.AllowedOAuthFlowsUserPoolClient", value=False),
        {"cognito_client_enables_idp": fail("AllowedOAuthFlowsUserPoolClient is false")},
    ),
    Case(
        "app client with the implicit flow only",
        setting("cognito.app_clients.0.AllowedOAuthFlows", ["implicit"]),
        {"cognito_client_enables_idp": fail("AllowedOAuthFlows lacks code")},
    ),
    Case(
        "no app client",
        setting("cognito.app_clients", []),
        {"cognito_client_enables_idp": fail("is empty")},
    ),
    Case(
        "a second, good app client next to a bad one",
        lambda s: change(
            s,
            "cognito.app_clients",
            [
                CognitoAppClient(ClientId="bad", SupportedIdentityProviders=["COGNITO"]),
                *(s.cognito.app_clients.value or []),
            ],
        ),
    ),
    Case(
        "no user pool domain",
        section("cognito.domain", Section.absent("no such domain")),
        {"cognito_domain_active": fail("user pool domain auth.acme.rapticore.io not found")},
    ),
    Case(
        "domain of another user pool",
        setting("cognito.domain.UserPoolId", "us-east-1_Other"),
        {"cognito_domain_active": fail("us-east-1_Other, not us-east-1_AbCdEf")},
    ),
    Case(
        "domain still being created",
        setting("cognito.domain.Status", "CREATING"),
        {"cognito_domain_active": fail("Status is CREATING, not ACTIVE")},
    ),
]


@pytest.fixture(scope="module")
def pack() -> RulePack:
    """The packaged rule pack, loaded once for the module."""
    return load_rule_pack()


def _by_id(results: list[RuleResult]) -> dict[str, RuleResult]:
    return {result.rule_id: result for result in results}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_rule_case(pack: RulePack, case: Case) -> None:
    """One change to a compliant tenant makes exactly the expected rules not pass."""
    results = pack.evaluate(case.build(compliant_snapshot()))
    assert [r.rule_id for r in results] == list(pack.ids)
    unknown = set(case.expect) - set(pack.ids)
    assert not unknown, f"the case names unknown rules {unknown}"
    for rule_id, result in _by_id(results).items():
        status, fragments = case.expect.get(rule_id, ("pass", ()))
        assert result.status == ResultStatus(status), (rule_id, result.message)
        for fragment in fragments:
            assert fragment in (result.message or ""), (rule_id, fragment, result.message)
        if result.status is ResultStatus.FAIL:
            rule = pack.rule(rule_id)
            assert result.remediation == rule.remediation_for(compliant_snapshot(), pack.params)
        else:
            assert result.remediation is None


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_secret_in_any_result(pack: RulePack, case: Case) -> None:
    """No message, expected, actual or remediation ever holds a secret, digest or fingerprint."""
    snapshot = case.build(compliant_snapshot())
    forbidden = sensitive_strings(snapshot) | sensitive_strings(compliant_snapshot())
    forbidden |= {"new-secret", "stale-secret-from-2023"}
    for result in pack.evaluate(snapshot):
        text = json.dumps([result.message, result.expected, result.actual, result.remediation])
        for secret in forbidden:
            assert secret not in text, (result.rule_id, "leaks a secret-derived value")


@pytest.mark.parametrize(
    ("tenant_id", "base_domain"),
    [("acme", "rapticore.io"), ("globex-eu", "rapticore.io"), ("initech", "staging.rapticore.dev")],
)
def test_compliant_tenants_pass_everything(
    pack: RulePack, tenant_id: str, base_domain: str
) -> None:
    """A compliant tenant passes every rule, whatever its id and base domain."""
    results = pack.evaluate(compliant_snapshot(tenant_id, base_domain))
    failing = {r.rule_id: r.message for r in results if r.status is not ResultStatus.PASS}
    assert failing == {}


def test_redirect_of_the_production_domain_fails_on_staging(pack: RulePack) -> None:
    """On a staging base domain, a redirect URI on the production domain is wrong and foreign."""
    snapshot = change(
        compliant_snapshot("acme", "staging.rapticore.dev"), REDIRECTS, [GOOD_REDIRECT]
    )
    results = _by_id(pack.evaluate(snapshot))
    assert "names base_domain rapticore.io, not staging.rapticore.dev" in (
        results["okta_app_signin_redirect_uri"].message or ""
    )
    assert results["okta_app_no_foreign_redirect_uris"].status is ResultStatus.FAIL


def test_results_show_expected_and_actual_side_by_side(pack: RulePack) -> None:
    """A failing result carries the wanted value and the values found, as JSON data."""
    snapshot = change(compliant_snapshot(), REDIRECTS, [GOOD_REDIRECT + "/"])
    result = _by_id(pack.evaluate(snapshot))["okta_app_signin_redirect_uri"]
    assert result.expected == GOOD_REDIRECT
    assert result.actual == [GOOD_REDIRECT + "/"]
    json.dumps(result.model_dump(mode="json"))


def test_remediation_names_the_tenant(pack: RulePack) -> None:
    """The remediation of a failing rule has the tenant's own URLs filled in."""
    snapshot = change(compliant_snapshot("globex", "rapticore.io"), REDIRECTS, [])
    result = _by_id(pack.evaluate(snapshot))["okta_app_signin_redirect_uri"]
    assert "https://auth.globex.rapticore.io/oauth2/idpresponse" in (result.remediation or "")
    assert "{tenant}" not in (result.remediation or "")


def test_every_result_has_severity_and_title(pack: RulePack) -> None:
    """Each result carries its rule's severity and title, pass or not."""
    for rule, result in zip(pack.rules, pack.evaluate(compliant_snapshot()), strict=True):
        assert result.severity is rule.severity
        assert result.title == rule.title
