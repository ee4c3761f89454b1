"""Collect whole tenants: both halves, in the order their dependencies need.

Cognito first: its identity provider names the Okta app (``client_id``, when the config
gives no ``app_id``) and the issuer whose discovery document is checked. Then Okta.
Tenants run concurrently, bounded; one tenant's failure never touches another's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from auditor.collect.cognito import collect_cognito
from auditor.collect.okta import collect_okta
from auditor.logs import bind_tenant
from auditor.snapshot import (
    CognitoHalf,
    CollectionError,
    OktaHalf,
    Section,
    SectionStatus,
    TenantSnapshot,
)

if TYPE_CHECKING:
    from auditor.collect.cognito import CognitoClientSettings
    from auditor.collect.secrets import SecretHasher
    from auditor.config import TenantConfig

log = logging.getLogger(__name__)

ProgressCallback = Callable[[TenantSnapshot], None]


def utc_now() -> str:
    """The current time as RFC 3339 UTC with milliseconds (a run's start and end).

    Milliseconds because a small run takes under a second: at whole seconds its start and
    end read the same (issue 11 item 3).
    """
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def collect_tenant(
    tenant: TenantConfig,
    base_domain: str,
    hasher: SecretHasher,
    *,
    cognito_settings: CognitoClientSettings | None = None,
) -> TenantSnapshot:
    """Both halves of one tenant. Never raises for what a service or the network does.

    ``cognito_settings`` (timeouts, attempts) default to the nightly audit's.
    """
    collected_at = utc_now()
    try:
        cognito, cognito_errors = await asyncio.to_thread(
            functools.partial(collect_cognito, settings=cognito_settings),
            tenant, base_domain, hasher,
        )
    except Exception as exc:
        log.exception("tenant %s: Cognito collector failed", tenant.id)
        cognito, cognito_errors = _failed_cognito(tenant, f"internal error: {exc!r}")

    app_id = tenant.okta.app_id
    issuer = None
    issuer_unknown = "the Cognito identity provider names no issuer"
    idp = cognito.idp
    if idp.status is SectionStatus.OK and idp.value is not None:
        app_id = app_id or idp.value.ProviderDetails.client_id
        issuer = idp.value.ProviderDetails.oidc_issuer
    else:
        issuer_unknown = f"the Cognito identity provider is {idp.status.value}: {idp.reason}"

    try:
        okta, okta_errors = await collect_okta(
            tenant.okta, hasher, app_id=app_id, issuer=issuer,
            issuer_unknown_reason=issuer_unknown,
        )
    except Exception as exc:
        log.exception("tenant %s: Okta collector failed", tenant.id)
        okta, okta_errors = _failed_okta(tenant, app_id, f"internal error: {exc!r}")

    return TenantSnapshot(
        tenant_id=tenant.id,
        base_domain=base_domain,
        collected_at=collected_at,
        okta=okta,
        cognito=cognito,
        errors=[*okta_errors, *cognito_errors],
    )


async def collect_fleet(  # noqa: PLR0913 - the run's context, passed explicitly
    tenants: Sequence[TenantConfig],
    base_domain: str,
    hasher: SecretHasher,
    *,
    concurrency: int,
    on_done: ProgressCallback | None = None,
    cognito_settings: CognitoClientSettings | None = None,
    collect: Callable[[TenantConfig], Awaitable[TenantSnapshot]] | None = None,
) -> list[TenantSnapshot]:
    """Every tenant, ``concurrency`` at a time, in the order given.

    ``collect`` replaces :func:`collect_tenant` for one tenant (the run wraps it in the
    tenant's lease); each tenant's log lines carry its ``tenant_id``.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(tenant: TenantConfig) -> TenantSnapshot:
        async with gate:
            with bind_tenant(tenant.id):
                snapshot = await (
                    collect(tenant) if collect is not None
                    else collect_tenant(
                        tenant, base_domain, hasher, cognito_settings=cognito_settings
                    )
                )
        if on_done is not None:
            on_done(snapshot)
        return snapshot

    return list(await asyncio.gather(*(one(t) for t in tenants)))


def _failed_cognito(tenant: TenantConfig, reason: str) -> tuple[CognitoHalf, list[CollectionError]]:
    failed: Section[Any] = Section.error(reason)
    half = CognitoHalf(
        region=tenant.cognito.region,
        user_pool_id=tenant.cognito.user_pool_id,
        provider_name=tenant.cognito.provider_name,
        idp=failed,
        app_clients=failed,
        domain=failed,
    )
    return half, [CollectionError(source="cognito", section="cognito", message=reason)]


def _failed_okta(
    tenant: TenantConfig, app_id: str | None, reason: str
) -> tuple[OktaHalf, list[CollectionError]]:
    failed: Section[Any] = Section.error(reason)
    half = OktaHalf.without_app_parts(
        org_url=tenant.okta.org_url, custom_domain=tenant.okta.custom_domain,
        custom_domain_url=tenant.okta.custom_domain_url, app_id=app_id,
        app=failed, parts=failed, discovery=failed,
    )
    return half, [CollectionError(source="okta", section="okta", message=reason)]


def failed_snapshot(tenant: TenantConfig, base_domain: str, reason: str) -> TenantSnapshot:
    """A tenant that was not collected at all (its lease was busy, the run was stopped)."""
    okta, _ = _failed_okta(tenant, tenant.okta.app_id, reason)
    cognito, _ = _failed_cognito(tenant, reason)
    return TenantSnapshot(
        tenant_id=tenant.id, base_domain=base_domain, collected_at=utc_now(),
        okta=okta, cognito=cognito,
        errors=[CollectionError(source="cognito", section="tenant", message=reason)],
    )
