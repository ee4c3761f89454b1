"""Fixture builders: a compliant tenant snapshot, then one change per test.

    snap = compliant_snapshot()                                   # every rule passes
    snap = change(snap, "okta.app.status", "INACTIVE")            # one field
    snap = change(snap, "okta.app.settings.oauthClient.redirect_uris", ["https://..."])
    snap = remove(snap, "okta.profile_mapping.properties.given_name")   # a dict key
    snap = with_section(snap, "okta.grants", Section.error("HTTP 500"))  # a section
    snap = app_not_found(snap)      # what the collector records for a 404 app

Paths are the rule engine's key paths: dotted, through Section wrappers (which must be
``ok`` to change something inside them), dict keys and list indexes. Every change is
validated against the snapshot models, so a typo or a wrong type fails loudly.

Secrets: the Okta app's secret and Cognito's copy are :class:`SecretRef` values made by
the real :class:`SecretHasher` (fixed key), so their in-memory SHA-256 digests match.
:func:`sensitive_strings` lists everything that must never appear in a result.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel

from auditor.collect.secrets import SecretHasher
from auditor.snapshot import (
    CognitoAppClient,
    CognitoDomain,
    CognitoHalf,
    CognitoIdentityProvider,
    CognitoProviderDetails,
    CollectionError,
    OidcDiscovery,
    OktaApp,
    OktaAppCredentials,
    OktaAppSettings,
    OktaAssignments,
    OktaClientSecret,
    OktaHalf,
    OktaOAuthClientCredentials,
    OktaOAuthClientSettings,
    OktaProfileMapping,
    OktaProfileMappingEnd,
    OktaProfileMappingProperty,
    OktaScopeGrant,
    SecretRef,
    Section,
    SectionStatus,
    TenantSnapshot,
)

APP_ID = "0oa8k2x4fzQv7Hm1d5d7"
USER_POOL_ID = "us-east-1_AbCdEf"
PROVIDER_NAME = "Okta"
DEFAULT_USER_TYPE_ID = "otyDefaultUserType01"
APP_CLIENT_ID = "5h2kq0rapticoreweb01"
REQUIRED_SCOPES = (
    "okta.users.read",
    "okta.users.read.self",
    "okta.userTypes.read",
    "okta.profileMappings.read",
)
COLLECTED_AT = "2025-01-01T00:00:00Z"

HASHER = SecretHasher(b"tests-fingerprint-key-0123456789")


def okta_client_secret(tenant_id: str = "acme") -> str:
    """The (fake) client secret of a tenant's Okta app, as the customer sent it."""
    return f"{tenant_id}-Okta-client-secret-0123456789abcdefXYZ"


def secret_ref(value: str) -> SecretRef:
    """A SecretRef for ``value``, with fingerprint and in-memory digest."""
    return HASHER.ref(value)


def masked_ref() -> SecretRef:
    """What Okta's masked secret values (``abc*****``) become."""
    return HASHER.ref("abcd*****************")


# --------------------------------------------------------------------- the compliant one


def _okta_app(tenant_id: str, base_domain: str) -> OktaApp:
    return OktaApp(
        id=APP_ID,
        name="oidc_client",
        label="Rapticore",
        status="ACTIVE",
        signOnMode="OPENID_CONNECT",
        settings=OktaAppSettings(
            oauthClient=OktaOAuthClientSettings(
                application_type="web",
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                redirect_uris=[f"https://auth.{tenant_id}.{base_domain}/oauth2/idpresponse"],
                post_logout_redirect_uris=[f"https://{tenant_id}.{base_domain}"],
                initiate_login_uri=None,
                consent_method="REQUIRED",
                issuer_mode="ORG_URL",
            )
        ),
        credentials=OktaAppCredentials(
            oauthClient=OktaOAuthClientCredentials(
                client_id=APP_ID,
                token_endpoint_auth_method="client_secret_post",
                autoKeyRotation=True,
                pkce_required=False,
            )
        ),
    )


def _grants(org_url: str) -> list[OktaScopeGrant]:
    return [
        OktaScopeGrant(
            id=f"oag{i:02d}grant{scope.replace('.', '')}"[:20],
            scopeId=scope,
            status="ACTIVE",
            issuer=org_url,
            source="ADMIN",
        )
        for i, scope in enumerate(REQUIRED_SCOPES)
    ]


def _profile_mapping() -> OktaProfileMapping:
    return OktaProfileMapping(
        id="prm1defaultToRapticore",
        source=OktaProfileMappingEnd(id=DEFAULT_USER_TYPE_ID, name="user", type="user"),
        target=OktaProfileMappingEnd(id=APP_ID, name="oidc_client", type="appuser"),
        properties={
            "email": OktaProfileMappingProperty(expression="user.email", pushStatus="PUSH"),
            "given_name": OktaProfileMappingProperty(
                expression="user.firstName", pushStatus="PUSH"
            ),
            "family_name": OktaProfileMappingProperty(
                expression="user.lastName", pushStatus="PUSH"
            ),
        },
    )


def _discovery(issuer: str) -> OidcDiscovery:
    return OidcDiscovery(
        url=f"{issuer}/.well-known/openid-configuration",
        issuer=issuer,
        authorization_endpoint=f"{issuer}/oauth2/v1/authorize",
        token_endpoint=f"{issuer}/oauth2/v1/token",
        jwks_uri=f"{issuer}/oauth2/v1/keys",
        response_types_supported=["code", "id_token", "code id_token"],
        scopes_supported=["openid", "email", "profile", "offline_access"],
    )


def compliant_snapshot(
    tenant_id: str = "acme", base_domain: str = "rapticore.io"
) -> TenantSnapshot:
    """A tenant whose every section is collected and passes every rule of the pack."""
    org_url = f"https://{tenant_id}.okta.com"
    secret = okta_client_secret(tenant_id)
    okta = OktaHalf(
        org_url=org_url,
        custom_domain=None,
        app_id=APP_ID,
        app=Section.ok(_okta_app(tenant_id, base_domain)),
        grants=Section.ok(_grants(org_url)),
        default_user_type_id=Section.ok(DEFAULT_USER_TYPE_ID),
        profile_mapping=Section.ok(_profile_mapping()),
        secrets=Section.ok(
            [OktaClientSecret(id="ocs1activeSecret", status="ACTIVE", secret=secret_ref(secret))]
        ),
        assignments=Section.ok(
            OktaAssignments(group_ids=["00g1rapticoreUsers"], user_ids=[], users_truncated=False)
        ),
        discovery=Section.ok(_discovery(org_url)),
    )
    cognito = CognitoHalf(
        region="us-east-1",
        user_pool_id=USER_POOL_ID,
        provider_name=PROVIDER_NAME,
        idp=Section.ok(
            CognitoIdentityProvider(
                ProviderName=PROVIDER_NAME,
                ProviderType="OIDC",
                ProviderDetails=CognitoProviderDetails(
                    client_id=APP_ID,
                    client_secret=secret_ref(secret),
                    oidc_issuer=org_url,
                    authorize_scopes="openid email profile",
                    attributes_request_method="GET",
                ),
                AttributeMapping={"email": "email", "username": "sub"},
            )
        ),
        app_clients=Section.ok(
            [
                CognitoAppClient(
                    ClientId=APP_CLIENT_ID,
                    ClientName="rapticore-web",
                    SupportedIdentityProviders=["COGNITO", PROVIDER_NAME],
                    AllowedOAuthFlows=["code"],
                    AllowedOAuthFlowsUserPoolClient=True,
                    AllowedOAuthScopes=["openid", "email", "profile"],
                    CallbackURLs=[f"https://{tenant_id}.{base_domain}/auth/callback"],
                    LogoutURLs=[f"https://{tenant_id}.{base_domain}"],
                )
            ]
        ),
        domain=Section.ok(
            CognitoDomain(
                Domain=f"auth.{tenant_id}.{base_domain}",
                UserPoolId=USER_POOL_ID,
                Status="ACTIVE",
                CloudFrontDistribution="d111111abcdef8.cloudfront.net",
                CustomDomain=True,
            )
        ),
    )
    return TenantSnapshot(
        tenant_id=tenant_id,
        base_domain=base_domain,
        collected_at=COLLECTED_AT,
        okta=okta,
        cognito=cognito,
    )


# -------------------------------------------------------------------------- changing

_DELETE = object()


def _rebuild(model: BaseModel, name: str, value: object) -> BaseModel:
    """``model`` with one field replaced, validated (nested instances are kept as is)."""
    data: dict[str, Any] = {field: getattr(model, field) for field in type(model).model_fields}
    data[name] = value
    return type(model).model_validate(data)


def _replace(node: object, segments: list[str], value: object, path: str) -> object:
    if not segments:
        return value
    if isinstance(node, Section):
        if node.status is not SectionStatus.OK:
            raise ValueError(f"{path}: the section is {node.status.value}; use with_section()")
        inner = _replace(node.value, segments, value, path)
        data = {"status": node.status, "value": inner, "reason": node.reason}
        return type(node).model_validate(data)
    head, rest = segments[0], segments[1:]
    if isinstance(node, BaseModel):
        return _replace_field(node, head, rest, value, path)
    if isinstance(node, dict | list):
        return _replace_item(node, head, rest, value, path)
    raise ValueError(f"{path}: cannot go into {type(node).__name__} with {head!r}")


def _replace_field(
    node: BaseModel, head: str, rest: list[str], value: object, path: str
) -> BaseModel:
    if head not in type(node).model_fields:
        raise ValueError(f"{path}: {type(node).__name__} has no field {head!r}")
    if value is _DELETE and not rest:
        raise ValueError(f"{path}: a model field cannot be removed; set it to None")
    child = getattr(node, head)
    if not rest and isinstance(child, Section) and not isinstance(value, Section):
        # change(snap, "okta.grants", [...]): a plain value makes the section ok.
        value = type(child).model_validate({"status": SectionStatus.OK, "value": value})
    return _rebuild(node, head, _replace(child, rest, value, path))


def _replace_item(
    node: dict[str, object] | list[object], head: str, rest: list[str], value: object, path: str
) -> object:
    if isinstance(node, dict):
        mapping = dict(node)
        if value is _DELETE and not rest:
            mapping.pop(head)
        else:
            mapping[head] = _replace(node.get(head), rest, value, path)
        return mapping
    if not head.isdigit() or int(head) >= len(node):
        raise ValueError(f"{path}: {head!r} is not an index of this list of {len(node)}")
    items = list(node)
    if value is _DELETE and not rest:
        del items[int(head)]
    else:
        items[int(head)] = _replace(node[int(head)], rest, value, path)
    return items


def change(snapshot: TenantSnapshot, path: str, value: object) -> TenantSnapshot:
    """``snapshot`` with the value at ``path`` replaced (validated against the models)."""
    result = _replace(snapshot, path.split("."), value, path)
    assert isinstance(result, TenantSnapshot)
    return result


def change_many(snapshot: TenantSnapshot, changes: dict[str, object]) -> TenantSnapshot:
    """Several :func:`change` calls, in order."""
    for path, value in changes.items():
        snapshot = change(snapshot, path, value)
    return snapshot


def remove(snapshot: TenantSnapshot, path: str) -> TenantSnapshot:
    """``snapshot`` without the dict key or list item at ``path``."""
    result = _replace(snapshot, path.split("."), _DELETE, path)
    assert isinstance(result, TenantSnapshot)
    return result


def _error_source(path: str) -> Literal["okta", "cognito", "discovery"]:
    if path == "okta.discovery":
        return "discovery"
    return "cognito" if path.startswith("cognito.") else "okta"


def with_section(snapshot: TenantSnapshot, path: str, section: Section[Any]) -> TenantSnapshot:
    """``snapshot`` with the section at ``path`` (``okta.grants``...) replaced.

    An ``error`` section is also listed in ``snapshot.errors``, as the collector does.
    """
    parent_path, _, name = path.rpartition(".")
    result = _replace(snapshot, path.split("."), section, path)
    assert isinstance(result, TenantSnapshot)
    if section.status is SectionStatus.ERROR:
        error = CollectionError(
            source=_error_source(path),
            section=f"{parent_path}.{name}",
            message=section.reason or "error",
        )
        result = change(result, "errors", [*result.errors, error])
    return result


# ------------------------------------------------------------ common situations


def app_not_found(snapshot: TenantSnapshot) -> TenantSnapshot:
    """Okta answered 404 for the app: it is absent and everything read from it skipped."""
    skipped = "the Okta app was not found"
    snapshot = with_section(snapshot, "okta.app", Section.absent("Okta answered 404 Not Found"))
    for name in ("grants", "profile_mapping", "secrets", "assignments"):
        snapshot = with_section(snapshot, f"okta.{name}", Section.skipped(skipped))
    return snapshot


def idp_not_found(snapshot: TenantSnapshot) -> TenantSnapshot:
    """The user pool has no provider named provider_name; its issuer is unknown."""
    snapshot = with_section(
        snapshot, "cognito.idp", Section.absent(f"no identity provider named {PROVIDER_NAME}")
    )
    return with_section(snapshot, "okta.discovery", Section.skipped("the Cognito IdP is missing"))


def issuer_off_org(snapshot: TenantSnapshot, issuer: str) -> TenantSnapshot:
    """The IdP's oidc_issuer is not on the org: the collector never fetches it."""
    snapshot = change(snapshot, "cognito.idp.ProviderDetails.oidc_issuer", issuer)
    reason = "the issuer is not on the tenant's Okta org, so it was not fetched"
    return with_section(snapshot, "okta.discovery", Section.skipped(reason))


def sensitive_strings(snapshot: TenantSnapshot) -> set[str]:
    """Every secret-derived string in ``snapshot`` (digests, fingerprints, raw values).

    Raw values are the builder's own secrets, recomputed from the tenant id.
    """
    found = {okta_client_secret(snapshot.tenant_id)}
    found.add(hashlib.sha256(okta_client_secret(snapshot.tenant_id).encode()).hexdigest())

    def walk(value: object) -> None:
        if isinstance(value, SecretRef):
            found.update(v for v in (value.sha256, value.fingerprint) if v)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(snapshot)
    return found
