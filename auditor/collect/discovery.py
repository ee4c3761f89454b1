"""The issuer's OIDC discovery document (OpenID Connect Discovery 1.0, section 4).

The issuer comes from tenant data (the Cognito IdP's ``oidc_issuer``), so it is hostile
until proven otherwise: it is fetched only when its scheme, host and port are those of
the tenant's own Okta org or configured custom domain. The request carries no
credentials (the document is public, and the Okta API token must never travel to a
custom domain), follows no redirects, and reads at most 1 MiB.

This is plain aiohttp rather than the okta SDK's request executor: the executor adds
the org's ``Authorization`` header to every request and rewrites any URL that is not
under the org URL, which is wrong for a custom-domain issuer.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from auditor.collect.okta_client import (
    OktaCallError,
    RefusedResponseError,
    read_bounded,
    redirect_reason,
)
from auditor.collect.shape import parse
from auditor.service.metrics import aiohttp_trace_config
from auditor.snapshot import OidcDiscovery
from auditor.urls import origin

WELL_KNOWN = "/.well-known/openid-configuration"
MAX_BYTES = 1 << 20


def issuer_refusal(issuer: str, allowed_origins: list[str]) -> str | None:
    """Why ``issuer`` must not be fetched, or None when it is a clean URL on the org.

    An OIDC issuer has no query or fragment (OpenID Connect Discovery section 3), and a
    fragment can hide a host from a reader (``https://org#@127.0.0.1:1234``). User info
    before the host has no origin (:func:`auditor.urls.origin`), so it is never on the org.
    """
    if "?" in issuer or "#" in issuer:
        return "has a query or fragment, which an OIDC issuer never has"
    if any(c.isspace() for c in issuer):
        return "is not on the tenant's Okta org"
    where = origin(issuer)
    if where is None or not any(where == origin(a) for a in allowed_origins):
        return "is not on the tenant's Okta org"
    return None


def discovery_url(issuer: str) -> str:
    """The discovery URL of ``issuer``: trailing ``/`` removed, well-known path added."""
    return issuer.rstrip("/") + WELL_KNOWN


async def fetch_discovery(issuer: str, *, seconds: float) -> OidcDiscovery:
    """Fetch and parse the discovery document.

    Raises :class:`OktaCallError` when it cannot be had, ``ShapeError`` when it is wrong.
    """
    url = discovery_url(issuer)
    client_timeout = aiohttp.ClientTimeout(total=seconds)
    async with (
        aiohttp.ClientSession(
            timeout=client_timeout, trace_configs=[aiohttp_trace_config("discovery")]
        ) as session,
        session.get(url, allow_redirects=False, headers={"Accept": "application/json"}) as resp,
    ):
        if 300 <= resp.status < 400:
            raise OktaCallError(f"GET {url}: {redirect_reason(resp)}", status=resp.status)
        if resp.status != 200:
            raise OktaCallError(f"GET {url}: HTTP {resp.status}", status=resp.status)
        if resp.content_type != "application/json":
            shown = resp.content_type[:100]
            raise OktaCallError(f"GET {url}: answered with content type {shown!r}, not JSON")
        try:
            body = await read_bounded(resp, MAX_BYTES)
        except RefusedResponseError as exc:
            raise OktaCallError(f"GET {url}: {exc.reason}") from None
    try:
        doc: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OktaCallError(f"GET {url}: not valid JSON") from None
    if not isinstance(doc, dict):
        raise OktaCallError(f"GET {url}: not a JSON object")
    # ``url`` is ours, set last: a document cannot forge where it was fetched from.
    return parse(OidcDiscovery, {**doc, "url": url}, f"GET {url}")
