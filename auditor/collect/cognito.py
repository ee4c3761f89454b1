"""Reads Rapticore's half of a tenant's federation from Cognito, through boto3 cognito-idp.

Three parts are read, each into its own :class:`~auditor.snapshot.Section`:

* ``idp``: the user pool's identity provider named ``cognito.provider_name``
  (``DescribeIdentityProvider``);
* ``app_clients``: the app clients that list that provider in
  ``SupportedIdentityProviders`` (``ListUserPoolClients``, every page, then
  ``DescribeUserPoolClient`` per client, since only the latter shows the providers);
* ``domain``: the user pool domain ``auth.<tenant>.<base_domain>``
  (``DescribeUserPoolDomain``).

Endpoints, credentials and profiles follow boto3's own settings (``AWS_ENDPOINT_URL``,
``AWS_PROFILE``...); with ``cognito.role_arn`` the collector first assumes that role.

What the audit may rely on:

* Nothing leaves this module as a boto3 dict: responses are normalized into the snapshot
  models, and every secret value (the provider's ``client_secret``, app clients'
  ``ClientSecret``) is turned into a :class:`~auditor.snapshot.SecretRef` on arrival.
* Not found is a finding, not an error: no provider of that name, no domain, or no
  user pool make the sections ``absent``; no enabling app client is ``ok([])``.
* Anything else that fails (AWS errors, throttling that outlasted the retries, network,
  timeouts, credentials, a response of an unexpected shape) makes that section ``error``
  with a :class:`~auditor.snapshot.CollectionError` saying what failed and how to fix
  it. The collector never raises, and what it collected before a failure is kept.
* No secret value appears in a message or a log line: messages are built from codes and
  names, and any text that came from AWS is scrubbed of the secrets seen so far.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, cast

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError
from pydantic import ValidationError

from auditor.snapshot import (
    CognitoAppClient,
    CognitoDomain,
    CognitoHalf,
    CognitoIdentityProvider,
    CognitoProviderDetails,
    CollectionError,
    SecretRef,
    Section,
)

if TYPE_CHECKING:
    import boto3.session
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_sts import STSClient

    from auditor.collect.secrets import SecretHasher
    from auditor.config import TenantConfig

logger = logging.getLogger(__name__)

ROLE_SESSION_NAME = "rapticore-sso-auditor"
# The shortest session STS allows: one tenant's audit takes seconds.
_ROLE_SESSION_SECONDS = 900
# ListUserPoolClients' largest page.
_PAGE_SIZE = 60
# How much of an AWS error message is quoted back (they can be long XML-ish blobs).
_MAX_AWS_MESSAGE = 300

SectionName = Literal["idp", "app_clients", "domain"]
SECTIONS: tuple[SectionName, ...] = ("idp", "app_clients", "domain")

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

_THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded"}
)
_ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
# The credentials themselves were refused: every later call would fail the same way.
_BAD_CREDENTIALS_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)

# Shorter "secrets" would redact ordinary words from messages.
_MIN_SCRUB_LENGTH = 4

R = TypeVar("R")
V = TypeVar("V")


class _Credentials(NamedTuple):
    """Temporary credentials from sts:AssumeRole; all None: the session's own chain."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None


@dataclass(frozen=True)
class CognitoClientSettings:
    """How hard the collector tries one AWS call. The defaults suit a nightly audit.

    Retries use botocore's ``standard`` mode, set explicitly: in the ``legacy`` mode
    (still botocore's default) Cognito's ``TooManyRequestsException`` is never retried,
    so a busy account would turn throttling into collection errors.
    """

    max_attempts: int = 5
    """Attempts per call, the first included (``total_max_attempts``)."""
    connect_timeout: float = 5.0
    read_timeout: float = 15.0

    def botocore_config(self) -> Config:
        """The botocore client configuration these settings stand for."""
        return Config(
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            user_agent_extra=ROLE_SESSION_NAME,
        )


def collect_cognito(
    tenant: TenantConfig,
    base_domain: str,
    hasher: SecretHasher,
    *,
    session: boto3.session.Session | None = None,
    settings: CognitoClientSettings | None = None,
) -> tuple[CognitoHalf, list[CollectionError]]:
    """Read the tenant's Cognito half; never raises, failures are ``error`` sections.

    ``session`` supplies credentials and settings (default: boto3's usual chain, from a
    fresh session, so concurrent tenants never share a session). Each errored section
    has exactly one :class:`CollectionError` whose ``section`` is the section's name.
    """
    reader = _CognitoReader(
        tenant, base_domain, hasher, session, settings or CognitoClientSettings()
    )
    return reader.run()


# ----------------------------------------------------------------------------- failures


class _NotFoundError(Exception):
    """Cognito answered ResourceNotFoundException: a finding, not an error."""

    def __init__(self, aws_message: str) -> None:
        super().__init__(aws_message)
        self.aws_message = aws_message


class _FailureError(Exception):
    """A call that finally failed: ``message`` is for people (no secrets).

    ``fatal`` means every later call would fail the same way (unreachable endpoint,
    refused credentials): the remaining sections are then not attempted.
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.fatal = fatal


class _ShapeError(Exception):
    """A response that does not have the shape the cognito-idp API documents."""


# ------------------------------------------------------------------------------ reader


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for the process.

    A fresh session per tenant keeps tenants apart (sessions are not thread-safe), but
    each new session would parse the service models again (~0.1 s). The loader only
    reads and caches packaged JSON, so sharing it is safe and makes a session ~10 ms.
    """
    return botocore.loaders.create_loader()


@dataclass
class _CognitoReader:
    tenant: TenantConfig
    base_domain: str
    hasher: SecretHasher
    session: boto3.session.Session | None
    settings: CognitoClientSettings
    errors: list[CollectionError] = field(default_factory=list)
    # Raw secret values seen so far, only to scrub them from AWS-provided text.
    _seen_secrets: set[str] = field(default_factory=set, repr=False)
    _fatal: str | None = None
    # True once a call has proved the pool exists; None while unknown.
    _pool_exists: bool | None = None

    @property
    def region(self) -> str:
        return self.tenant.cognito.region

    @property
    def pool_id(self) -> str:
        return self.tenant.cognito.user_pool_id

    @property
    def provider_name(self) -> str:
        return self.tenant.cognito.provider_name

    @property
    def domain_name(self) -> str:
        return f"auth.{self.tenant.id}.{self.base_domain}"

    @property
    def pool_missing_reason(self) -> str:
        return (
            f"user pool {self.pool_id!r} does not exist in {self.region} (in the AWS "
            "account the auditor's credentials reach): check cognito.user_pool_id, "
            "cognito.region and cognito.role_arn in the config"
        )

    # ------------------------------------------------------------------------- run

    def run(self) -> tuple[CognitoHalf, list[CollectionError]]:
        client: CognitoIdentityProviderClient | None = None
        try:
            client = self._connect()
        except _FailureError as failure:
            self._fatal = failure.message
        except Exception as exc:  # noqa: BLE001 - as in _section: a bug must become ERROR sections
            logger.error(  # noqa: TRY400 - no traceback: its text could quote response values
                "bug while connecting to cognito for tenant %s: %s",
                self.tenant.id,
                type(exc).__name__,
            )
            self._fatal = (
                f"the auditor failed while connecting to AWS ({type(exc).__name__}): this is "
                "a bug in the auditor; please report it with the log of this run"
            )

        def section(
            name: SectionName, collect: Callable[[CognitoIdentityProviderClient], Section[V]]
        ) -> Section[V]:
            return self._section(name, client, collect)

        # Clients first: ListUserPoolClients is the one call whose not-found can only
        # mean "no such pool", which then tells the other sections what a not-found means.
        app_clients = section("app_clients", self._collect_app_clients)
        idp = section("idp", self._collect_idp)
        domain = section("domain", self._collect_domain)
        half = CognitoHalf(
            region=self.region,
            user_pool_id=self.pool_id,
            provider_name=self.provider_name,
            idp=idp,
            app_clients=app_clients,
            domain=domain,
        )
        logger.info(
            "cognito collected for tenant %s: idp=%s app_clients=%s domain=%s",
            self.tenant.id,
            idp.status,
            app_clients.status,
            domain.status,
        )
        return half, self.errors

    def _section(
        self,
        name: SectionName,
        client: CognitoIdentityProviderClient | None,
        collect: Callable[[CognitoIdentityProviderClient], Section[V]],
    ) -> Section[V]:
        if self._fatal is not None or client is None:
            return self._error(name, f"not collected: {self._fatal}")
        try:
            return collect(client)
        except _FailureError as failure:
            if failure.fatal:
                self._fatal = failure.message
            return self._error(name, failure.message)
        except Exception as exc:  # noqa: BLE001 - as in _section: a bug must become ERROR sections
            logger.error(  # noqa: TRY400 - no traceback: its text could quote response values
                "bug while collecting cognito %s for tenant %s: %s",
                name,
                self.tenant.id,
                type(exc).__name__,
            )
            return self._error(
                name,
                f"the auditor failed while reading this part ({type(exc).__name__}): this is "
                "a bug in the auditor; please report it with the log of this run",
            )

    def _error(self, name: SectionName, message: str) -> Section[Any]:
        message = self._scrub(message)
        self.errors.append(CollectionError(source="cognito", section=name, message=message))
        logger.warning("cognito %s not collected for tenant %s: %s", name, self.tenant.id, message)
        return Section.error(message)

    def _scrub(self, text: str) -> str:
        for secret in self._seen_secrets:
            if len(secret) >= _MIN_SCRUB_LENGTH:
                text = text.replace(secret, "[redacted]")
        return text

    def _secret_ref(self, value: str) -> SecretRef:
        self._seen_secrets.add(value)
        return self.hasher.ref(value)

    # --------------------------------------------------------------------- clients

    def _connect(self) -> CognitoIdentityProviderClient:
        """The cognito-idp client, after assuming ``role_arn`` when one is configured."""
        config = self.settings.botocore_config()
        role_arn = self.tenant.cognito.role_arn
        try:
            if role_arn is None:
                return self._cognito_client(config, _Credentials())
            sts = self._sts_client(config)
        except (BotoCoreError, ValueError) as exc:
            raise _FailureError(self._setup_message(exc), fatal=True) from None
        try:
            response = self._call(
                "sts",
                "AssumeRole",
                lambda: sts.assume_role(
                    RoleArn=role_arn,
                    RoleSessionName=ROLE_SESSION_NAME,
                    DurationSeconds=_ROLE_SESSION_SECONDS,
                ),
            )
        except _NotFoundError as not_found:
            raise _FailureError(
                f"sts:AssumeRole of {role_arn} failed ({not_found.aws_message}): check "
                "cognito.role_arn in the config",
                fatal=True,
            ) from None
        try:
            raw = _mapping(cast("Mapping[str, Any]", response).get("Credentials"), "Credentials")
            credentials = _Credentials(
                _require_str(raw, "AccessKeyId", "Credentials"),
                _require_str(raw, "SecretAccessKey", "Credentials"),
                _require_str(raw, "SessionToken", "Credentials"),
            )
        except _ShapeError:
            raise _FailureError(
                f"sts:AssumeRole of {role_arn} returned no usable credentials; check the "
                "STS endpoint (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL)",
                fatal=True,
            ) from None
        self._seen_secrets.update(c for c in credentials if c)
        try:
            return self._cognito_client(config, credentials)
        except (BotoCoreError, ValueError) as exc:
            raise _FailureError(self._setup_message(exc), fatal=True) from None

    def _cognito_client(
        self, config: Config, credentials: _Credentials
    ) -> CognitoIdentityProviderClient:
        """A client on the given session, else on a fresh default one.

        Empty ``credentials`` leave the session's own credential chain in charge.
        """
        if self.session is not None:
            return self.session.client(
                "cognito-idp",
                region_name=self.region,
                config=config,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            )
        return cast(
            "CognitoIdentityProviderClient",
            _fresh_botocore_session().create_client(
                "cognito-idp",
                region_name=self.region,
                config=config,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            ),
        )

    def _sts_client(self, config: Config) -> STSClient:
        if self.session is not None:
            return self.session.client("sts", region_name=self.region, config=config)
        return cast(
            "STSClient",
            _fresh_botocore_session().create_client("sts", region_name=self.region, config=config),
        )

    def _setup_message(self, exc: Exception) -> str:
        if isinstance(exc, ProfileNotFound):
            return (
                f"the AWS profile named in AWS_PROFILE does not exist ({exc}): fix AWS_PROFILE "
                "or the AWS config file"
            )
        return (
            f"could not set up the AWS client for {self.region} ({type(exc).__name__}: "
            f"{_quote(str(exc))}): check cognito.region and the AWS settings"
        )

    # ------------------------------------------------------------------------ calls

    def _call(self, service: str, operation: str, call: Callable[[], R]) -> R:
        """Run one AWS call; turn whatever goes wrong into a _NotFoundError or _FailureError."""
        try:
            return call()
        except ClientError as exc:
            raise self._client_failure(service, operation, exc) from None
        except (ResponseParserError, AttributeError, KeyError, TypeError) as exc:
            # botocore's parser meeting a body that breaks the service model: it raises
            # ResponseParserError, or trips over a list where the model says map.
            raise _FailureError(
                f"{service}:{operation} returned a response of an unexpected shape "
                f"({type(exc).__name__} while botocore parsed it): check that the endpoint "
                "is really AWS (AWS_ENDPOINT_URL), or update the auditor for this API change",
            ) from None
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as exc:
            raise _FailureError(
                f"no usable AWS credentials for {service}:{operation} ({type(exc).__name__}): "
                "give the auditor credentials through boto3's usual chain (AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an instance or task role)",
                fatal=True,
            ) from None
        except ProfileNotFound as exc:
            raise _FailureError(self._setup_message(exc), fatal=True) from None
        except ReadTimeoutError as exc:
            raise _FailureError(
                f"{service}:{operation} got no answer from {_endpoint(exc)} within "
                f"{self.settings.read_timeout:g} s, {self.settings.max_attempts} attempt(s): "
                "AWS or the network is slow; re-run the audit, or raise the read timeout",
            ) from None
        except (EndpointConnectionError, ConnectTimeoutError, BotoConnectionError) as exc:
            raise _FailureError(
                f"could not connect to the {service} endpoint {_endpoint(exc)} "
                f"({type(exc).__name__}, {self.settings.max_attempts} attempt(s)): check "
                f"network access to it, cognito.region ({self.region}) and "
                "AWS_ENDPOINT_URL if it is set",
                fatal=True,
            ) from None
        except ConnectionClosedError as exc:
            raise _FailureError(
                f"{service}:{operation}: {_endpoint(exc)} closed the connection before "
                f"answering ({self.settings.max_attempts} attempt(s)): re-run the audit",
            ) from None
        except BotoCoreError as exc:
            raise _FailureError(
                f"{service}:{operation} failed ({type(exc).__name__}: "
                f"{self._scrub(_quote(str(exc)))})",
            ) from None

    def _client_failure(
        self, service: str, operation: str, exc: ClientError
    ) -> _NotFoundError | _FailureError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        aws_message = self._scrub(_quote(str(error.get("Message") or "")))
        attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        action = f"{service}:{operation}"
        if code == "ResourceNotFoundException":
            return _NotFoundError(aws_message)
        if code in _ACCESS_DENIED_CODES:
            return _FailureError(self._access_denied_message(action, aws_message))
        if code in _THROTTLING_CODES:
            return _FailureError(
                f"{action} was still throttled by AWS ({code}) after {attempts} attempt(s): "
                "audit fewer tenants at once (concurrency in the config), or ask AWS for a "
                "higher Cognito request-rate quota; then re-run the audit"
            )
        if code in _BAD_CREDENTIALS_CODES:
            return _FailureError(
                f"AWS refused the auditor's credentials on {action} ({code}: {aws_message}): "
                "refresh them (AWS_PROFILE, SSO login, access keys) and check that they "
                "belong to the account and partition of the user pool",
                fatal=True,
            )
        if code == "InvalidParameterException":
            return _FailureError(
                f"{action} rejected its parameters ({code}: {aws_message}): check "
                "cognito.user_pool_id, cognito.provider_name and base_domain in the config"
            )
        return _FailureError(
            f"{action} failed with {code} after {attempts} attempt(s): {aws_message}"
        )

    def _access_denied_message(self, action: str, aws_message: str) -> str:
        who = (
            f"the role {self.tenant.cognito.role_arn}"
            if self.tenant.cognito.role_arn and not action.startswith("sts:")
            else "the auditor's AWS identity"
        )
        if action == "sts:AssumeRole":
            return (
                f"access denied to sts:AssumeRole on {self.tenant.cognito.role_arn} "
                f"({aws_message}): allow sts:AssumeRole on that role for the auditor's "
                "identity, and trust the auditor's identity in the role's trust policy"
            )
        resource = (
            'Resource "*" (it is not scoped to a pool)'
            if action == "cognito-idp:DescribeUserPoolDomain"
            else f"the user pool arn:aws:cognito-idp:{self.region}:<account>:userpool/"
            f"{self.pool_id}"
        )
        return (
            f"access denied to {action} ({aws_message}): grant {who} the IAM action "
            f"{action} on {resource}"
        )

    # --------------------------------------------------------------------- sections

    def _collect_app_clients(
        self, client: CognitoIdentityProviderClient
    ) -> Section[list[CognitoAppClient]]:
        paginator = client.get_paginator("list_user_pool_clients")
        try:
            pages = self._call(
                "cognito-idp",
                "ListUserPoolClients",
                lambda: list(
                    paginator.paginate(
                        UserPoolId=self.pool_id, PaginationConfig={"PageSize": _PAGE_SIZE}
                    )
                ),
            )
        except _NotFoundError:
            # The pool is this call's only resource: not found means no pool.
            self._pool_exists = False
            return Section.absent(self.pool_missing_reason)
        self._pool_exists = True
        client_ids = self._shape(
            "ListUserPoolClients", lambda: _client_ids(cast("list[Mapping[str, Any]]", pages))
        )
        enabling: list[CognitoAppClient] = []
        for client_id in client_ids:
            try:
                response = self._call(
                    "cognito-idp",
                    "DescribeUserPoolClient",
                    functools.partial(
                        client.describe_user_pool_client,
                        UserPoolId=self.pool_id,
                        ClientId=client_id,
                    ),
                )
            except _NotFoundError:
                continue  # deleted between the listing and now: it enables nothing
            app_client = self._shape(
                "DescribeUserPoolClient",
                functools.partial(self._app_client, response.get("UserPoolClient")),
            )
            if self.provider_name in app_client.SupportedIdentityProviders:
                enabling.append(app_client)
        enabling.sort(key=lambda c: c.ClientId)  # stable order: no drift from listing order
        return Section[list[CognitoAppClient]].ok(enabling)

    def _collect_idp(
        self, client: CognitoIdentityProviderClient
    ) -> Section[CognitoIdentityProvider]:
        if self._pool_exists is False:
            return Section.absent(self.pool_missing_reason)
        try:
            response = self._call(
                "cognito-idp",
                "DescribeIdentityProvider",
                lambda: client.describe_identity_provider(
                    UserPoolId=self.pool_id, ProviderName=self.provider_name
                ),
            )
        except _NotFoundError as not_found:
            if self._pool_exists is None and _says_pool_missing(not_found.aws_message):
                # ListUserPoolClients could not tell (it failed); Cognito's own message
                # ("User pool ... does not exist.") does.
                self._pool_exists = False
                return Section.absent(self.pool_missing_reason)
            return Section.absent(
                f"no identity provider named {self.provider_name!r} in pool {self.pool_id} "
                f"({self.region}): create the OIDC provider from the Okta app's client id, "
                "client secret and issuer URL, or fix cognito.provider_name in the config"
            )
        self._pool_exists = True
        idp = self._shape("DescribeIdentityProvider", lambda: self._identity_provider(response))
        return Section.ok(idp)

    def _collect_domain(self, client: CognitoIdentityProviderClient) -> Section[CognitoDomain]:
        if self._pool_exists is False:
            return Section.absent(self.pool_missing_reason)
        try:
            response = self._call(
                "cognito-idp",
                "DescribeUserPoolDomain",
                lambda: client.describe_user_pool_domain(Domain=self.domain_name),
            )
        except _NotFoundError:
            domain = None  # Cognito answers an empty description, but not-found says the same
        else:
            domain = self._shape(
                "DescribeUserPoolDomain",
                lambda: _domain(cast("Mapping[str, Any]", response).get("DomainDescription")),
            )
        if domain is None:
            return Section.absent(
                f"no user pool domain {self.domain_name!r}: add it to pool {self.pool_id} as "
                "a custom domain (with its ACM certificate in us-east-1), since Okta "
                f"redirects to https://{self.domain_name}/oauth2/idpresponse"
            )
        return Section.ok(domain)

    def _shape(self, operation: str, normalize: Callable[[], R]) -> R:
        """Normalize a response; an unexpected shape is an error, never a guess."""
        try:
            return normalize()
        except (_ShapeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ValidationError):
                # Name the fields only: pydantic's text would quote the values.
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in exc.errors()
                )
            elif isinstance(exc, _ShapeError):
                detail = str(exc)
            else:
                detail = type(exc).__name__
            raise _FailureError(
                f"cognito-idp:{operation} returned a response of an unexpected shape "
                f"({detail}): the auditor may need an update for this API change",
            ) from None

    # ----------------------------------------------------------------- normalizing

    def _identity_provider(self, response: Mapping[str, Any]) -> CognitoIdentityProvider:
        raw = _mapping(response.get("IdentityProvider"), "IdentityProvider")
        details = _str_map(raw.get("ProviderDetails"), "IdentityProvider.ProviderDetails")
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
        name = _require_str(raw, "ProviderName", "IdentityProvider")
        return CognitoIdentityProvider(
            ProviderName=name,
            ProviderType=_opt_str(raw, "ProviderType", "IdentityProvider"),
            ProviderDetails=provider_details,
            AttributeMapping=_str_map(
                raw.get("AttributeMapping"), "IdentityProvider.AttributeMapping"
            ),
            IdpIdentifiers=_str_list(raw, "IdpIdentifiers", "IdentityProvider"),
        )

    def _app_client(self, raw_value: object) -> CognitoAppClient:
        raw = _mapping(raw_value, "UserPoolClient")
        what = "UserPoolClient"
        flows_user_pool = raw.get("AllowedOAuthFlowsUserPoolClient")
        if flows_user_pool is not None and not isinstance(flows_user_pool, bool):
            raise _ShapeError(f"{what}.AllowedOAuthFlowsUserPoolClient is not a boolean")
        secret = _opt_str(raw, "ClientSecret", what)
        return CognitoAppClient(
            ClientId=_require_str(raw, "ClientId", what),
            ClientName=_opt_str(raw, "ClientName", what),
            SupportedIdentityProviders=_str_list(raw, "SupportedIdentityProviders", what),
            AllowedOAuthFlows=_str_list(raw, "AllowedOAuthFlows", what),
            AllowedOAuthFlowsUserPoolClient=flows_user_pool,
            AllowedOAuthScopes=_str_list(raw, "AllowedOAuthScopes", what),
            CallbackURLs=_str_list(raw, "CallbackURLs", what),
            LogoutURLs=_str_list(raw, "LogoutURLs", what),
            client_secret=None if secret is None else self._secret_ref(secret),
        )


# ----------------------------------------------------------------- module-level helpers


def _fresh_botocore_session() -> botocore.session.Session:
    """A new botocore session (boto3's default credential chain) with the shared loader."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _shared_loader())
    return session


def _says_pool_missing(aws_message: str) -> bool:
    text = aws_message.lower()
    return "user pool" in text and "does not exist" in text


def _endpoint(exc: BotoCoreError) -> str:
    url = getattr(exc, "kwargs", {}).get("endpoint_url")
    return str(url) if url else "(unknown endpoint)"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_AWS_MESSAGE:
        return text[:_MAX_AWS_MESSAGE] + "..."
    return text


def _client_ids(pages: list[Mapping[str, Any]]) -> list[str]:
    ids: list[str] = []
    for page in pages:
        page_map = _mapping(page, "ListUserPoolClients page")
        entries = page_map.get("UserPoolClients", [])
        if not isinstance(entries, list):
            raise _ShapeError("UserPoolClients is not a list")
        ids.extend(
            _require_str(_mapping(entry, "UserPoolClients[]"), "ClientId", "UserPoolClients[]")
            for entry in entries
        )
    return ids


def _domain(raw_value: object) -> CognitoDomain | None:
    """The domain, or None when Cognito says there is none (an empty description)."""
    if not raw_value:
        return None
    raw = _mapping(raw_value, "DomainDescription")
    what = "DomainDescription"
    custom = raw.get("CustomDomainConfig")
    certificate = None
    if custom:
        custom_map = _mapping(custom, f"{what}.CustomDomainConfig")
        certificate = _opt_str(custom_map, "CertificateArn", f"{what}.CustomDomainConfig")
    return CognitoDomain(
        Domain=_require_str(raw, "Domain", what),
        UserPoolId=_opt_str(raw, "UserPoolId", what),
        Status=_opt_str(raw, "Status", what),
        CloudFrontDistribution=_opt_str(raw, "CloudFrontDistribution", what),
        CustomDomain=bool(certificate),
    )


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _ShapeError(f"{what} is {type(value).__name__}, not an object")
    return cast("Mapping[str, Any]", value)


def _opt_str(raw: Mapping[str, Any], key: str, what: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _ShapeError(f"{what}.{key} is {type(value).__name__}, not a string")


def _require_str(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = _opt_str(raw, key, what)
    if value is None:
        raise _ShapeError(f"{what}.{key} is missing")
    return value


def _str_list(raw: Mapping[str, Any], key: str, what: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _ShapeError(f"{what}.{key} is not a list of strings")
    return list(value)


def _str_map(value: object, what: str) -> dict[str, str]:
    if value is None:
        return {}
    mapping = _mapping(value, what)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise _ShapeError(f"{what} is not a map of strings")
    return dict(mapping)
