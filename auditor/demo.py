"""``auditor demo``: a realistic fleet on local emulators, audited end to end.

Starts the Okta emulator and moto's Cognito server on loopback, builds a handful of
tenants (one compliant, the others each with one misconfiguration an admin really
makes, straight from the setup guide), and hands back a config for them. Nothing leaves
the machine and no credential is needed. The same builders serve the end-to-end tests.
"""

from __future__ import annotations

import importlib
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from auditor.config import (
    ALLOW_HTTP_LOOPBACK_ENV,
    AuditorConfig,
    CognitoConfig,
    OktaConfig,
    TenantConfig,
)
from auditor.errors import UsageError

DEMO_EXTRA_INSTALL = "pip install 'rapticore-sso-auditor[demo]'"
# What the `demo` extra provides (pyproject.toml), as the emulators import it.
_DEMO_MODULES = ("moto.server", "moto.cognitoidp", "jwt", "cryptography")


def require_demo_extra() -> None:
    """Return when the `demo` extra is installed; otherwise a UsageError naming it.

    A service install (``pip install .``, the Docker image) leaves the emulators'
    dependencies out; ``auditor demo`` there should say what to install, not print a
    ModuleNotFoundError traceback.
    """
    for module in _DEMO_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            missing = exc.name or module
            raise UsageError(
                f"`auditor demo` needs the demo extra ({missing} is not installed): "
                f"{DEMO_EXTRA_INSTALL}"
            ) from None


# Checked on import, before the emulator imports below: the command line imports this
# module at the start of `auditor demo`, so the missing extra is named there (exit 2).
require_demo_extra()

from auditor.emulator.cognito import (  # noqa: E402 - after the check above, on purpose
    CognitoTenantRefs,
    MotoCognito,
    applied_env,
    build_compliant_cognito,
)
from auditor.emulator.okta import OktaEmulator, OktaOrg, compliant_org  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DEMO_BASE_DOMAIN = "rapticore.io"


@dataclass
class DemoTenant:
    """One emulated tenant: its Okta org and its Cognito refs, both mutable for tests."""

    tenant_id: str
    story: str
    org: OktaOrg
    cognito: CognitoTenantRefs

    def config(self) -> TenantConfig:
        """The tenant's config entry, as an operator would write it."""
        return TenantConfig(
            id=self.tenant_id,
            okta=OktaConfig(
                org_url=self.org.url,
                token=SecretStr(self.org.token),
                request_timeout=10,
            ),
            cognito=CognitoConfig(
                region=self.cognito.region,
                user_pool_id=self.cognito.user_pool_id,
                provider_name=self.cognito.provider_name,
            ),
        )


@dataclass
class Fleet:
    """The running emulators and the tenants built on them."""

    okta: OktaEmulator
    cognito: MotoCognito
    base_domain: str
    tenants: list[DemoTenant]

    def add(
        self,
        tenant_id: str,
        story: str = "compliant",
        *,
        okta_change: Callable[[OktaOrg], None] | None = None,
        issuer: str | None = None,
    ) -> DemoTenant:
        """A compliant tenant on both halves, then ``okta_change`` applied to its org."""
        org = compliant_org(tenant_id, base_domain=self.base_domain)
        self.okta.add_org(org)
        refs = build_compliant_cognito(
            self.cognito.client(),
            tenant_id,
            base_domain=self.base_domain,
            okta_client_id=org.client_id,
            okta_client_secret=org.client_secret,
            issuer=issuer or org.issuer,
        )
        if okta_change is not None:
            okta_change(org)
        tenant = DemoTenant(tenant_id=tenant_id, story=story, org=org, cognito=refs)
        self.tenants.append(tenant)
        return tenant

    def config(self, **settings: Any) -> AuditorConfig:  # noqa: ANN401 - passed through
        """A config for every tenant built so far."""
        return AuditorConfig(
            version=1,
            base_domain=self.base_domain,
            tenants=[t.config() for t in self.tenants],
            **settings,
        )


def emulator_environment(cognito: MotoCognito) -> dict[str, str | None]:
    """What boto3 and the config need to reach the local emulators, and nothing real."""
    return {**cognito.env(), ALLOW_HTTP_LOOPBACK_ENV: "1"}


@contextmanager
def running_fleet(base_domain: str = DEMO_BASE_DOMAIN) -> Iterator[Fleet]:
    """Both emulators running, the process environment pointed at them, no tenants yet."""
    with ExitStack() as stack:
        okta = stack.enter_context(OktaEmulator())
        cognito = stack.enter_context(MotoCognito())
        stack.enter_context(applied_env(emulator_environment(cognito)))
        yield Fleet(okta=okta, cognito=cognito, base_domain=base_domain, tenants=[])


# ------------------------------------------------------------- the demo's stories


def _deactivate(org: OktaOrg) -> None:
    org.apps[org.app_id]["status"] = "INACTIVE"


def _revoke_user_types_grant(org: OktaOrg) -> None:
    for grant in org.grants[org.app_id]:
        if grant["scopeId"] == "okta.userTypes.read":
            grant["status"] = "REVOKED"


def _trailing_slash_redirect(org: OktaOrg) -> None:
    client = org.apps[org.app_id]["settings"]["oauthClient"]
    client["redirect_uris"] = [uri + "/" for uri in client["redirect_uris"]]


def _rotate_secret_in_okta_only(org: OktaOrg) -> None:
    # The admin generated a new secret and deactivated the old one, but never sent the
    # new one to Rapticore: Cognito still holds the old value.
    secrets = org.secrets[org.app_id]
    for secret in secrets:
        secret["status"] = "INACTIVE"
    rotated = dict(secrets[0])
    rotated["id"] = rotated["id"][:-4] + "rot1"
    rotated["status"] = "ACTIVE"
    rotated["client_secret"] = "rotated-" + rotated["client_secret"][8:]
    secrets.append(rotated)


def _issuer_of_old_org(tenant: DemoTenant, fleet: Fleet) -> None:
    # The customer moved to a new Okta org; Cognito still names the old one.
    client = fleet.cognito.client(tenant.cognito.region)
    idp = client.describe_identity_provider(
        UserPoolId=tenant.cognito.user_pool_id, ProviderName=tenant.cognito.provider_name
    )["IdentityProvider"]
    details = {**idp["ProviderDetails"], "oidc_issuer": f"https://{tenant.tenant_id}-old.okta.com"}
    client.update_identity_provider(
        UserPoolId=tenant.cognito.user_pool_id,
        ProviderName=tenant.cognito.provider_name,
        ProviderDetails=details,
    )


def _okta(change: Callable[[OktaOrg], None]) -> Callable[[DemoTenant, Fleet], None]:
    return lambda tenant, _fleet: change(tenant.org)


# tenant id, what happened to it, the change (None: it stays compliant)
DEMO_STORIES: list[tuple[str, str, Callable[[DemoTenant, Fleet], None] | None]] = [
    ("acme", "compliant", None),
    ("globex", "the Okta app was deactivated", _okta(_deactivate)),
    ("initech", "the okta.userTypes.read scope grant was revoked",
     _okta(_revoke_user_types_grant)),
    ("umbrella", "the sign-in redirect URI got a trailing slash",
     _okta(_trailing_slash_redirect)),
    ("hooli", "the client secret was rotated in Okta but not in Cognito",
     _okta(_rotate_secret_in_okta_only)),
    ("stark", "Cognito's issuer still names the org the customer moved away from",
     _issuer_of_old_org),
]


def build_demo_fleet(fleet: Fleet) -> Callable[[], None]:
    """Six compliant tenants; returns the function that makes five of them drift."""
    changes = []
    for tenant_id, story, change in DEMO_STORIES:
        tenant = fleet.add(tenant_id, story)
        if change is not None:
            changes.append((tenant, change))

    def drift() -> None:
        for tenant, change in changes:
            change(tenant, fleet)

    return drift
