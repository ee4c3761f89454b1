"""The Okta half of a tenant: the OIDC app and everything hanging off it.

Each part becomes a :class:`~auditor.snapshot.Section`; a failure in one part is recorded
as that part's error and the others are still collected. Raw JSON is parsed here into
our own models with small coercion helpers, keeping values as found: an unknown grant
type is kept as a string for a rule to judge, an absent field stays ``None``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import aiohttp

from auditor.collect.discovery import fetch_discovery, issuer_origin_allowed
from auditor.collect.okta_client import (
    OktaCallError,
    OktaNotFoundError,
    OktaReader,
    build_client,
)
from auditor.snapshot import (
    CollectionError,
    ErrorSource,
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
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from auditor.collect.secrets import SecretHasher
    from auditor.config import OktaConfig

T = TypeVar("T")

# Okta app ids are opaque ``0oa...`` strings; anything else would be spliced into a URL
# path, so it is refused instead of requested (``../users`` must never be fetched).
_APP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PAGE_LIMIT = "200"
MAX_ASSIGNED_USERS = 1000


class ShapeError(ValueError):
    """Okta's JSON does not have the shape its API documents."""


@dataclass
class _Errors:
    items: list[CollectionError] = field(default_factory=list)

    def add(self, section: str, message: str, source: ErrorSource = "okta") -> str:
        self.items.append(CollectionError(source=source, section=section, message=message))
        return message


async def collect_okta(
    config: OktaConfig,
    hasher: SecretHasher,
    *,
    app_id: str | None,
    issuer: str | None,
    issuer_unknown_reason: str = "the Cognito identity provider names no issuer",
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
            org_url=config.org_url, custom_domain=config.custom_domain, app_id=None,
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
            org_url=config.org_url, custom_domain=config.custom_domain, app_id=app_id,
            app=failed, parts=failed, discovery=discovery,
        )
        return half, errors.items

    async with client:
        reader = OktaReader(client, config.org_url)
        half = await _collect_app_parts(
            reader, config=config, app_id=app_id, hasher=hasher, errors=errors,
            discovery=discovery,
        )
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
            org_url=config.org_url, custom_domain=config.custom_domain, app_id=app_id,
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
    except OktaCallError as exc:
        return Section.error(errors.add(name, exc.message))
    except ShapeError as exc:
        return Section.error(errors.add(name, f"unexpected response from Okta: {exc}"))


async def _app_section(reader: OktaReader, app_id: str, errors: _Errors) -> Section[OktaApp]:
    if not _APP_ID.match(app_id):
        return Section.absent(
            f"not found: {app_id!r} is not a valid Okta app id (check app_id, or the "
            "Cognito IdP's client_id)"
        )
    try:
        raw = await reader.get(f"/api/v1/apps/{quote(app_id, safe='')}")
    except OktaNotFoundError:
        return Section.absent(f"not found: app {app_id} is deleted, or app_id is wrong")
    except OktaCallError as exc:
        return Section.error(errors.add("app", exc.message))
    try:
        return Section.ok(parse_app(raw))
    except ShapeError as exc:
        return Section.error(errors.add("app", f"unexpected response from Okta: {exc}"))


async def _grants(reader: OktaReader, app_path: str) -> list[OktaScopeGrant]:
    raw, _ = await reader.get_all(f"{app_path}/grants", {"limit": PAGE_LIMIT})
    return [
        OktaScopeGrant(
            id=_req_str(g, "id", "grant"),
            scopeId=_opt_str(g, "scopeId"),
            status=_opt_str(g, "status"),
            issuer=_opt_str(g, "issuer"),
            source=_opt_str(g, "source"),
        )
        for g in _objects(raw, "grant")
    ]


async def _secrets(
    reader: OktaReader, app_path: str, hasher: SecretHasher
) -> list[OktaClientSecret]:
    raw, _ = await reader.get_all(f"{app_path}/credentials/secrets")
    out = []
    for item in _objects(raw, "client secret"):
        value = item.get("client_secret")
        # A secret Okta does not show at all can be compared no better than a masked one.
        ref = hasher.ref(value) if isinstance(value, str) and value else SecretRef(masked=True)
        out.append(
            OktaClientSecret(id=_req_str(item, "id", "client secret"),
                             status=_opt_str(item, "status"), secret=ref)
        )
    return out


async def _assignments(reader: OktaReader, app_path: str) -> OktaAssignments:
    groups, _ = await reader.get_all(f"{app_path}/groups", {"limit": PAGE_LIMIT})
    users, truncated = await reader.get_all(
        f"{app_path}/users", {"limit": PAGE_LIMIT}, max_items=MAX_ASSIGNED_USERS
    )
    return OktaAssignments(
        group_ids=sorted(_req_str(g, "id", "group assignment") for g in _objects(groups, "group")),
        user_ids=sorted(_req_str(u, "id", "user assignment") for u in _objects(users, "user")),
        users_truncated=truncated,
    )


async def _mapping_sections(
    reader: OktaReader, app_id: str, errors: _Errors
) -> tuple[Section[str], Section[OktaProfileMapping]]:
    """The default user type, then the mapping from it to the app."""
    try:
        types = await reader.get("/api/v1/meta/types/user")
        default = next(
            (t for t in _objects(types, "user type") if t.get("default") is True), None
        )
    except OktaCallError as exc:
        reason = errors.add("default_user_type_id", exc.message)
        return Section.error(reason), Section.skipped("the default user type is unknown")
    except ShapeError as exc:
        reason = errors.add("default_user_type_id", f"unexpected response from Okta: {exc}")
        return Section.error(reason), Section.skipped("the default user type is unknown")
    if default is None or not isinstance(default.get("id"), str):
        reason = "the org has no default user type"
        return Section.absent(reason), Section.skipped(reason)
    type_id: str = default["id"]
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
    summaries = _objects(listed, "profile mapping")
    if not summaries:
        return None
    mapping_id = _req_str(summaries[0], "id", "profile mapping")
    raw = await reader.get(f"/api/v1/mappings/{quote(mapping_id, safe='')}")
    if not isinstance(raw, dict):
        raise ShapeError("profile mapping is not an object")
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise ShapeError("profile mapping properties is not an object")
    return OktaProfileMapping(
        id=_req_str(raw, "id", "profile mapping"),
        source=_mapping_end(raw.get("source")),
        target=_mapping_end(raw.get("target")),
        properties={
            str(name): OktaProfileMappingProperty(
                expression=_opt_str(prop, "expression"), pushStatus=_opt_str(prop, "pushStatus")
            )
            for name, prop in properties.items()
            if isinstance(prop, dict)
        },
    )


async def _discovery_section(
    config: OktaConfig, issuer: str | None, unknown_reason: str, errors: _Errors
) -> Section[OidcDiscovery]:
    if issuer is None:
        return Section.skipped(unknown_reason)
    allowed = [config.org_url] + ([config.custom_domain_url] if config.custom_domain_url else [])
    if not issuer_origin_allowed(issuer, allowed):
        return Section.skipped(
            f"issuer {issuer!r} is not on the tenant's Okta org ({', '.join(allowed)}); "
            "not fetched"
        )
    try:
        return Section.ok(await fetch_discovery(issuer, seconds=config.request_timeout))
    except (OktaCallError, ShapeError) as exc:
        return Section.error(errors.add("discovery", str(exc), source="discovery"))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Section.error(
            errors.add("discovery", f"cannot fetch {issuer}: {type(exc).__name__}",
                       source="discovery")
        )


# ------------------------------------------------------------------ coercion helpers
# Small and strict about types, lenient about presence: a missing field is None, a
# field of the wrong type is a ShapeError (the section becomes an error, not a guess).


def parse_app(raw: object) -> OktaApp:
    """An Okta app JSON object -> :class:`OktaApp`, keeping unknown values as found."""
    if not isinstance(raw, dict):
        raise ShapeError("the app is not a JSON object")
    settings = _opt_obj(raw, "settings")
    oauth_settings = _opt_obj(settings, "oauthClient") if settings is not None else None
    credentials = _opt_obj(raw, "credentials")
    oauth_creds = _opt_obj(credentials, "oauthClient") if credentials is not None else None
    return OktaApp(
        id=_req_str(raw, "id", "app"),
        name=_opt_str(raw, "name"),
        label=_opt_str(raw, "label"),
        status=_opt_str(raw, "status"),
        signOnMode=_opt_str(raw, "signOnMode"),
        settings=None if settings is None else OktaAppSettings(
            oauthClient=None if oauth_settings is None else OktaOAuthClientSettings(
                application_type=_opt_str(oauth_settings, "application_type"),
                grant_types=_opt_str_list(oauth_settings, "grant_types"),
                response_types=_opt_str_list(oauth_settings, "response_types"),
                redirect_uris=_opt_str_list(oauth_settings, "redirect_uris"),
                post_logout_redirect_uris=_opt_str_list(
                    oauth_settings, "post_logout_redirect_uris"
                ),
                initiate_login_uri=_opt_str(oauth_settings, "initiate_login_uri"),
                consent_method=_opt_str(oauth_settings, "consent_method"),
                issuer_mode=_opt_str(oauth_settings, "issuer_mode"),
            )
        ),
        credentials=None if credentials is None else OktaAppCredentials(
            oauthClient=None if oauth_creds is None else OktaOAuthClientCredentials(
                client_id=_opt_str(oauth_creds, "client_id"),
                token_endpoint_auth_method=_opt_str(oauth_creds, "token_endpoint_auth_method"),
                autoKeyRotation=_opt_bool(oauth_creds, "autoKeyRotation"),
                pkce_required=_opt_bool(oauth_creds, "pkce_required"),
            )
        ),
    )


def _objects(raw: object, what: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ShapeError(f"expected a list of {what} objects")
    return raw


def _mapping_end(raw: object) -> OktaProfileMappingEnd | None:
    if not isinstance(raw, dict):
        return None
    return OktaProfileMappingEnd(
        id=_opt_str(raw, "id"), name=_opt_str(raw, "name"), type=_opt_str(raw, "type")
    )


def _opt_obj(raw: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ShapeError(f"{key} is a {type(value).__name__}, not an object")
    return value


def _opt_str(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ShapeError(f"{key} is a {type(value).__name__}, not a string")


def _req_str(raw: dict[str, Any], key: str, what: str) -> str:
    value = _opt_str(raw, key)
    if value is None:
        raise ShapeError(f"a {what} has no {key}")
    return value


def _opt_bool(raw: dict[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ShapeError(f"{key} is a {type(value).__name__}, not a boolean")


def _opt_str_list(raw: dict[str, Any], key: str) -> list[str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ShapeError(f"{key} is not a list of strings")
    return value
