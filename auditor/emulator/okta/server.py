"""The HTTP side of the Okta emulator: one aiohttp server, one loopback port per org.

:class:`OktaEmulator` runs an asyncio loop in a daemon thread. Each org added gets its own
``127.0.0.1`` port (and a second one for its custom domain), all served by a single
aiohttp application that tells orgs apart by the port a request arrived on. The handlers
answer what Okta's Management API answers for the endpoints the auditor reads, with
Okta's headers, error bodies, pagination, credential checks and rate limiting, plus the
faults an org is told to inject (:class:`~auditor.emulator.okta.org.Fault`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import resource
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Self, TypeVar
from urllib.parse import urlencode

import jwt
from aiohttp import web

from auditor.emulator.okta import payloads
from auditor.emulator.okta.org import Fault, OktaOrg, RequestRecord, moved

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from types import TracebackType

    from aiohttp.web_request import FileField
    from multidict import MultiDictProxy

    from auditor.emulator.okta.org import ServiceApp
    from auditor.emulator.okta.payloads import JSON

    _Form = MultiDictProxy[str | bytes | bytearray | FileField]

logger = logging.getLogger(__name__)

TOKEN_LIFETIME = 3600
# Okta refuses client assertions that expire more than an hour after they are checked.
MAX_ASSERTION_LIFETIME = 3600
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_FD_TARGET = 65536
_T = TypeVar("_T")


# ----------------------------------------------------------------- request context


@dataclass
class _Binding:
    """What one listening port serves."""

    org: OktaOrg
    custom_domain: bool
    site: web.SockSite


@dataclass
class _Context:
    """Per-request facts the middleware and the handlers share."""

    org: OktaOrg
    custom_domain: bool
    base: str
    authorized: bool | None = None
    auth_scheme: str | None = None


_EMULATOR: web.AppKey[OktaEmulator] = web.AppKey("okta_emulator")
_CONTEXT = web.RequestKey("okta_context", _Context)
_KNOWN_SCHEMES = frozenset({"SSWS", "Bearer", "Basic", "DPoP"})


class _OktaHTTPError(Exception):
    """An answer other than 200, raised by a handler, rendered by the middleware."""

    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error_id() -> str:
    return "oae" + secrets.token_urlsafe(16)[:22]


def _okta_error(
    status: int, code: str, summary: str, headers: dict[str, str] | None = None
) -> _OktaHTTPError:
    return _OktaHTTPError(status, payloads.okta_error(code, summary, _error_id()), headers)


def _not_found(object_id: str, kind: str) -> _OktaHTTPError:
    return _okta_error(404, "E0000007", f"Not found: Resource not found: {object_id} ({kind})")


def _oauth_error(status: int, error: str, description: str) -> _OktaHTTPError:
    """The token endpoint's error body (RFC 6749 section 5.2), as Okta sends it."""
    return _OktaHTTPError(
        status,
        {"error": error, "error_description": description},
        {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"},
    )


# Error codes Okta uses for the statuses a fault can inject.
_STATUS_ERRORS = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
}


def _status_error(status: int) -> JSON:
    code, summary = _STATUS_ERRORS.get(status, ("E0000009", "Internal Server Error"))
    return payloads.okta_error(code, summary, _error_id())


def _context(request: web.Request) -> _Context:
    return request[_CONTEXT]


# ------------------------------------------------------------------ credentials


def _challenge(ctx: _Context, scope: str, resource: str, error: str, description: str) -> str:
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
    ctx = _context(request)
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
        raise _okta_error(401, "E0000011", "Invalid token provided")

    with org.lock:
        issued = org.access_tokens.get(credential)
    if issued is None or issued.expires_at <= time.time():
        challenge = _challenge(
            ctx, scope, request.path, "invalid_token", "The access token is invalid."
        )
        raise _okta_error(
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
        raise _okta_error(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
            {"WWW-Authenticate": challenge},
        )
    ctx.authorized = True


# ------------------------------------------------------------------- rendering


def _rewrite_hrefs(node: Any, old: str, new: str) -> Any:  # noqa: ANN401 - walks raw JSON
    """Links point at the host the request came to (the custom domain), other fields not."""
    if isinstance(node, dict):
        return {
            key: (
                moved(value, old, new)
                if key == "href" and isinstance(value, str)
                else _rewrite_hrefs(value, old, new)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_hrefs(value, old, new) for value in node]
    return node


def _dump(ctx: _Context, payload: Any) -> bytes:  # noqa: ANN401 - raw JSON
    """Serialize under the org lock (the caller holds it) so a change is never half seen."""
    if ctx.custom_domain and ctx.base != ctx.org.url:
        payload = _rewrite_hrefs(payload, ctx.org.url, ctx.base)
    return _compact(payload)


def _compact(payload: Any) -> bytes:  # noqa: ANN401 - raw JSON
    """JSON as Okta sends it: no whitespace."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _json_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


@dataclass(frozen=True)
class _Paging:
    """How a list endpoint pages: its ``limit`` default and maximum, if it takes one."""

    default_limit: int | None = None
    max_limit: int | None = None


_NO_LIMIT = _Paging()


def _page(request: web.Request, items: list[JSON], paging: _Paging) -> web.Response:
    """One page of ``items`` with Okta's ``Link`` headers (``self``, and ``next`` if more).

    ``limit`` is honoured only where Okta takes it; ``org.page_size`` caps every list.
    The ``after`` cursor is the last item's id, as in Okta.
    """
    ctx = _context(request)
    query = dict(request.query)
    size: int | None = None
    if paging.default_limit is not None:
        raw = query.get("limit")
        try:
            size = int(raw) if raw is not None else paging.default_limit
        except ValueError:
            raise _okta_error(400, "E0000001", "Api validation failed: limit") from None
        size = max(1, min(size, paging.max_limit or size))
    if ctx.org.page_size is not None:
        size = min(size or ctx.org.page_size, ctx.org.page_size)

    start = 0
    after = query.get("after")
    if after is not None:
        ids = [str(item.get("id", index)) for index, item in enumerate(items)]
        start = ids.index(after) + 1 if after in ids else len(items)
    end = len(items) if size is None else start + size
    page = items[start:end]

    body = _dump(ctx, page)
    response = _json_response(body)
    raw_query = request.rel_url.raw_query_string
    self_url = f"{ctx.base}{request.path}" + (f"?{raw_query}" if raw_query else "")
    response.headers.add("Link", f'<{self_url}>; rel="self"')
    if end < len(items) and page:
        next_query = {key: value for key, value in query.items() if key != "after"}
        next_query["after"] = str(page[-1].get("id", end - 1))
        if size is not None and paging.default_limit is not None:
            next_query["limit"] = str(size)
        response.headers.add(
            "Link", f'<{ctx.base}{request.path}?{urlencode(next_query)}>; rel="next"'
        )
    return response


# ------------------------------------------------------------------- handlers


def _app_list(
    request: web.Request, table: str, scope: str, paging: _Paging = _NO_LIMIT
) -> web.Response:
    """A list hanging off an app (``/apps/{appId}/<table>``); 404 if the app is gone."""
    _authorize(request, scope)
    org = _context(request).org
    app_id = request.match_info["appId"]
    with org.lock:
        if app_id not in org.apps:
            raise _not_found(app_id, "AppInstance")
        items: list[JSON] = list(getattr(org, table).get(app_id, []))
        return _page(request, items, paging)


async def _get_app(request: web.Request) -> web.Response:
    _authorize(request, "okta.apps.read")
    ctx = _context(request)
    app_id = request.match_info["appId"]
    with ctx.org.lock:
        app = ctx.org.apps.get(app_id)
        if app is None:
            raise _not_found(app_id, "AppInstance")
        return _json_response(_dump(ctx, app))


async def _list_grants(request: web.Request) -> web.Response:
    return _app_list(request, "grants", "okta.appGrants.read")


async def _list_secrets(request: web.Request) -> web.Response:
    return _app_list(request, "secrets", "okta.apps.read")


async def _list_app_groups(request: web.Request) -> web.Response:
    return _app_list(request, "app_groups", "okta.apps.read", _Paging(20, 200))


async def _list_app_users(request: web.Request) -> web.Response:
    return _app_list(request, "app_users", "okta.apps.read", _Paging(50, 500))


async def _list_user_types(request: web.Request) -> web.Response:
    _authorize(request, "okta.userTypes.read")
    org = _context(request).org
    with org.lock:
        return _page(request, list(org.user_types), _NO_LIMIT)


async def _list_mappings(request: web.Request) -> web.Response:
    _authorize(request, "okta.profileMappings.read")
    org = _context(request).org
    source_id = request.query.get("sourceId")
    target_id = request.query.get("targetId")
    with org.lock:
        summaries = [
            payloads.mapping_summary(mapping)
            for mapping in org.mappings
            if (source_id is None or mapping.get("source", {}).get("id") == source_id)
            and (target_id is None or mapping.get("target", {}).get("id") == target_id)
        ]
        return _page(request, summaries, _Paging(20, 200))


async def _get_mapping(request: web.Request) -> web.Response:
    _authorize(request, "okta.profileMappings.read")
    ctx = _context(request)
    mapping_id = request.match_info["mappingId"]
    with ctx.org.lock:
        mapping = next((m for m in ctx.org.mappings if m.get("id") == mapping_id), None)
        if mapping is None:
            raise _not_found(mapping_id, "ProfileMapping")
        return _json_response(_dump(ctx, mapping))


def _org_discovery(request: web.Request, *, oidc: bool) -> web.Response:
    ctx = _context(request)
    ctx.authorized = None
    # The org authorization server's issuer is the host it was asked on.
    return _json_response(_dump(ctx, payloads.discovery_document(ctx.base, oidc=oidc)))


async def _org_openid_configuration(request: web.Request) -> web.Response:
    return _org_discovery(request, oidc=True)


async def _org_oauth_metadata(request: web.Request) -> web.Response:
    return _org_discovery(request, oidc=False)


def _custom_discovery(request: web.Request, *, oidc: bool) -> web.Response:
    ctx = _context(request)
    ctx.authorized = None
    server_id = request.match_info["authServerId"]
    with ctx.org.lock:
        server = ctx.org.authorization_servers.get(server_id)
        if server is None or server.get("status", "ACTIVE") != "ACTIVE":
            raise _not_found(server_id, "AuthorizationServer")
        mode = server.get("issuerMode", "ORG_URL")
        # ORG_URL: always the org domain; CUSTOM_URL: the custom domain (if the org has
        # one); DYNAMIC: whichever host was asked.
        if mode == "DYNAMIC":
            base = ctx.base
        elif mode == "CUSTOM_URL":
            base = ctx.org.custom_domain_url or ctx.org.url
        else:
            base = ctx.org.url
        document = payloads.discovery_document(f"{base}/oauth2/{server_id}", oidc=oidc)
        return _json_response(_dump(ctx, document))


async def _custom_openid_configuration(request: web.Request) -> web.Response:
    return _custom_discovery(request, oidc=True)


async def _custom_oauth_metadata(request: web.Request) -> web.Response:
    return _custom_discovery(request, oidc=False)


# Which PyJWT failure becomes which of Okta's invalid_client descriptions.
_ASSERTION_ERRORS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "The client_assertion token is expired."),
    (
        jwt.InvalidAudienceError,
        "The audience claim for client_assertion must be the endpoint invoked for the request.",
    ),
    (
        jwt.InvalidIssuerError,
        "The issuer and subject claims in the client_assertion must both be the client_id.",
    ),
    (jwt.InvalidSignatureError, "The client_assertion signature is invalid."),
)


def _invalid_client(description: str) -> _OktaHTTPError:
    return _oauth_error(401, "invalid_client", description)


async def _token_form(request: web.Request) -> _Form:
    """The token request's form, once it is a client-credentials request."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise _oauth_error(
            400, "invalid_request", "The request must be application/x-www-form-urlencoded."
        )
    form = await request.post()
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _oauth_error(400, "invalid_request", "The token request must specify a 'grant_type'.")
    if grant_type != "client_credentials":
        raise _oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. "
            "Configured grant types: [client_credentials].",
        )
    return form


def _authenticate_client(ctx: _Context, form: _Form) -> ServiceApp:
    """The service app whose ``private_key_jwt`` assertion is valid, or an OAuth error."""
    assertion = form.get("client_assertion")
    if form.get("client_assertion_type") != JWT_BEARER or not isinstance(assertion, str):
        raise _invalid_client(
            "Client authentication failed. Either the client or the client credentials are invalid."
        )
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _invalid_client("The client_assertion token is malformed.") from None
    client_id = str(unverified.get("sub", ""))
    form_client_id = form.get("client_id")
    if form_client_id and form_client_id != client_id:
        raise _invalid_client("The 'client_id' parameter does not match the client_assertion.")
    org = ctx.org
    with org.lock:
        app = org.service_apps.get(client_id)
    if app is None or app.status != "ACTIVE":
        raise _invalid_client("Invalid value for 'client_id' parameter.")
    if header.get("kid") not in {None, app.kid}:
        raise _invalid_client("The client_assertion signature is invalid.")

    # Okta accepts the token endpoint of whichever host it was asked on.
    audiences = sorted({f"{ctx.base}/oauth2/v1/token", f"{org.url}/oauth2/v1/token"})
    try:
        claims = jwt.decode(
            assertion,
            app.public_key_pem,
            algorithms=["RS256"],
            audience=audiences,
            issuer=client_id,
            options={"require": ["exp", "iss", "sub", "aud", "jti"]},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise _invalid_client(
            f"The client_assertion token is missing the '{exc.claim}' claim."
        ) from None
    except jwt.PyJWTError as exc:
        description = next(
            (text for kind, text in _ASSERTION_ERRORS if isinstance(exc, kind)),
            "The client_assertion token is invalid.",
        )
        raise _invalid_client(description) from None
    if float(claims["exp"]) - time.time() > MAX_ASSERTION_LIFETIME + 60:
        raise _invalid_client("The client_assertion token has an expiration too far in the future.")
    # Okta consumes every assertion's jti, even when the request fails later.
    jti = str(claims["jti"])
    with org.lock:
        replayed = jti in org.used_assertion_ids
        org.used_assertion_ids.add(jti)
    if replayed:
        raise _invalid_client("The client_assertion token has already been used.")
    return app


def _granted_scopes(app: ServiceApp, form: _Form) -> list[str]:
    """The requested scopes, in order, if the service app has every one of them.

    Okta checks each requested scope against the app's grants and refuses the request
    if one is missing; it never grants more than was asked.
    """
    requested = list(dict.fromkeys(str(form.get("scope", "")).split()))
    if not requested:
        raise _oauth_error(
            400,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, "
            "'scope' must be provided.",
        )
    not_granted = [scope for scope in requested if scope not in app.scopes]
    if not_granted:
        raise _oauth_error(
            400,
            "invalid_scope",
            f"The following scopes are not allowed: {', '.join(not_granted)}.",
        )
    return requested


async def _token(request: web.Request) -> web.Response:
    """``POST /oauth2/v1/token``: client credentials with a ``private_key_jwt`` assertion."""
    ctx = _context(request)
    ctx.authorized = False
    form = await _token_form(request)
    app = _authenticate_client(ctx, form)
    ctx.authorized = True
    scopes = _granted_scopes(app, form)
    token = ctx.org.issue_token(app.client_id, frozenset(scopes), TOKEN_LIFETIME)
    body = {
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "access_token": token,
        "scope": " ".join(scopes),
    }
    response = _json_response(_compact(body))
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# ----------------------------------------------------------------- middleware


def _finish(
    response: web.StreamResponse,
    now: float,
    rate: tuple[int, int, int] | None,
) -> web.StreamResponse:
    """Headers Okta puts on every answer."""
    response.headers["Date"] = formatdate(now, usegmt=True)
    response.headers["Server"] = "nginx"
    response.headers["X-Okta-Request-Id"] = secrets.token_urlsafe(20)
    response.headers.setdefault("Cache-Control", "no-cache, no-store")
    response.headers.setdefault("Pragma", "no-cache")
    response.headers.setdefault("Expires", "0")
    response.headers["X-Content-Type-Options"] = "nosniff"
    if rate is not None:
        limit, remaining, reset = rate
        response.headers["X-Rate-Limit-Limit"] = str(limit)
        response.headers["X-Rate-Limit-Remaining"] = str(remaining)
        response.headers["X-Rate-Limit-Reset"] = str(reset)
    return response


def _from_error(error: _OktaHTTPError) -> web.Response:
    response = _json_response(_compact(error.body), error.status)
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


async def _run_handler(
    request: web.Request,
    handler: Any,  # noqa: ANN401 - aiohttp's handler type
) -> web.StreamResponse:
    """The handler's answer, with routing misses and errors in Okta's shape."""
    try:
        response: web.StreamResponse = await handler(request)
    except _OktaHTTPError as error:
        return _from_error(error)
    except web.HTTPMethodNotAllowed:
        return _from_error(
            _okta_error(405, "E0000022", "The endpoint does not support the provided HTTP method")
        )
    except web.HTTPNotFound:
        return _from_error(_not_found(request.path, "Path"))
    except Exception:
        # An emulator bug must still answer like Okta's 500, and be visible in the log.
        logger.exception("Okta emulator handler failed for %s %s", request.method, request.path)
        return _from_error(_okta_error(500, "E0000009", "Internal Server Error"))
    return response


@web.middleware
async def _okta_middleware(request: web.Request, handler: Any) -> web.StreamResponse:  # noqa: ANN401
    emulator: OktaEmulator = request.app[_EMULATOR]
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    binding = emulator.binding(sockname[1]) if sockname else None
    if binding is None:  # the org was removed while the connection was open
        raise web.HTTPServiceUnavailable
    org = binding.org
    base = (org.custom_domain_url or org.url) if binding.custom_domain else org.url
    ctx = _Context(org=org, custom_domain=binding.custom_domain, base=base)
    request[_CONTEXT] = ctx
    now = time.time()
    limit, remaining, reset, exceeded = org.consume_rate_limit(now)
    rate: tuple[int, int, int] | None = (limit, remaining, reset)
    fault = org.take_fault(request.method, request.path)
    response: web.StreamResponse

    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
        now = time.time()
    if fault is not None and fault.kind == "drop_connection":
        if request.transport is not None:
            request.transport.close()
        _log(request, ctx, None, fault)
        return web.Response()
    if fault is not None and fault.kind == "rate_limit":
        response = _json_response(_compact(_status_error(429)), 429)
        # Reset = this very second: the okta SDK then waits reset - Date + 1 = 1 s.
        rate = (limit, 0, int(now)) if fault.rate_limit_headers else None
    elif fault is not None and fault.kind == "status":
        response = _json_response(_compact(_status_error(fault.status)), fault.status)
    elif exceeded:
        response = _json_response(_compact(_status_error(429)), 429)
    else:
        response = await _run_handler(request, handler)
        if (
            fault is not None
            and fault.kind == "malformed_json"
            and isinstance(response, web.Response)
        ):
            whole = response.body if isinstance(response.body, bytes) else b"{}"
            response = web.Response(
                body=whole[: max(1, len(whole) // 2)],
                status=200,
                headers={"Content-Type": "application/json"},
            )
    _finish(response, now, rate)
    _log(request, ctx, response.status, fault)
    return response


def _log(request: web.Request, ctx: _Context, status: int | None, fault: Fault | None) -> None:
    ctx.org.record(
        RequestRecord(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            authorized=ctx.authorized,
            auth_scheme=ctx.auth_scheme,
            status=status,
            fault=fault.kind if fault is not None else None,
            custom_domain=ctx.custom_domain,
            at=time.time(),
        )
    )


def _build_app(emulator: OktaEmulator) -> web.Application:
    app = web.Application(middlewares=[_okta_middleware])
    app[_EMULATOR] = emulator
    routes = app.router
    routes.add_get("/api/v1/apps/{appId}", _get_app)
    routes.add_get("/api/v1/apps/{appId}/grants", _list_grants)
    routes.add_get("/api/v1/apps/{appId}/credentials/secrets", _list_secrets)
    routes.add_get("/api/v1/apps/{appId}/groups", _list_app_groups)
    routes.add_get("/api/v1/apps/{appId}/users", _list_app_users)
    routes.add_get("/api/v1/meta/types/user", _list_user_types)
    routes.add_get("/api/v1/mappings", _list_mappings)
    routes.add_get("/api/v1/mappings/{mappingId}", _get_mapping)
    routes.add_get("/.well-known/openid-configuration", _org_openid_configuration)
    routes.add_get("/.well-known/oauth-authorization-server", _org_oauth_metadata)
    routes.add_get(
        "/oauth2/{authServerId}/.well-known/openid-configuration", _custom_openid_configuration
    )
    routes.add_get(
        "/oauth2/{authServerId}/.well-known/oauth-authorization-server", _custom_oauth_metadata
    )
    routes.add_post("/oauth2/v1/token", _token)
    return app


# ------------------------------------------------------------------- emulator


async def _shutdown(runner: web.AppRunner) -> None:
    """Close every connection and port at once, without waiting for answers in progress.

    Requests a latency fault is holding are dropped (the client sees a disconnect) and
    their handlers cancelled, so stopping never waits for them nor leaves them pending.
    """
    # Stop listening first: a client whose connection is dropped retries at once.
    for site in list(runner.sites):
        await site.stop()
    if runner.server is not None:
        for connection in runner.server.connections:
            connection.force_close()
    await _cancel_remaining_tasks()
    await runner.cleanup()


async def _cancel_remaining_tasks() -> None:
    """Cancel handlers still running (a long latency fault) so none is left pending."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _raise_fd_limit() -> None:
    """A thousand orgs with custom domains need a few thousand sockets."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = _FD_TARGET if hard == resource.RLIM_INFINITY else min(hard, _FD_TARGET)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class OktaEmulator:
    """Many emulated Okta orgs in one process, each on its own loopback port.

    ``start()`` runs the server's event loop in a daemon thread; ``add_org()`` binds a
    port (and a second one for a custom domain) and points the org's ``url`` at it. Also
    a context manager. Safe to use from any thread except the emulator's own.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        if not ipaddress.IPv4Address(host).is_loopback:
            raise ValueError(f"the Okta emulator only listens on IPv4 loopback, not {host!r}")
        self.host = host
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._bindings: dict[int, _Binding] = {}
        self._start_lock = threading.Lock()

    # -- lifecycle

    def start(self) -> Self:
        """Start the server thread (idempotent)."""
        with self._start_lock:
            if self._loop is not None:
                return self
            _raise_fd_limit()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="okta-emulator", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
            runner = web.AppRunner(
                _build_app(self), access_log=None, handle_signals=False, shutdown_timeout=1.0
            )
            self._call(runner.setup())
            self._runner = runner
        return self

    def stop(self) -> None:
        """Close every port and stop the thread (idempotent)."""
        with self._start_lock:
            loop, thread, runner = self._loop, self._thread, self._runner
            if loop is None or thread is None:
                return
            if runner is not None:
                self._call(_shutdown(runner))
            self._call(_cancel_remaining_tasks())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = self._runner = None
            self._bindings.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- orgs

    def add_org(self, org: OktaOrg, *, custom_domain: bool = False) -> OktaOrg:
        """Serve ``org`` on a new port; with ``custom_domain``, on a second one too.

        Sets ``org.url`` to ``http://127.0.0.1:PORT`` (every link in its state follows)
        and, with ``custom_domain``, ``org.custom_domain`` to ``127.0.0.1:PORT2``.
        """
        self.start()
        if org in self.orgs:
            raise ValueError(f"org {org.name!r} is already served at {org.url}")
        port = self._call(self._bind(org, custom_domain=False))
        org.rebase(f"http://{self.host}:{port}")
        if custom_domain:
            custom_port = self._call(self._bind(org, custom_domain=True))
            with org.lock:
                org.custom_domain = f"{self.host}:{custom_port}"
        return org

    def remove_org(self, org: OktaOrg) -> None:
        """Stop serving ``org`` (its ports close; its state is kept)."""
        ports = [port for port, binding in self._bindings.items() if binding.org is org]
        for port in ports:
            binding = self._bindings.pop(port)
            self._call(binding.site.stop())

    @property
    def orgs(self) -> list[OktaOrg]:
        """The orgs being served, in the order they were added."""
        seen: dict[int, OktaOrg] = {}
        for binding in list(self._bindings.values()):
            seen.setdefault(id(binding.org), binding.org)
        return list(seen.values())

    def binding(self, port: int) -> _Binding | None:
        """What a local port serves (used by the request middleware)."""
        return self._bindings.get(port)

    # -- internals

    async def _bind(self, org: OktaOrg, *, custom_domain: bool) -> int:
        if self._runner is None:
            raise RuntimeError("the emulator is not running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        sock.listen(128)
        sock.setblocking(False)  # noqa: FBT003 - socket API
        site = web.SockSite(self._runner, sock)
        await site.start()
        port: int = sock.getsockname()[1]
        self._bindings[port] = _Binding(org, custom_domain, site)
        return port

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)
