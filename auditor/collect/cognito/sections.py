"""The three Cognito sections: the identity provider, the app clients, the domain.

Each reads its calls' responses through a wire model (:mod:`auditor.collect.shape`),
then into the snapshot models, turning every secret value into a
:class:`~auditor.snapshot.SecretRef` on arrival. Not found is a finding: no provider of
that name, no domain or no user pool make a section ``absent``; no app client enabling
the provider is ``ok([])``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import Field

from auditor.collect.cognito.advice import NotFoundError
from auditor.collect.shape import Wire, parse
from auditor.snapshot import (
    CognitoAppClient,
    CognitoDomain,
    CognitoIdentityProvider,
    CognitoProviderDetails,
    SecretRef,
    Section,
)

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

    from auditor.collect.cognito.advice import Advisor
    from auditor.collect.secrets import SecretHasher

# ListUserPoolClients' largest page.
_PAGE_SIZE = 60

# ProviderDetails keys with a field of their own in CognitoProviderDetails.
_KNOWN_DETAILS = (
    "client_id",
    "oidc_issuer",
    "authorize_scopes",
    "attributes_request_method",
    "authorize_url",
    "token_url",
    "attributes_url",
    "jwks_uri",
)
# An unknown ProviderDetails key whose name contains one of these holds a secret
# (Apple's private_key, a future *_secret): it is kept as a fingerprint, never as found.
_SECRET_KEY_HINTS = ("secret", "private_key", "password")


# ------------------------------------------------------------------------ wire models
# The cognito-idp API's own shapes, only the keys the audit reads. Where the snapshot
# model has the API's field names, the wire model is that model plus what arrives in
# another form (a secret value, the custom domain's configuration). The snapshot-only
# fields (client_secret, CustomDomain) are not API keys, so botocore never passes them
# on; they are dropped from the dump all the same and set by the collector alone.


class _IdentityProvider(Wire):
    ProviderName: str
    ProviderType: str | None = None
    ProviderDetails: dict[str, str] = Field(default_factory=dict)
    AttributeMapping: dict[str, str] = Field(default_factory=dict)
    IdpIdentifiers: list[str] = Field(default_factory=list)


class _DescribeIdentityProvider(Wire):
    IdentityProvider: _IdentityProvider


class _ClientSummary(Wire):
    ClientId: str


class _ClientsPage(Wire):
    UserPoolClients: list[_ClientSummary] = Field(default_factory=list)


class _UserPoolClient(CognitoAppClient):
    ClientSecret: str | None = None


class _DescribeUserPoolClient(Wire):
    UserPoolClient: _UserPoolClient


class _CustomDomainConfig(Wire):
    CertificateArn: str | None = None


class _DomainDescription(CognitoDomain):
    CustomDomainConfig: _CustomDomainConfig | None = None


class _DescribeUserPoolDomain(Wire):
    DomainDescription: _DomainDescription


# --------------------------------------------------------------------------- sections


@dataclass
class Sections:
    """Collects one tenant's sections; call :meth:`app_clients` first (see there)."""

    advisor: Advisor
    hasher: SecretHasher
    provider_name: str
    domain_name: str
    # True once a call has proved the pool exists; None while unknown.
    pool_exists: bool | None = None

    @property
    def pool_id(self) -> str:
        """The configured user pool id."""
        return self.advisor.pool_id

    @property
    def pool_missing_reason(self) -> str:
        """Why every section is absent when the pool itself is."""
        return (
            f"user pool {self.pool_id!r} does not exist in {self.advisor.region} (in the AWS "
            "account the auditor's credentials reach): check cognito.user_pool_id, "
            "cognito.region and cognito.role_arn in the config"
        )

    def app_clients(self, client: CognitoIdentityProviderClient) -> Section[list[CognitoAppClient]]:
        """The app clients that list the provider, sorted by id.

        ListUserPoolClients is the one call whose not-found can only mean "no such pool",
        which then tells the other sections what their not-found means.
        """
        paginator = client.get_paginator("list_user_pool_clients")
        try:
            pages = self.advisor.call(
                "cognito-idp",
                "ListUserPoolClients",
                lambda: list(
                    paginator.paginate(
                        UserPoolId=self.pool_id, PaginationConfig={"PageSize": _PAGE_SIZE}
                    )
                ),
            )
        except NotFoundError:
            self.pool_exists = False
            return Section.absent(self.pool_missing_reason)
        self.pool_exists = True
        listed = parse(list[_ClientsPage], pages, "cognito-idp:ListUserPoolClients")
        enabling: list[CognitoAppClient] = []
        for summary in (entry for page in listed for entry in page.UserPoolClients):
            try:
                response = self.advisor.call(
                    "cognito-idp",
                    "DescribeUserPoolClient",
                    functools.partial(
                        client.describe_user_pool_client,
                        UserPoolId=self.pool_id,
                        ClientId=summary.ClientId,
                    ),
                )
            except NotFoundError:
                continue  # deleted between the listing and now: it enables nothing
            app_client = self._app_client(
                parse(
                    _DescribeUserPoolClient, response, "cognito-idp:DescribeUserPoolClient"
                ).UserPoolClient
            )
            if self.provider_name in app_client.SupportedIdentityProviders:
                enabling.append(app_client)
        enabling.sort(key=lambda c: c.ClientId)  # stable order: no drift from listing order
        return Section[list[CognitoAppClient]].ok(enabling)

    def idp(self, client: CognitoIdentityProviderClient) -> Section[CognitoIdentityProvider]:
        """The identity provider named ``provider_name``."""
        if self.pool_exists is False:
            return Section.absent(self.pool_missing_reason)
        try:
            response = self.advisor.call(
                "cognito-idp",
                "DescribeIdentityProvider",
                lambda: client.describe_identity_provider(
                    UserPoolId=self.pool_id, ProviderName=self.provider_name
                ),
            )
        except NotFoundError as not_found:
            if self.pool_exists is None and _says_pool_missing(not_found.aws_message):
                # ListUserPoolClients could not tell (it failed); Cognito's own message
                # ("User pool ... does not exist.") does.
                self.pool_exists = False
                return Section.absent(self.pool_missing_reason)
            return Section.absent(
                f"no identity provider named {self.provider_name!r} in pool {self.pool_id} "
                f"({self.advisor.region}): create the OIDC provider from the Okta app's "
                "client id, client secret and issuer URL, or fix cognito.provider_name in "
                "the config"
            )
        self.pool_exists = True
        raw = parse(
            _DescribeIdentityProvider, response, "cognito-idp:DescribeIdentityProvider"
        ).IdentityProvider
        return Section.ok(self._identity_provider(raw))

    def domain(self, client: CognitoIdentityProviderClient) -> Section[CognitoDomain]:
        """The user pool domain ``auth.<tenant>.<base_domain>``, whichever pool holds it."""
        if self.pool_exists is False:
            return Section.absent(self.pool_missing_reason)
        try:
            response = self.advisor.call(
                "cognito-idp",
                "DescribeUserPoolDomain",
                lambda: client.describe_user_pool_domain(Domain=self.domain_name),
            )
        except NotFoundError:
            return self._no_domain()
        if not response.get("DomainDescription"):
            return self._no_domain()  # how Cognito says it: an empty description
        raw = parse(
            _DescribeUserPoolDomain, response, "cognito-idp:DescribeUserPoolDomain"
        ).DomainDescription
        custom = raw.CustomDomainConfig
        return Section.ok(
            CognitoDomain(
                **raw.model_dump(exclude={"CustomDomainConfig", "CustomDomain"}),
                CustomDomain=bool(custom and custom.CertificateArn),
            )
        )

    def _no_domain(self) -> Section[CognitoDomain]:
        return Section.absent(
            f"no user pool domain {self.domain_name!r}: add it to pool {self.pool_id} as "
            "a custom domain (with its ACM certificate in us-east-1), since Okta "
            f"redirects to https://{self.domain_name}/oauth2/idpresponse"
        )

    # ----------------------------------------------------------------- normalizing

    def _secret_ref(self, value: str) -> SecretRef:
        self.advisor.scrubber.add(value)
        return self.hasher.ref(value)

    def _identity_provider(self, raw: _IdentityProvider) -> CognitoIdentityProvider:
        details = dict(raw.ProviderDetails)
        secret = details.pop("client_secret", None)
        other: dict[str, str] = {}
        for key in sorted(set(details) - set(_KNOWN_DETAILS)):
            value = details[key]
            if any(hint in key.lower() for hint in _SECRET_KEY_HINTS):
                ref = self._secret_ref(value)
                value = "redacted:masked" if ref.masked else f"redacted:{ref.fingerprint}"
            other[key] = value
        provider_details = CognitoProviderDetails(
            **{key: details.get(key) for key in _KNOWN_DETAILS},
            client_secret=None if secret is None else self._secret_ref(secret),
            other=other,
        )
        return CognitoIdentityProvider(
            ProviderName=raw.ProviderName,
            ProviderType=raw.ProviderType,
            ProviderDetails=provider_details,
            AttributeMapping=raw.AttributeMapping,
            IdpIdentifiers=raw.IdpIdentifiers,
        )

    def _app_client(self, raw: _UserPoolClient) -> CognitoAppClient:
        secret = raw.ClientSecret
        return CognitoAppClient(
            **raw.model_dump(exclude={"ClientSecret", "client_secret"}),
            client_secret=None if secret is None else self._secret_ref(secret),
        )


def _says_pool_missing(aws_message: str) -> bool:
    text = aws_message.lower()
    return "user pool" in text and "does not exist" in text
