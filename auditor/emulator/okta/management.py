"""The Okta emulator's Management API: the endpoints the auditor reads.

The app, its grants, client secrets, group and user assignments, user types and
profile mappings, each behind Okta's credential check (an SSWS API token, or a Bearer
token from the OAuth token endpoint carrying the endpoint's admin scope).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from auditor.emulator.okta import payloads
from auditor.emulator.okta.plumbing import (
    NO_LIMIT,
    Context,
    Paging,
    dump,
    json_response,
    not_found,
    okta_error,
    paged_response,
    request_context,
)

if TYPE_CHECKING:
    from aiohttp import web

    from auditor.emulator.okta.payloads import JSON

_KNOWN_SCHEMES = frozenset({"SSWS", "Bearer", "Basic", "DPoP"})


# ------------------------------------------------------------------ credentials


def _challenge(ctx: Context, scope: str, resource: str, error: str, description: str) -> str:
    """Okta's ``WWW-Authenticate`` for a Bearer token it will not accept."""
    return (
        f'Bearer authorization_uri="{ctx.base}/oauth2/v1/authorize", realm="{ctx.base}", '
        f'scope="{scope}", error="{error}", error_description="{description}", '
        f'resource="{resource}"'
    )


def _authorize(request: web.Request, scope: str) -> None:
    """Let the request through only with a valid SSWS token or a Bearer token with scope.

    An admin scope ``x.read`` is also satisfied by ``x.manage``, as in Okta.
    """
    ctx = request_context(request)
    header = request.headers.get("Authorization", "")
    scheme, space, credential = header.partition(" ")
    # Record the scheme word only; a header without the space (the okta SDK's generated
    # methods send "SSWS<token>") must not leak its token into the log.
    ctx.auth_scheme = (
        scheme if space and scheme in _KNOWN_SCHEMES else ("malformed" if header else None)
    )
    ctx.authorized = False
    org = ctx.org
    if space and credential and scheme == "SSWS":
        with org.lock:
            valid = credential in org.api_tokens
        if valid:
            ctx.authorized = True
            return
    if not (space and credential and scheme == "Bearer"):
        raise okta_error(401, "E0000011", "Invalid token provided")

    with org.lock:
        issued = org.access_tokens.get(credential)
    if issued is None or issued.expires_at <= time.time():
        challenge = _challenge(
            ctx, scope, request.path, "invalid_token", "The access token is invalid."
        )
        raise okta_error(
            401, "E0000011", "Invalid token provided", {"WWW-Authenticate": challenge}
        )
    accepted = {scope, scope.removesuffix(".read") + ".manage"}
    if not accepted & issued.scopes:
        challenge = _challenge(
            ctx,
            scope,
            request.path,
            "insufficient_scope",
            "The access token provided does not contain the required scopes.",
        )
        raise okta_error(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
            {"WWW-Authenticate": challenge},
        )
    ctx.authorized = True


# ------------------------------------------------------------------- handlers


def _app_list(
    request: web.Request, table: str, scope: str, paging: Paging = NO_LIMIT
) -> web.Response:
    """A list hanging off an app (``/apps/{appId}/<table>``); 404 if the app is gone."""
    _authorize(request, scope)
    org = request_context(request).org
    app_id = request.match_info["appId"]
    with org.lock:
        if app_id not in org.apps:
            raise not_found(app_id, "AppInstance")
        items: list[JSON] = list(getattr(org, table).get(app_id, []))
        return paged_response(request, items, paging)


async def _get_app(request: web.Request) -> web.Response:
    _authorize(request, "okta.apps.read")
    ctx = request_context(request)
    app_id = request.match_info["appId"]
    with ctx.org.lock:
        app = ctx.org.apps.get(app_id)
        if app is None:
            raise not_found(app_id, "AppInstance")
        return json_response(dump(ctx, app))


async def _list_grants(request: web.Request) -> web.Response:
    return _app_list(request, "grants", "okta.appGrants.read")


async def _list_secrets(request: web.Request) -> web.Response:
    return _app_list(request, "secrets", "okta.apps.read")


async def _list_app_groups(request: web.Request) -> web.Response:
    return _app_list(request, "app_groups", "okta.apps.read", Paging(20, 200))


async def _list_app_users(request: web.Request) -> web.Response:
    return _app_list(request, "app_users", "okta.apps.read", Paging(50, 500))


async def _list_user_types(request: web.Request) -> web.Response:
    _authorize(request, "okta.userTypes.read")
    org = request_context(request).org
    with org.lock:
        return paged_response(request, list(org.user_types), NO_LIMIT)


async def _list_mappings(request: web.Request) -> web.Response:
    _authorize(request, "okta.profileMappings.read")
    org = request_context(request).org
    source_id = request.query.get("sourceId")
    target_id = request.query.get("targetId")
    with org.lock:
        summaries = [
            payloads.mapping_summary(mapping)
            for mapping in org.mappings
            if (source_id is None or mapping.get("source", {}).get("id") == source_id)
            and (target_id is None or mapping.get("target", {}).get("id") == target_id)
        ]
        return paged_response(request, summaries, Paging(20, 200))


async def _get_mapping(request: web.Request) -> web.Response:
    _authorize(request, "okta.profileMappings.read")
    ctx = request_context(request)
    mapping_id = request.match_info["mappingId"]
    with ctx.org.lock:
        mapping = next((m for m in ctx.org.mappings if m.get("id") == mapping_id), None)
        if mapping is None:
            raise not_found(mapping_id, "ProfileMapping")
        return json_response(dump(ctx, mapping))


def add_routes(routes: web.UrlDispatcher) -> None:
    """The Management API's paths."""
    routes.add_get("/api/v1/apps/{appId}", _get_app)
    routes.add_get("/api/v1/apps/{appId}/grants", _list_grants)
    routes.add_get("/api/v1/apps/{appId}/credentials/secrets", _list_secrets)
    routes.add_get("/api/v1/apps/{appId}/groups", _list_app_groups)
    routes.add_get("/api/v1/apps/{appId}/users", _list_app_users)
    routes.add_get("/api/v1/meta/types/user", _list_user_types)
    routes.add_get("/api/v1/mappings", _list_mappings)
    routes.add_get("/api/v1/mappings/{mappingId}", _get_mapping)
