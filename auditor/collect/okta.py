"""The Okta half of a tenant: the OIDC app and everything hanging off it.

Each part becomes a :class:`~auditor.snapshot.Section`; a failure in one part is recorded
as that part's error and the others are still collected. Raw JSON is validated by
:func:`auditor.collect.shape.parse`, keeping values as found: an unknown grant type is
kept as a string for a rule to judge, an absent field stays ``None``, and a field of the
wrong type makes its section an error naming that field.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import aiohttp

from auditor.collect.discovery import fetch_discovery, issuer_refusal
from auditor.collect.okta_client import (
    GuardedSession,
    OktaCallError,
    OktaNotFoundError,
    OktaReader,
    build_client,
)
from auditor.collect.shape import ShapeError, Wire, parse
from auditor.snapshot import (
    CollectionError,
    ErrorSource,
    OidcDiscovery,
    OktaApp,
    OktaAssignments,
    OktaClientSecret,
    OktaHalf,
    OktaProfileMapping,
    OktaScopeGrant,
    SecretRef,
    Section,
    SectionStatus,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from auditor.collect.secrets import SecretHasher
    from auditor.config import OktaConfig
    from auditor.pacing import OktaPacer

T = TypeVar("T")

# Okta app ids are opaque ``0oa...`` strings; anything else would be spliced into a URL
# path, so it is refused instead of requested (``../users`` must never be fetched).
_APP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PAGE_LIMIT = "200"
MAX_ASSIGNED_USERS = 1000


# Wire models for the payloads whose shape is not a snapshot model's own. The app, its
# grants and its profile mapping are validated straight into the snapshot models, whose
# field names follow Okta's JSON on purpose.


class _Identified(Wire):
    """Any Okta object of which only the id is read (a group, a user, a mapping)."""

    id: str


class _Secret(Wire):
    id: str
    status: str | None = None
    client_secret: str | None = None


class _UserType(Wire):
    id: str | None = None
    default: bool | None = None


@dataclass
class _Errors:
    items: list[CollectionError] = field(default_factory=list)

    def add(self, section: str, message: str, source: ErrorSource = "okta") -> str:
        self.items.append(CollectionError(source=source, section=section, message=message))
        return message


async def collect_okta(  # noqa: PLR0913 - keyword-only context from the Cognito half
    config: OktaConfig,
    hasher: SecretHasher,
    *,
    app_id: str | None,
    issuer: str | None,
    issuer_unknown_reason: str = "the Cognito identity provider names no issuer",
    pacer: OktaPacer | None = None,
) -> tuple[OktaHalf, list[CollectionError]]:
    """Collect the Okta half. Never raises for anything Okta or the network does.

    ``app_id`` is the configured app id, or the Cognito IdP's ``client_id``; ``issuer``
    is the Cognito IdP's ``oidc_issuer`` (its discovery document is fetched only when
    it is on the tenant's own org or custom domain).
    """
    errors = _Errors()
    discovery = await _discovery_section(config, issuer, issuer_unknown_reason, errors)

    if app_id is None:
        skipped: Section[Any] = Section.skipped(
            "no app_id configured and the Cognito IdP's client_id is not known"
        )
        half = OktaHalf.without_app_parts(
            org_url=config.org_url, custom_domain=config.custom_domain,
            custom_domain_url=config.custom_domain_url, app_id=None,
            app=skipped, parts=skipped, discovery=discovery,
        )
        return half, errors.items

    try:
        client = build_client(config)
    except (ValueError, OSError) as exc:
        # A key file that is not a key, an org URL the SDK rejects: say so, once.
        failed: Section[Any] = Section.error(
            errors.add("client", f"cannot create the Okta client: {exc}")
        )
        half = OktaHalf.without_app_parts(
            org_url=config.org_url, custom_domain=config.custom_domain,
            custom_domain_url=config.custom_domain_url, app_id=app_id,
            app=failed, parts=failed, discovery=discovery,
        )
        return half, errors.items

    session = GuardedSession.attached_to(client)
    try:
        reader = OktaReader(client, config.org_url, pacer=pacer)
        half = await _collect_app_parts(
            reader, config=config, app_id=app_id, hasher=hasher, errors=errors,
            discovery=discovery,
        )
    finally:
        await session.close()
    return half, errors.items


async def _collect_app_parts(  # noqa: PLR0913 - one call site, all of it context
    reader: OktaReader,
    *,
    config: OktaConfig,
    app_id: str,
    hasher: SecretHasher,
    errors: _Errors,
    discovery: Section[OidcDiscovery],
) -> OktaHalf:
    app = await _app_section(reader, app_id, errors)
    if app.status != "ok":
        why = (
            "the Okta app was not found"
            if app.status == "absent"
            else "the Okta app could not be read"
        )
        return OktaHalf.without_app_parts(
            org_url=config.org_url, custom_domain=config.custom_domain,
            custom_domain_url=config.custom_domain_url, app_id=app_id,
            app=app, parts=Section.skipped(why), discovery=discovery,
        )

    path = f"/api/v1/apps/{quote(app_id, safe='')}"
    grants, secrets, assignments, (user_type, mapping) = await asyncio.gather(
        _section(errors, "grants", lambda: _grants(reader, path)),
        _section(errors, "secrets", lambda: _secrets(reader, path, hasher)),
        _section(errors, "assignments", lambda: _assignments(reader, path)),
        _mapping_sections(reader, app_id, errors),
    )
    return OktaHalf(
        org_url=config.org_url,
        custom_domain=config.custom_domain,
        custom_domain_url=config.custom_domain_url,
        app_id=app_id,
        app=app,
        grants=grants,
        default_user_type_id=user_type,
        profile_mapping=mapping,
        secrets=secrets,
        assignments=assignments,
        discovery=discovery,
    )


async def _section(
    errors: _Errors, name: str, fetch: Callable[[], Awaitable[T]]
) -> Section[T]:
    """Run one collection step; its failure becomes the section's recorded error."""
    try:
        return Section.ok(await fetch())
    except (OktaCallError, ShapeError) as exc:
        return Section.error(errors.add(name, exc.message))


async def _app_section(reader: OktaReader, app_id: str, errors: _Errors) -> Section[OktaApp]:
    if not _APP_ID.fullmatch(app_id):
        return Section.absent(
            f"not found: {app_id!r} is not a valid Okta app id (check app_id, or the "
            "Cognito IdP's client_id)"
        )
    path = f"/api/v1/apps/{quote(app_id, safe='')}"
    try:
        raw = await reader.get(path)
    except OktaNotFoundError:
        return Section.absent(f"not found: app {app_id} is deleted, or app_id is wrong")
    except OktaCallError as exc:
        return Section.error(errors.add("app", exc.message))
    try:
        return Section.ok(parse(OktaApp, raw, f"GET {path}"))
    except ShapeError as exc:
        return Section.error(errors.add("app", exc.message))


async def _grants(reader: OktaReader, app_path: str) -> list[OktaScopeGrant]:
    path = f"{app_path}/grants"
    raw, _ = await reader.get_all(path, {"limit": PAGE_LIMIT})
    return parse(list[OktaScopeGrant], raw, f"GET {path}")


async def _secrets(
    reader: OktaReader, app_path: str, hasher: SecretHasher
) -> list[OktaClientSecret]:
    path = f"{app_path}/credentials/secrets"
    raw, _ = await reader.get_all(path)
    return [
        OktaClientSecret(
            id=item.id,
            status=item.status,
            # A secret Okta does not show at all compares no better than a masked one.
            secret=hasher.ref(item.client_secret) if item.client_secret
            else SecretRef(masked=True),
        )
        for item in parse(list[_Secret], raw, f"GET {path}")
    ]


async def _assignments(reader: OktaReader, app_path: str) -> OktaAssignments:
    ids: dict[str, list[str]] = {}
    truncated = False
    for part, max_items in (("groups", None), ("users", MAX_ASSIGNED_USERS)):
        path = f"{app_path}/{part}"
        raw, cut = await reader.get_all(path, {"limit": PAGE_LIMIT}, max_items=max_items)
        ids[part] = sorted(item.id for item in parse(list[_Identified], raw, f"GET {path}"))
        truncated = truncated or cut
    return OktaAssignments(
        group_ids=ids["groups"], user_ids=ids["users"], users_truncated=truncated
    )


async def _mapping_sections(
    reader: OktaReader, app_id: str, errors: _Errors
) -> tuple[Section[str], Section[OktaProfileMapping]]:
    """The default user type, then the mapping from it to the app."""
    path = "/api/v1/meta/types/user"
    try:
        types = parse(list[_UserType], await reader.get(path), f"GET {path}")
    except (OktaCallError, ShapeError) as exc:
        reason = errors.add("default_user_type_id", exc.message)
        return Section.error(reason), Section.skipped("the default user type is unknown")
    type_id = next((t.id for t in types if t.default is True and t.id is not None), None)
    if type_id is None:
        reason = "the org has no default user type"
        return Section.absent(reason), Section.skipped(reason)
    found = await _section(errors, "profile_mapping", lambda: _mapping(reader, type_id, app_id))
    mapping: Section[OktaProfileMapping]
    if found.status is SectionStatus.OK and found.value is None:
        mapping = Section.absent("no profile mapping from the default Okta user type to the app")
    else:
        mapping = Section(status=found.status, value=found.value, reason=found.reason)
    return Section.ok(type_id), mapping


async def _mapping(
    reader: OktaReader, type_id: str, app_id: str
) -> OktaProfileMapping | None:
    listed, _ = await reader.get_all(
        "/api/v1/mappings", {"sourceId": type_id, "targetId": app_id, "limit": PAGE_LIMIT}
    )
    summaries = parse(list[_Identified], listed, "GET /api/v1/mappings")
    if not summaries:
        return None
    path = f"/api/v1/mappings/{quote(summaries[0].id, safe='')}"
    return parse(OktaProfileMapping, await reader.get(path), f"GET {path}")


async def _discovery_section(
    config: OktaConfig, issuer: str | None, unknown_reason: str, errors: _Errors
) -> Section[OidcDiscovery]:
    if issuer is None:
        return Section.skipped(unknown_reason)
    allowed = [config.org_url] + ([config.custom_domain_url] if config.custom_domain_url else [])
    refusal = issuer_refusal(issuer, allowed)
    if refusal is not None:
        return Section.skipped(
            f"issuer {issuer!r} {refusal} ({', '.join(allowed)}); not fetched"
        )
    try:
        return Section.ok(await fetch_discovery(issuer, seconds=config.request_timeout))
    except (OktaCallError, ShapeError) as exc:
        return Section.error(errors.add("discovery", exc.message, source="discovery"))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Section.error(
            errors.add("discovery", f"cannot fetch {issuer}: {type(exc).__name__}",
                       source="discovery")
        )

