"""The Cognito collector against moto's real server, through real boto3 and real HTTP.

What moto cannot do (throttle, deny, answer oddly) is injected by :class:`FaultProxy`, a
loopback HTTP server in front of moto that answers chosen operations itself and passes
everything else through. Nothing here mocks boto3 or the collector.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from aws_fault_proxy import FaultProxy

from auditor.collect.cognito import CognitoClientSettings, collect_cognito
from auditor.config import TenantConfig
from auditor.emulator.cognito import CognitoTenantRefs, MotoCognito, build_compliant_cognito
from auditor.snapshot import SectionStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from auditor.collect.secrets import SecretHasher

BASE_DOMAIN = "rapticore.io"
OKTA_CLIENT_ID = "0oa8k2x4fzQv7Hm1d5d7"
OKTA_SECRET = "okta-secret-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5"
ISSUER = "https://acme.okta.com"
# Fast failure for the tests that expect one: 2 attempts, short timeouts.
FAST = CognitoClientSettings(max_attempts=2, connect_timeout=0.5, read_timeout=0.5)
ROLE_ARN = "arn:aws:iam::123456789012:role/AuditorReadOnly"


# ---------------------------------------------------------------------------- helpers


@dataclass
class Tenant:
    """A compliant tenant built in moto, and how to audit it."""

    id: str
    refs: CognitoTenantRefs
    client_secret: str  # the app client's secret, as moto generated it

    def config(self, **cognito: Any) -> TenantConfig:
        """The tenant's config entry; keyword arguments override its cognito keys."""
        return TenantConfig.model_validate(
            {
                "id": self.id,
                "okta": {"org_url": ISSUER, "token": "unused"},
                "cognito": {
                    "region": self.refs.region,
                    "user_pool_id": self.refs.user_pool_id,
                    "provider_name": self.refs.provider_name,
                    **cognito,
                },
            }
        )


@pytest.fixture
def tenant(cognito_env: MotoCognito) -> Tenant:
    """A fresh compliant tenant (unique id: moto's state is shared by the session)."""
    tenant_id = f"t{uuid.uuid4().hex[:12]}"
    client = cognito_env.client()
    refs = build_compliant_cognito(
        client,
        tenant_id,
        base_domain=BASE_DOMAIN,
        okta_client_id=OKTA_CLIENT_ID,
        okta_client_secret=OKTA_SECRET,
        issuer=ISSUER,
    )
    described = client.describe_user_pool_client(
        UserPoolId=refs.user_pool_id, ClientId=refs.app_client_id
    )
    return Tenant(tenant_id, refs, described["UserPoolClient"]["ClientSecret"])


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def proxy(cognito_env: MotoCognito, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A FaultProxy in front of moto, with boto3 pointed at the proxy."""
    fault_proxy = FaultProxy(cognito_env.endpoint_url)
    fault_proxy.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    yield fault_proxy
    fault_proxy.stop()


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


# ------------------------------------------------------------------------ the findings


def test_compliant_tenant_is_collected_field_by_field(tenant: Tenant, hasher: SecretHasher) -> None:
    """A compliant tenant yields every section ok, with each field as it was built."""
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher)

    assert errors == []
    assert (half.region, half.user_pool_id, half.provider_name) == (
        "us-east-1",
        tenant.refs.user_pool_id,
        "Okta",
    )
    assert half.idp.status is SectionStatus.OK
    idp = half.idp.value
    assert idp is not None
    assert idp.ProviderName == "Okta"
    assert idp.ProviderType == "OIDC"
    assert idp.AttributeMapping == {"email": "email", "username": "sub"}
    details = idp.ProviderDetails
    assert details.client_id == OKTA_CLIENT_ID
    assert details.oidc_issuer == ISSUER
    assert details.authorize_scopes == "openid email profile"
    assert details.attributes_request_method == "GET"
    assert details.other == {}
    expected_secret = hasher.ref(OKTA_SECRET)
    assert details.client_secret == expected_secret
    assert details.client_secret is not None
    assert details.client_secret.sha256 == expected_secret.sha256

    assert half.app_clients.status is SectionStatus.OK
    assert half.app_clients.value is not None
    [app] = half.app_clients.value
    assert app.ClientId == tenant.refs.app_client_id
    assert app.ClientName == f"rapticore-{tenant.id}-web"
    assert app.SupportedIdentityProviders == ["Okta"]
    assert app.AllowedOAuthFlowsUserPoolClient is True
    assert app.AllowedOAuthFlows == ["code"]
    assert app.AllowedOAuthScopes == ["openid", "email", "profile"]
    assert app.CallbackURLs == [f"https://{tenant.id}.{BASE_DOMAIN}/callback"]
    assert app.LogoutURLs == [f"https://{tenant.id}.{BASE_DOMAIN}"]
    assert app.client_secret == hasher.ref(tenant.client_secret)

    assert half.domain.status is SectionStatus.OK
    domain = half.domain.value
    assert domain is not None
    assert domain.Domain == f"auth.{tenant.id}.{BASE_DOMAIN}" == tenant.refs.domain
    assert domain.UserPoolId == tenant.refs.user_pool_id
    assert domain.Status == "ACTIVE"
    assert domain.CloudFrontDistribution
    # moto does not return CustomDomainConfig, so the collector honestly reports False.
    assert domain.CustomDomain is False


def test_missing_identity_provider_is_absent(tenant: Tenant, hasher: SecretHasher) -> None:
    """A pool without an IdP named provider_name gives an absent idp section, not an error."""
    half, errors = collect_cognito(tenant.config(provider_name="Gone"), BASE_DOMAIN, hasher)

    assert errors == []
    assert half.idp.status is SectionStatus.ABSENT
    assert half.idp.reason is not None
    assert half.idp.reason.startswith(
        f"no identity provider named 'Gone' in pool {tenant.refs.user_pool_id}"
    )
    # The app client enables "Okta", not "Gone": nothing enables the configured provider.
    assert half.app_clients == half.app_clients.ok([])
    assert half.domain.status is SectionStatus.OK


def test_missing_domain_is_absent(
    tenant: Tenant, hasher: SecretHasher, cognito_env: MotoCognito
) -> None:
    """A deleted user pool domain gives an absent domain section naming the domain."""
    cognito_env.client().delete_user_pool_domain(
        Domain=tenant.refs.domain, UserPoolId=tenant.refs.user_pool_id
    )
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher)

    assert errors == []
    assert half.domain.status is SectionStatus.ABSENT
    assert half.domain.reason is not None
    assert repr(tenant.refs.domain) in half.domain.reason
    assert half.idp.status is SectionStatus.OK


def test_domain_of_another_pool_is_reported_as_found(
    tenant: Tenant, hasher: SecretHasher, cognito_env: MotoCognito
) -> None:
    """A domain held by another pool is collected with that pool's id, for the rule to judge."""
    client = cognito_env.client()
    other_pool = client.create_user_pool(PoolName="other")["UserPool"]["Id"]
    client.create_user_pool_domain(UserPoolId=other_pool, Domain=tenant.refs.domain)

    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher)

    assert errors == []
    assert half.domain.value is not None
    assert half.domain.value.UserPoolId == other_pool


def test_client_no_longer_enabling_the_provider_is_ok_and_empty(
    tenant: Tenant, hasher: SecretHasher, cognito_env: MotoCognito
) -> None:
    """When no app client lists the provider any more, app_clients is ok([]), not absent."""
    cognito_env.client().update_user_pool_client(
        UserPoolId=tenant.refs.user_pool_id,
        ClientId=tenant.refs.app_client_id,
        SupportedIdentityProviders=["COGNITO"],
    )
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher)

    assert errors == []
    assert half.app_clients.status is SectionStatus.OK
    assert half.app_clients.value == []


def test_enabling_client_on_a_later_page_is_found(
    tenant: Tenant, hasher: SecretHasher, cognito_env: MotoCognito
) -> None:
    """ListUserPoolClients is paginated: a client beyond the first 60 is still found."""
    client = cognito_env.client()
    for i in range(60):
        client.create_user_pool_client(UserPoolId=tenant.refs.user_pool_id, ClientName=f"x{i}")
    late = client.create_user_pool_client(
        UserPoolId=tenant.refs.user_pool_id,
        ClientName="late",
        SupportedIdentityProviders=["Okta"],
    )["UserPoolClient"]["ClientId"]

    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher)

    assert errors == []
    assert half.app_clients.value is not None
    ids = {c.ClientId for c in half.app_clients.value}
    assert ids == {tenant.refs.app_client_id, late}


@pytest.mark.usefixtures("cognito_env")
def test_missing_user_pool_makes_every_section_absent(hasher: SecretHasher) -> None:
    """A user pool that does not exist makes all three sections absent, naming the pool."""
    missing = Tenant(
        "ghost",
        CognitoTenantRefs("us-east-1", "us-east-1_DoesNotExist", "Okta", "none", "none"),
        "",
    )
    half, errors = collect_cognito(missing.config(), BASE_DOMAIN, hasher)

    assert errors == []
    for section in (half.idp, half.app_clients, half.domain):
        assert section.status is SectionStatus.ABSENT
        assert section.reason is not None
        assert "'us-east-1_DoesNotExist' does not exist" in section.reason


# -------------------------------------------------------------------------- failures


def test_unreachable_endpoint_is_an_error_not_an_exception(
    tenant: Tenant, hasher: SecretHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed endpoint makes every section an error with one CollectionError each, quickly."""
    port = closed_loopback_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")

    started = time.monotonic()
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)

    assert time.monotonic() - started < 5
    assert [e.section for e in errors] == ["app_clients", "idp", "domain"]
    assert all(e.source == "cognito" for e in errors)
    assert f"127.0.0.1:{port}" in errors[0].message
    assert "AWS_ENDPOINT_URL" in errors[0].message
    for section in (half.idp, half.app_clients, half.domain):
        assert section.status is SectionStatus.ERROR
        assert section.reason


def test_silent_endpoint_times_out_into_errors(
    tenant: Tenant, hasher: SecretHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint that accepts but never answers ends in read-timeout errors, not a hang."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # connections queue up; nobody ever answers
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
        settings = CognitoClientSettings(max_attempts=1, connect_timeout=0.5, read_timeout=0.2)
        half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=settings)

    assert {e.section for e in errors} == {"app_clients", "idp", "domain"}
    assert "no answer" in errors[0].message
    assert half.idp.status is SectionStatus.ERROR


def test_missing_credentials_are_an_error(
    tenant: Tenant, hasher: SecretHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any AWS credentials every section errors and the message says where to set them."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)

    assert len(errors) == 3
    assert "no usable AWS credentials" in errors[0].message
    assert "AWS_PROFILE" in errors[0].message
    assert half.app_clients.status is SectionStatus.ERROR


def test_a_fatal_failure_is_told_once_and_later_sections_only_point_at_it(
    tenant: Tenant,
    hasher: SecretHasher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without credentials, idp and domain never name ListUserPoolClients or repeat the hint."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    caplog.set_level(logging.WARNING)

    for _ in range(2):  # two tenants of one run failing the same way
        _, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)
        assert [e.section for e in errors] == ["app_clients", "idp", "domain"]
        assert "ListUserPoolClients" in errors[0].message
        assert "AWS_PROFILE" in errors[0].message  # the report keeps the fix per tenant
        for later in errors[1:]:
            assert "ListUserPoolClients" not in later.message
            assert "AWS_PROFILE" not in later.message
            assert "app_clients" in later.message

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged.count("AWS_PROFILE") <= 1
    assert "ListUserPoolClients" not in "".join(
        r.getMessage() for r in caplog.records if "cognito idp" in r.getMessage()
    )


def test_access_denied_names_the_missing_iam_action(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy
) -> None:
    """AccessDenied on one call errors that section only, naming the IAM action to grant."""
    proxy.fail(
        "DescribeIdentityProvider",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/auditor is not authorized",
    )
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)

    assert [e.section for e in errors] == ["idp"]
    assert "grant" in errors[0].message
    assert "cognito-idp:DescribeIdentityProvider" in errors[0].message
    assert half.idp.status is SectionStatus.ERROR
    assert half.idp.reason == errors[0].message
    # What was collected around the failure is kept.
    assert half.app_clients.status is SectionStatus.OK
    assert half.domain.status is SectionStatus.OK


@pytest.mark.parametrize(
    "body",
    [
        # botocore itself cannot parse it: a list where the model says map
        {"IdentityProvider": {"ProviderName": "Okta", "ProviderDetails": ["not", "a", "map"]}},
        # botocore parses it, but a required field is missing
        {"IdentityProvider": {"ProviderType": "OIDC", "ProviderDetails": {}}},
    ],
    ids=["unparseable", "no-provider-name"],
)
def test_unexpected_response_shape_is_an_error(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy, body: dict[str, Any]
) -> None:
    """A response that breaks the documented shape errors the section instead of guessing."""
    proxy.answer("DescribeIdentityProvider", body)
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)

    assert [e.section for e in errors] == ["idp"]
    assert "unexpected shape" in errors[0].message
    assert half.idp.status is SectionStatus.ERROR


@pytest.mark.parametrize(
    "case",
    [
        (
            "DescribeIdentityProvider",
            {"IdentityProvider": {"ProviderName": "Okta", "ProviderDetails": {"client_id": 7}}},
            "idp",
            "IdentityProvider.ProviderDetails.client_id: string_type",
        ),
        (
            "ListUserPoolClients",
            {"UserPoolClients": [{"ClientName": "no id"}]},
            "app_clients",
            "[0].UserPoolClients[0].ClientId: missing",
        ),
        (
            "DescribeUserPoolClient",
            {"UserPoolClient": {"ClientId": "c1", "AllowedOAuthFlowsUserPoolClient": "yes"}},
            "app_clients",
            "UserPoolClient.AllowedOAuthFlowsUserPoolClient: bool_type",
        ),
        (
            "DescribeUserPoolDomain",
            {"DomainDescription": {"UserPoolId": "us-east-1_x", "Status": "ACTIVE"}},
            "domain",
            "DomainDescription.Domain: missing",
        ),
    ],
    ids=["idp", "client-list", "client", "domain"],
)
def test_wrong_shape_errors_its_section_naming_the_field(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy, case: tuple[str, Any, str, str]
) -> None:
    """A field of the wrong type errors only its section, with one line naming the field."""
    operation, body, section, field = case
    proxy.answer(operation, body)
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)

    assert [(e.source, e.section) for e in errors] == [("cognito", section)]
    message = errors[0].message
    assert message.startswith(f"cognito-idp:{operation} returned a response of an unexpected")
    assert field in message
    assert "\n" not in message
    for name in ("idp", "app_clients", "domain"):
        expected = SectionStatus.ERROR if name == section else SectionStatus.OK
        assert getattr(half, name).status is expected, name


def test_secrets_never_appear_in_the_dump_or_the_messages(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy
) -> None:
    """Neither secret is in the JSON dump, nor in an error message even when AWS echoes it."""
    half, _ = collect_cognito(tenant.config(), BASE_DOMAIN, hasher)
    dumped = half.model_dump_json()
    assert_no_secret(dumped, OKTA_SECRET, tenant.client_secret)
    assert str(hasher.ref(OKTA_SECRET).fingerprint) in dumped  # the reference is there instead

    proxy.fail(
        "DescribeUserPoolDomain",
        "InternalErrorException",
        f"oops while handling {OKTA_SECRET} and {tenant.client_secret}",
    )
    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)
    assert [e.section for e in errors] == ["domain"]
    for text in (half.model_dump_json(), *(e.model_dump_json() for e in errors)):
        assert_no_secret(text, OKTA_SECRET, tenant.client_secret)
    assert "[redacted]" in errors[0].message


def test_throttling_is_retried_in_standard_mode(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy
) -> None:
    """Cognito's TooManyRequestsException (HTTP 400) is retried, as legacy mode never does."""
    config = CognitoClientSettings().botocore_config()
    assert config.retries == {  # type: ignore[attr-defined] # botocore-stubs omit the attribute
        "mode": "standard",
        "total_max_attempts": 5,
    }
    proxy.fail("DescribeIdentityProvider", "TooManyRequestsException", "Rate exceeded", times=1)

    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)

    assert proxy.count("DescribeIdentityProvider") == 2
    assert errors == []  # a throttle that a retry outlived is not a collection error
    assert half.idp.status is SectionStatus.OK


def test_throttling_that_outlasts_the_retries_is_an_error(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy
) -> None:
    """Throttling on every attempt errors that section after max_attempts, keeping the others."""
    proxy.fail("DescribeIdentityProvider", "TooManyRequestsException", "Rate exceeded")

    half, errors = collect_cognito(tenant.config(), BASE_DOMAIN, hasher, settings=FAST)

    assert proxy.count("DescribeIdentityProvider") == FAST.max_attempts
    assert [e.section for e in errors] == ["idp"]
    assert "throttled" in errors[0].message
    assert "2 attempt(s)" in errors[0].message
    assert half.app_clients.status is SectionStatus.OK
    assert half.domain.status is SectionStatus.OK


def test_role_arn_is_assumed_before_reading_cognito(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy
) -> None:
    """With role_arn, sts:AssumeRole runs first and Cognito is read with the role's keys."""
    half, errors = collect_cognito(tenant.config(role_arn=ROLE_ARN), BASE_DOMAIN, hasher)

    assert errors == []
    assert half.idp.status is SectionStatus.OK
    operations = [op for op, _ in proxy.seen]
    assert operations[0] == "AssumeRole"
    cognito_keys = {key for op, key in proxy.seen if op != "AssumeRole"}
    assert len(cognito_keys) == 1
    assert next(iter(cognito_keys)) != "testing"  # the role's temporary key, not the base one


def test_denied_assume_role_is_an_error_for_every_section(
    tenant: Tenant, hasher: SecretHasher, proxy: FaultProxy
) -> None:
    """A refused sts:AssumeRole errors all sections and says to fix the role's trust."""
    proxy.fail("AssumeRole", "AccessDenied", "not authorized to perform sts:AssumeRole")

    half, errors = collect_cognito(
        tenant.config(role_arn=ROLE_ARN), BASE_DOMAIN, hasher, settings=FAST
    )

    assert len(errors) == 3
    assert "sts:AssumeRole" in errors[0].message
    assert "trust policy" in errors[0].message
    assert [op for op, _ in proxy.seen] == ["AssumeRole"]  # no Cognito call was tried
    assert half.domain.status is SectionStatus.ERROR
