"""moto's Cognito (and STS) server on loopback, plus a builder for a compliant tenant.

Used by the tests and by ``auditor demo``: the collector talks to it through real boto3
and real HTTP, exactly as it talks to AWS, only with ``AWS_ENDPOINT_URL`` pointing here.

Two things to know about moto:

* Its state lives in the process, not in the server: two :class:`MotoCognito` servers in
  one process see the same user pools. Use distinct tenant ids (a domain such as
  ``auth.acme.rapticore.io`` can belong to one pool only), or :meth:`MotoCognito.reset`.
* It is not Cognito. What it does differently, where that matters to the auditor:
  ``DescribeUserPoolDomain`` always reports ``Status: ACTIVE`` and never returns
  ``CustomDomainConfig`` (so a collected ``CustomDomain`` reads ``False``); creating a
  domain that another pool holds silently moves it (Cognito refuses); an OIDC provider is
  created without fetching the issuer's discovery document, so the ``authorize_url``,
  ``token_url``, ``attributes_url`` and ``jwks_uri`` Cognito adds are absent;
  ``UpdateUserPoolClient`` merges the given fields (Cognito resets omitted ones); no IAM
  is enforced and nothing is throttled. The tests inject those failures with a proxy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3.session
from moto.cognitoidp import models as moto_cognitoidp_models
from moto.server import ThreadedMotoServer

from auditor.config import is_loopback_host
from auditor.localserver import StartStop

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from types import ModuleType

    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

LOOPBACK = "127.0.0.1"
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"  # noqa: S105 - moto accepts any credentials
FAKE_ACCOUNT_ID = "123456789012"  # moto's default account
# Variables that would pull boto3 away from the emulator or the fake credentials:
# a profile, a per-service endpoint (it beats AWS_ENDPOINT_URL), the user's AWS files.
_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    "AWS_ENDPOINT_URL_STS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


class MotoCognito(StartStop):
    """moto's server on ``127.0.0.1`` and a free port, as a context manager."""

    def __init__(self, *, quiet: bool = True, share_signing_key: bool = True) -> None:
        """``quiet`` keeps werkzeug's per-request log lines out of the output.

        ``share_signing_key``: see :func:`share_moto_signing_key` (1,000 tenants take
        ~200 s to build without it, ~5 s with it).
        """
        self._quiet = quiet
        self._share_signing_key = share_signing_key
        self._server: ThreadedMotoServer | None = None
        self._endpoint_url: str | None = None
        self._clients: dict[str, CognitoIdentityProviderClient] = {}

    def start(self) -> str:
        """Start the server; returns its endpoint URL ``http://127.0.0.1:PORT``."""
        if self._endpoint_url is not None:
            return self._endpoint_url
        if self._quiet:
            # moto serves through werkzeug, which logs every request at INFO.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        if self._share_signing_key:
            share_moto_signing_key()
        # Port 0: the OS picks a free port, so parallel runs never collide.
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint_url = f"http://{host}:{port}"
        return self._endpoint_url

    def stop(self) -> None:
        """Stop the server (moto's state stays in the process)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._server is not None:
            self._server.stop()
        self._server = None
        self._endpoint_url = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``; the server must be started."""
        if self._endpoint_url is None:
            raise RuntimeError("MotoCognito is not started: call start() or use `with`")
        return self._endpoint_url

    def client(self, region: str = "us-east-1") -> CognitoIdentityProviderClient:
        """A cognito-idp client bound to this server, with fake credentials (cached)."""
        if region not in self._clients:
            session = boto3.session.Session(
                aws_access_key_id=FAKE_ACCESS_KEY_ID,
                aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
                region_name=region,
            )
            self._clients[region] = session.client("cognito-idp", endpoint_url=self.endpoint_url)
        return self._clients[region]

    def env(self, region: str = "us-east-1") -> dict[str, str | None]:
        """The process environment that points boto3 here (see :func:`moto_env`)."""
        return moto_env(self.endpoint_url, region)

    def reset(self) -> None:
        """Forget every moto resource in this process (all services, all servers)."""
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL we built
            f"{self.endpoint_url}/moto-api/reset", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - same URL
            pass


class _SharedRsaKeyJwk:
    """Stands in for ``joserfc.jwk`` in moto's cognitoidp models: each key imported once."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real
        self._keys: dict[str, object] = {}
        self.RSAKey = self  # moto calls jwk.RSAKey.import_key(data)

    def import_key(self, data: Mapping[str, object]) -> object:
        cache_key = json.dumps(data, sort_keys=True)
        if cache_key not in self._keys:
            self._keys[cache_key] = self._real.RSAKey.import_key(data)
        return self._keys[cache_key]

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def share_moto_signing_key() -> None:
    """Make moto import its (fixed, packaged) user pool signing key once per process.

    moto's ``CreateUserPool`` re-imports the same RSA key from the same JSON file for
    every pool, ~0.2 s of big-integer arithmetic each. Every pool gets an equal key
    object either way; only the time changes. Idempotent; affects moto in this process.
    """
    namespace = vars(moto_cognitoidp_models)
    if not isinstance(namespace["jwk"], _SharedRsaKeyJwk):
        namespace["jwk"] = _SharedRsaKeyJwk(namespace["jwk"])


def moto_env(endpoint_url: str, region: str = "us-east-1") -> dict[str, str | None]:
    """Environment variables that send boto3 to ``endpoint_url`` with fake credentials.

    A value of ``None`` means "unset this variable". Nothing is applied here: a pytest
    fixture applies it through ``monkeypatch``, the demo through :func:`applied_env`.
    Refuses any endpoint but loopback, so fake tenants can never reach real AWS.
    """
    host = urlsplit(endpoint_url).hostname
    if not host or not is_loopback_host(host):
        raise ValueError(f"the moto endpoint must be on loopback, not {endpoint_url!r}")
    env: dict[str, str | None] = dict.fromkeys(_ENV_TO_CLEAR)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": region,
            # The user's ~/.aws files must not add profiles, endpoints or retry settings.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # Never fall back to the instance metadata service (169.254.169.254).
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


@contextmanager
def applied_env(env: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``env`` (``None`` unsets) to ``os.environ``; restore the old values after."""
    saved = {name: os.environ.get(name) for name in env}
    try:
        _apply(env)
        yield
    finally:
        _apply(saved)


def _apply(env: Mapping[str, str | None]) -> None:
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass(frozen=True)
class CognitoTenantRefs:
    """Where :func:`build_compliant_cognito` put a tenant's Cognito resources."""

    region: str
    user_pool_id: str
    provider_name: str
    app_client_id: str
    domain: str


def build_compliant_cognito(  # noqa: PLR0913 - keyword-only knobs of a fixture builder
    client: CognitoIdentityProviderClient,
    tenant_id: str,
    *,
    base_domain: str = "rapticore.io",
    okta_client_id: str,
    okta_client_secret: str,
    issuer: str,
    provider_name: str = "Okta",
) -> CognitoTenantRefs:
    """Create a tenant's Cognito side as the seed document sets it up, every rule passing.

    A user pool; its OIDC provider ``provider_name`` holding the Okta app's client id,
    secret and issuer; one app client enabling that provider with the ``code`` flow; and
    the custom domain ``auth.<tenant>.<base_domain>`` (with a fake ACM certificate).
    Tests change one thing afterwards, through ``client``.
    """
    region = client.meta.region_name
    pool_id = client.create_user_pool(PoolName=f"rapticore-{tenant_id}")["UserPool"]["Id"]
    client.create_identity_provider(
        UserPoolId=pool_id,
        ProviderName=provider_name,
        ProviderType="OIDC",
        ProviderDetails={
            "client_id": okta_client_id,
            "client_secret": okta_client_secret,
            "oidc_issuer": issuer,
            "authorize_scopes": "openid email profile",
            "attributes_request_method": "GET",
        },
        AttributeMapping={"email": "email", "username": "sub"},
    )
    app_client = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"rapticore-{tenant_id}-web",
        GenerateSecret=True,
        SupportedIdentityProviders=[provider_name],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email", "profile"],
        CallbackURLs=[f"https://{tenant_id}.{base_domain}/callback"],
        LogoutURLs=[f"https://{tenant_id}.{base_domain}"],
    )["UserPoolClient"]
    domain = f"auth.{tenant_id}.{base_domain}"
    client.create_user_pool_domain(
        UserPoolId=pool_id,
        Domain=domain,
        CustomDomainConfig={
            # Cognito wants the custom domain's certificate in us-east-1 (CloudFront).
            "CertificateArn": (
                f"arn:aws:acm:us-east-1:{FAKE_ACCOUNT_ID}:certificate/"
                f"00000000-0000-4000-8000-{hashlib.sha256(tenant_id.encode()).hexdigest()[:12]}"
            )
        },
    )
    status = client.describe_user_pool_domain(Domain=domain)["DomainDescription"].get("Status")
    if status != "ACTIVE":  # moto reports ACTIVE at once; anything else is a moto change
        raise RuntimeError(f"moto reports domain {domain} as {status!r}, expected 'ACTIVE'")
    return CognitoTenantRefs(
        region=region,
        user_pool_id=pool_id,
        provider_name=provider_name,
        app_client_id=app_client["ClientId"],
        domain=domain,
    )
