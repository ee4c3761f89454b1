"""Collect whole tenants: both halves, in the order their dependencies need.

Cognito first: its identity provider names the Okta app (``client_id``, when the config
gives no ``app_id``) and the issuer whose discovery document is checked. Then Okta.
Tenants run concurrently, paced by :mod:`auditor.pacing` (limiters per Cognito quota and
Okta org, tenants in flight bounded by memory); one tenant's failure never touches
another's.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from auditor.collect.cognito import SharedClients, collect_cognito
from auditor.collect.okta import collect_okta
from auditor.logs import bind_tenant
from auditor.pacing import PacingConfig, RunPacing
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
PacedCollect = Callable[["TenantConfig"], Awaitable[TenantSnapshot]]
"""One tenant's paced collection, as :func:`collect_fleet` hands it to its ``collect``."""


def utc_now() -> str:
    """The current time as RFC 3339 UTC with milliseconds (a run's start and end).

    Milliseconds because a small run takes under a second: at whole seconds its start and
    end read the same (issue 11 item 3).
    """
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def collect_tenant(  # noqa: PLR0913 - keyword-only context of one fleet run
    tenant: TenantConfig,
    base_domain: str,
    hasher: SecretHasher,
    *,
    cognito_settings: CognitoClientSettings | None = None,
    clients: SharedClients | None = None,
    executor: Executor | None = None,
) -> TenantSnapshot:
    """Both halves of one tenant. Never raises for what a service or the network does.

    ``cognito_settings`` (timeouts, attempts) default to the nightly audit's;
    ``clients`` (a fleet run's) shares paced Cognito clients and paces Okta per org;
    ``executor`` runs the blocking boto3 calls (default: the loop's).
    """
    collected_at = utc_now()
    pacing = clients.pacing if clients is not None else None
    try:
        cognito, cognito_errors = await asyncio.get_running_loop().run_in_executor(
            # In the caller's context, as asyncio.to_thread does: log lines keep the
            # tenant and run bound by auditor.logs.
            executor, functools.partial(
                contextvars.copy_context().run, collect_cognito, tenant, base_domain, hasher,
                settings=cognito_settings, clients=clients,
            ),
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
            pacer=pacing.okta if pacing is not None else None,
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
    pacing: PacingConfig | None = None,
    on_done: ProgressCallback | None = None,
    cognito_settings: CognitoClientSettings | None = None,
    collect: Callable[[TenantConfig, PacedCollect], Awaitable[TenantSnapshot]] | None = None,
) -> list[TenantSnapshot]:
    """Every tenant's snapshot, in the order given: :func:`stream_fleet`, all kept.

    For a small fleet and for tests; a fleet run hands each snapshot on as it finishes.
    """
    snapshots: dict[int, TenantSnapshot] = {}

    async def keep(position: int, snapshot: TenantSnapshot) -> None:
        snapshots[position] = snapshot

    await stream_fleet(
        tenants, base_domain, hasher, keep, pacing=pacing, on_done=on_done,
        cognito_settings=cognito_settings, collect=collect,
    )
    return [snapshots[i] for i in range(len(tenants))]


async def stream_fleet(  # noqa: PLR0913 - the run's context, passed explicitly
    tenants: Sequence[TenantConfig],
    base_domain: str,
    hasher: SecretHasher,
    consume: Callable[[int, TenantSnapshot], Awaitable[None]],
    *,
    pacing: PacingConfig | None = None,
    on_done: ProgressCallback | None = None,
    cognito_settings: CognitoClientSettings | None = None,
    collect: Callable[[TenantConfig, PacedCollect], Awaitable[TenantSnapshot]] | None = None,
) -> None:
    """Every tenant, as fast as the quotas allow, each handed to ``consume`` as it finishes.

    ``consume(position, snapshot)`` (the tenant's place in ``tenants``) runs while the
    tenant still holds its place in flight, so snapshots never pile up faster than they
    are consumed: keep nothing of a snapshot there and memory stays flat however large
    the fleet.

    Fresh limiters for this run (:class:`~auditor.pacing.RunPacing`); as many tenants
    in flight as ``pacing`` admits (its memory budget, and ``max_tenants_in_flight``,
    where the config's ``concurrency:`` lands); the blocking boto3 calls on
    ``worker_threads`` threads (asyncio's default would give 6 on 2 cores).
    ``collect(tenant, paced)`` replaces the plain paced collection of one tenant (the
    run wraps ``paced(tenant)`` in the tenant's lease); each tenant's log lines carry
    its ``tenant_id``.
    """
    run = RunPacing.create(pacing)
    clients = SharedClients(pacing=run)
    pool = ThreadPoolExecutor(max_workers=run.config.worker_threads, thread_name_prefix="cognito")

    def paced(tenant: TenantConfig) -> Awaitable[TenantSnapshot]:
        return collect_tenant(
            tenant, base_domain, hasher, cognito_settings=cognito_settings,
            clients=clients, executor=pool,
        )

    async def one(position: int, tenant: TenantConfig) -> None:
        async with run.admission.admit():
            with bind_tenant(tenant.id):
                snapshot = await (
                    collect(tenant, paced) if collect is not None else paced(tenant)
                )
                await consume(position, snapshot)
        if on_done is not None:
            on_done(snapshot)

    try:
        await asyncio.gather(*(one(i, t) for i, t in enumerate(tenants)))
    finally:
        # Every tenant is done (collect_tenant never raises), unless the run itself was
        # cancelled: then do not wait for threads blocked on the limiters.
        pool.shutdown(wait=False, cancel_futures=True)


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
