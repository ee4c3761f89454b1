"""The TenantSnapshot: one normalized, redacted picture of both halves of a tenant's SSO.

Collectors produce it, rules read it, the store keeps it, drift diffs it. Nothing
downstream ever sees an okta SDK model or a boto3 dict: only these models.

Three principles shape it:

* **Values as found.** Enumerations are plain strings, so a grant type Okta adds next
  year (or a typo an admin saved) is kept and judged by a rule instead of crashing the
  parser. Fields the source did not send are ``None``; an empty list is an empty list.
* **Absent is not error.** Every collected part is a :class:`Section` whose ``status``
  says whether it was collected (``ok``), looked for and not there (``absent``: a 404 app,
  no IdP of that name), not collected because the call failed (``error``), or not tried
  because what it depends on is missing (``skipped``). A rule that needs an ``error``
  section can never pass.
* **No secret values.** Client secrets arrive here only as a keyed fingerprint (for drift,
  safe to store) and, in memory only, as a SHA-256 digest (for the cross-half comparison),
  which is excluded from every serialization.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SNAPSHOT_SCHEMA = "auditor.snapshot/1"

T = TypeVar("T")


class Model(BaseModel):
    """Base for snapshot models: immutable, and strict about our own field names."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SectionStatus(StrEnum):
    """How a part of the snapshot came to be (or not to be)."""

    OK = "ok"
    ABSENT = "absent"
    ERROR = "error"
    SKIPPED = "skipped"


class Section(Model, Generic[T]):
    """One collected part of a tenant: its value, or why there is none."""

    status: SectionStatus
    value: T | None = None
    reason: str | None = Field(
        default=None, description="Why the value is absent, errored or skipped."
    )

    @classmethod
    def ok(cls, value: T) -> Section[T]:
        """A part that was collected."""
        return cls(status=SectionStatus.OK, value=value)

    @classmethod
    def absent(cls, reason: str) -> Section[T]:
        """A part that was looked for and does not exist."""
        return cls(status=SectionStatus.ABSENT, reason=reason)

    @classmethod
    def error(cls, reason: str) -> Section[T]:
        """A part that could not be collected."""
        return cls(status=SectionStatus.ERROR, reason=reason)

    @classmethod
    def skipped(cls, reason: str) -> Section[T]:
        """A part not attempted because what it depends on is missing."""
        return cls(status=SectionStatus.SKIPPED, reason=reason)


# --------------------------------------------------------------------------- Okta half
#
# Field names follow Okta's JSON on purpose: a drift path such as
# ``okta.app.settings.oauthClient.redirect_uris`` then reads exactly like the field an
# Okta admin sees in the API and the docs.


class OktaOAuthClientSettings(Model):
    """``settings.oauthClient`` of an OIDC app, as Okta sent it."""

    application_type: str | None = None
    grant_types: list[str] | None = None
    response_types: list[str] | None = None
    redirect_uris: list[str] | None = None
    post_logout_redirect_uris: list[str] | None = None
    initiate_login_uri: str | None = None
    consent_method: str | None = None
    issuer_mode: str | None = None


class OktaAppSettings(Model):
    """``settings`` of an OIDC app."""

    oauthClient: OktaOAuthClientSettings | None = None


class OktaOAuthClientCredentials(Model):
    """``credentials.oauthClient``: the public half of the app's client credentials."""

    client_id: str | None = None
    token_endpoint_auth_method: str | None = None
    autoKeyRotation: bool | None = None
    pkce_required: bool | None = None


class OktaAppCredentials(Model):
    """``credentials`` of an OIDC app."""

    oauthClient: OktaOAuthClientCredentials | None = None


class OktaApp(Model):
    """The customer's Okta OIDC web app (configuration fields only, no timestamps)."""

    id: str
    name: str | None = None
    label: str | None = None
    status: str | None = None
    signOnMode: str | None = None
    settings: OktaAppSettings | None = None
    credentials: OktaAppCredentials | None = None


class OktaScopeGrant(Model):
    """One Okta API scope consent grant of the app (``/apps/{id}/grants``)."""

    id: str
    scopeId: str | None = None
    status: str | None = None
    issuer: str | None = None
    source: str | None = None


class OktaProfileMappingEnd(Model):
    """The source or target of a profile mapping."""

    id: str | None = None
    name: str | None = None
    type: str | None = None


class OktaProfileMappingProperty(Model):
    """One mapped attribute: the Okta expression that fills it."""

    expression: str | None = None
    pushStatus: str | None = None


class OktaProfileMapping(Model):
    """The mapping from the default Okta user type to the app."""

    id: str
    source: OktaProfileMappingEnd | None = None
    target: OktaProfileMappingEnd | None = None
    properties: dict[str, OktaProfileMappingProperty] = Field(default_factory=dict)


class SecretRef(Model):
    """A secret, reduced to what may safely exist outside the collector.

    ``fingerprint`` is a keyed HMAC (see :mod:`auditor.collect.secrets`): stable across
    runs of one installation, so drift can say "rotated", and useless to anyone without
    the installation's key. ``sha256`` is the plain digest the cross-half rule compares;
    it lives in memory only and is excluded from every dump.
    """

    fingerprint: str | None = None
    masked: bool = False
    sha256: str | None = Field(default=None, exclude=True, repr=False)


class OktaClientSecret(Model):
    """One of the app's client secrets (``/apps/{id}/credentials/secrets``)."""

    id: str
    status: str | None = None
    secret: SecretRef


class OktaAssignments(Model):
    """Who the app is assigned to. User ids are capped so huge orgs stay cheap."""

    group_ids: list[str]
    user_ids: list[str]
    users_truncated: bool = False


class OidcDiscovery(Model):
    """The issuer's OIDC discovery document, fields the audit cares about."""

    url: str
    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    jwks_uri: str | None = None
    response_types_supported: list[str] | None = None
    scopes_supported: list[str] | None = None


class OktaHalf(Model):
    """The customer's side, read through the okta SDK."""

    org_url: str
    custom_domain: str | None = None
    custom_domain_url: str | None = Field(
        default=None,
        exclude=True,
        description=(
            "The custom domain as the origin the collector used (https, or http for an "
            "allowed loopback host), so the issuer rule judges the same origin. Derived "
            "from the config, not collected: in memory only, like SecretRef.sha256."
        ),
    )
    app_id: str | None = Field(
        default=None, description="The app id audited: configured, or the IdP's client_id."
    )
    app: Section[OktaApp]
    grants: Section[list[OktaScopeGrant]]
    default_user_type_id: Section[str]
    profile_mapping: Section[OktaProfileMapping]
    secrets: Section[list[OktaClientSecret]]
    assignments: Section[OktaAssignments]
    discovery: Section[OidcDiscovery]

    @classmethod
    def without_app_parts(  # noqa: PLR0913 - every field but the parts, by name
        cls,
        *,
        org_url: str,
        custom_domain: str | None,
        app_id: str | None,
        app: Section[OktaApp],
        parts: Section[Any],
        discovery: Section[OidcDiscovery],
        custom_domain_url: str | None = None,
    ) -> OktaHalf:
        """A half whose app-dependent parts (grants ... assignments) all share one state."""
        return cls(
            org_url=org_url,
            custom_domain=custom_domain,
            custom_domain_url=custom_domain_url,
            app_id=app_id,
            app=app,
            grants=parts,
            default_user_type_id=parts,
            profile_mapping=parts,
            secrets=parts,
            assignments=parts,
            discovery=discovery,
        )


# ------------------------------------------------------------------------ Cognito half
#
# Field names follow the cognito-idp API (ProviderDetails keys included), for the same
# reason as above.


class CognitoProviderDetails(Model):
    """``ProviderDetails`` of an OIDC identity provider, secret replaced by a reference."""

    client_id: str | None = None
    client_secret: SecretRef | None = None
    oidc_issuer: str | None = None
    authorize_scopes: str | None = None
    attributes_request_method: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    attributes_url: str | None = None
    jwks_uri: str | None = None
    other: dict[str, str] = Field(
        default_factory=dict, description="Any other ProviderDetails key, value as found."
    )


class CognitoIdentityProvider(Model):
    """The user pool's identity provider named ``provider_name``."""

    ProviderName: str
    ProviderType: str | None = None
    ProviderDetails: CognitoProviderDetails
    AttributeMapping: dict[str, str] = Field(default_factory=dict)
    IdpIdentifiers: list[str] = Field(default_factory=list)


class CognitoAppClient(Model):
    """A user pool app client (only those that matter for federation)."""

    ClientId: str
    ClientName: str | None = None
    SupportedIdentityProviders: list[str] = Field(default_factory=list)
    AllowedOAuthFlows: list[str] = Field(default_factory=list)
    AllowedOAuthFlowsUserPoolClient: bool | None = None
    AllowedOAuthScopes: list[str] = Field(default_factory=list)
    CallbackURLs: list[str] = Field(default_factory=list)
    LogoutURLs: list[str] = Field(default_factory=list)
    client_secret: SecretRef | None = None


class CognitoDomain(Model):
    """The user pool domain ``auth.<tenant>.<base_domain>``."""

    Domain: str
    UserPoolId: str | None = None
    Status: str | None = None
    CloudFrontDistribution: str | None = None
    CustomDomain: bool = Field(
        default=False, description="True when a custom domain certificate is configured."
    )


class CognitoHalf(Model):
    """Rapticore's side, read through boto3 cognito-idp."""

    region: str
    user_pool_id: str
    provider_name: str
    idp: Section[CognitoIdentityProvider]
    app_clients: Section[list[CognitoAppClient]]
    domain: Section[CognitoDomain]


# ---------------------------------------------------------------------------- Snapshot

ErrorSource = Literal["okta", "cognito", "discovery"]


class CollectionError(Model):
    """Something that could finally not be collected (after the SDK's own retries)."""

    source: ErrorSource
    section: str
    message: str


class TenantSnapshot(Model):
    """Both halves of one tenant's federation, as collected at one moment."""

    schema_: str = Field(default=SNAPSHOT_SCHEMA, alias="schema")
    tenant_id: str
    base_domain: str
    collected_at: str = Field(description="RFC 3339, UTC. Volatile: never drift.")
    okta: OktaHalf
    cognito: CognitoHalf
    errors: list[CollectionError] = Field(default_factory=list)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def has_errors(self) -> bool:
        """True when any part of the tenant could not be collected."""
        return bool(self.errors)

    def to_jsonable(self) -> dict[str, Any]:
        """Plain JSON data: secrets' in-memory digests are left out by the models."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self) -> str:
        """Deterministic JSON: sorted keys, so equal snapshots are equal bytes."""
        return json.dumps(self.to_jsonable(), sort_keys=True, indent=2, ensure_ascii=False)
