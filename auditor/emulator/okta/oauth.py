"""The Okta emulator's OAuth side: discovery documents and the token endpoint.

OIDC / OAuth discovery for the org authorization server and custom ones (with their
issuer modes), and ``POST /oauth2/v1/token`` for client credentials with a
``private_key_jwt`` assertion, checked as Okta checks it (audience, issuer, expiry,
replayed ``jti``, granted scopes), answering with RFC 6749 error bodies.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import jwt

from auditor.emulator.okta import payloads
from auditor.emulator.okta.plumbing import (
    Context,
    OktaHTTPError,
    compact,
    dump,
    json_response,
    not_found,
    oauth_error,
    request_context,
)

if TYPE_CHECKING:
    from aiohttp import web
    from aiohttp.web_request import FileField
    from multidict import MultiDictProxy

    from auditor.emulator.okta.org import ServiceApp

    _Form = MultiDictProxy[str | bytes | bytearray | FileField]

TOKEN_LIFETIME = 3600
# Okta refuses client assertions that expire more than an hour after they are checked.
MAX_ASSERTION_LIFETIME = 3600
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# ------------------------------------------------------------------- discovery


def _org_discovery(request: web.Request, *, oidc: bool) -> web.Response:
    ctx = request_context(request)
    ctx.authorized = None
    # The org authorization server's issuer is the host it was asked on.
    return json_response(dump(ctx, payloads.discovery_document(ctx.base, oidc=oidc)))


async def _org_openid_configuration(request: web.Request) -> web.Response:
    return _org_discovery(request, oidc=True)


async def _org_oauth_metadata(request: web.Request) -> web.Response:
    return _org_discovery(request, oidc=False)


def _custom_discovery(request: web.Request, *, oidc: bool) -> web.Response:
    ctx = request_context(request)
    ctx.authorized = None
    server_id = request.match_info["authServerId"]
    with ctx.org.lock:
        server = ctx.org.authorization_servers.get(server_id)
        if server is None or server.get("status", "ACTIVE") != "ACTIVE":
            raise not_found(server_id, "AuthorizationServer")
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
        return json_response(dump(ctx, document))


async def _custom_openid_configuration(request: web.Request) -> web.Response:
    return _custom_discovery(request, oidc=True)


async def _custom_oauth_metadata(request: web.Request) -> web.Response:
    return _custom_discovery(request, oidc=False)


# ---------------------------------------------------------------- token endpoint

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


def _invalid_client(description: str) -> OktaHTTPError:
    return oauth_error(401, "invalid_client", description)


async def _token_form(request: web.Request) -> _Form:
    """The token request's form, once it is a client-credentials request."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise oauth_error(
            400, "invalid_request", "The request must be application/x-www-form-urlencoded."
        )
    form = await request.post()
    grant_type = form.get("grant_type")
    if not grant_type:
        raise oauth_error(400, "invalid_request", "The token request must specify a 'grant_type'.")
    if grant_type != "client_credentials":
        raise oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. "
            "Configured grant types: [client_credentials].",
        )
    return form


def _authenticate_client(ctx: Context, form: _Form) -> ServiceApp:
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
        raise oauth_error(
            400,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, "
            "'scope' must be provided.",
        )
    not_granted = [scope for scope in requested if scope not in app.scopes]
    if not_granted:
        raise oauth_error(
            400,
            "invalid_scope",
            f"The following scopes are not allowed: {', '.join(not_granted)}.",
        )
    return requested


async def _token(request: web.Request) -> web.Response:
    """``POST /oauth2/v1/token``: client credentials with a ``private_key_jwt`` assertion."""
    ctx = request_context(request)
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
    response = json_response(compact(body))
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def add_routes(routes: web.UrlDispatcher) -> None:
    """The OAuth paths: discovery for the org and custom servers, and the token endpoint."""
    routes.add_get("/.well-known/openid-configuration", _org_openid_configuration)
    routes.add_get("/.well-known/oauth-authorization-server", _org_oauth_metadata)
    routes.add_get(
        "/oauth2/{authServerId}/.well-known/openid-configuration", _custom_openid_configuration
    )
    routes.add_get(
        "/oauth2/{authServerId}/.well-known/oauth-authorization-server", _custom_oauth_metadata
    )
    routes.add_post("/oauth2/v1/token", _token)
