"""The Okta emulator's HTTP plumbing, shared by every endpoint.

Per-request context (which org, which host), Okta's error bodies, JSON rendering,
``Link``-header pagination, and the middleware that applies faults, rate limits and
Okta's response headers (``X-Rate-Limit-*``, ``X-Okta-Request-Id``) and records each
request on its org.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from auditor.emulator.okta import payloads
from auditor.emulator.okta.org import Fault, OktaOrg, RequestRecord, moved

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.emulator.okta.payloads import JSON

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------- request context


@dataclass
class Binding:
    """What one listening port serves."""

    org: OktaOrg
    custom_domain: bool
    site: web.SockSite


@dataclass
class Context:
    """Per-request facts the middleware and the handlers share."""

    org: OktaOrg
    custom_domain: bool
    base: str
    authorized: bool | None = None
    auth_scheme: str | None = None


# How the middleware finds what a port serves (the host's ``binding`` method).
BINDINGS: web.AppKey[Callable[[int], Binding | None]] = web.AppKey("okta_bindings")
_CONTEXT = web.RequestKey("okta_context", Context)


class OktaHTTPError(Exception):
    """An answer other than 200, raised by a handler, rendered by the middleware."""

    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error_id() -> str:
    return "oae" + secrets.token_urlsafe(16)[:22]


def okta_error(
    status: int, code: str, summary: str, headers: dict[str, str] | None = None
) -> OktaHTTPError:
    """A Management API error in Okta's body shape (errorCode, errorSummary, errorId)."""
    return OktaHTTPError(status, payloads.okta_error(code, summary, _error_id()), headers)


def not_found(object_id: str, kind: str) -> OktaHTTPError:
    """Okta's 404 for an object (or a path) it does not have."""
    return okta_error(404, "E0000007", f"Not found: Resource not found: {object_id} ({kind})")


def oauth_error(status: int, error: str, description: str) -> OktaHTTPError:
    """The token endpoint's error body (RFC 6749 section 5.2), as Okta sends it."""
    return OktaHTTPError(
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


def status_error(status: int) -> JSON:
    """The error body Okta sends with ``status`` (for injected faults and rate limits)."""
    code, summary = _STATUS_ERRORS.get(status, ("E0000009", "Internal Server Error"))
    return payloads.okta_error(code, summary, _error_id())


def request_context(request: web.Request) -> Context:
    """The org and host this request came to (set by the middleware)."""
    return request[_CONTEXT]


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


def dump(ctx: Context, payload: Any) -> bytes:  # noqa: ANN401 - raw JSON
    """Serialize under the org lock (the caller holds it) so a change is never half seen."""
    if ctx.custom_domain and ctx.base != ctx.org.url:
        payload = _rewrite_hrefs(payload, ctx.org.url, ctx.base)
    return compact(payload)


def compact(payload: Any) -> bytes:  # noqa: ANN401 - raw JSON
    """JSON as Okta sends it: no whitespace."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(body: bytes, status: int = 200) -> web.Response:
    """An already-serialized JSON body as a response."""
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


@dataclass(frozen=True)
class Paging:
    """How a list endpoint pages: its ``limit`` default and maximum, if it takes one."""

    default_limit: int | None = None
    max_limit: int | None = None


NO_LIMIT = Paging()


def paged_response(request: web.Request, items: list[JSON], paging: Paging) -> web.Response:
    """One page of ``items`` with Okta's ``Link`` headers (``self``, and ``next`` if more).

    ``limit`` is honoured only where Okta takes it; ``org.page_size`` caps every list.
    The ``after`` cursor is the last item's id, as in Okta.
    """
    ctx = request_context(request)
    query = dict(request.query)
    size: int | None = None
    if paging.default_limit is not None:
        raw = query.get("limit")
        try:
            size = int(raw) if raw is not None else paging.default_limit
        except ValueError:
            raise okta_error(400, "E0000001", "Api validation failed: limit") from None
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

    body = dump(ctx, page)
    response = json_response(body)
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


def _from_error(error: OktaHTTPError) -> web.Response:
    response = json_response(compact(error.body), error.status)
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
    except OktaHTTPError as error:
        return _from_error(error)
    except web.HTTPMethodNotAllowed:
        return _from_error(
            okta_error(405, "E0000022", "The endpoint does not support the provided HTTP method")
        )
    except web.HTTPNotFound:
        return _from_error(not_found(request.path, "Path"))
    except Exception:
        # An emulator bug must still answer like Okta's 500, and be visible in the log.
        logger.exception("Okta emulator handler failed for %s %s", request.method, request.path)
        return _from_error(okta_error(500, "E0000009", "Internal Server Error"))
    return response


def _fault_answer(fault: Fault) -> web.Response:
    """What a fault that replaces the whole answer sends."""
    if fault.kind == "redirect":
        return web.Response(
            body=b"<html><body>Moved</body></html>",
            status=fault.status,
            headers={"Location": fault.location, "Content-Type": "text/html"},
        )
    if fault.kind == "content_type":
        return web.Response(
            body=b"<!DOCTYPE html><html><body>Sign in to the network</body></html>",
            status=200,
            headers={"Content-Type": fault.content_type},
        )
    body = status_error(fault.status)
    if fault.summary:
        body = {**body, "errorSummary": fault.summary}
    return json_response(compact(body), fault.status)


def _altered(fault: Fault | None, response: web.StreamResponse) -> web.StreamResponse:
    """The handler's answer, cut in half or padded when a fault says so."""
    if fault is None or not isinstance(response, web.Response):
        return response
    whole = response.body if isinstance(response.body, bytes) else b"{}"
    if fault.kind == "malformed_json":
        return web.Response(
            body=whole[: max(1, len(whole) // 2)],
            status=200,
            headers={"Content-Type": "application/json"},
        )
    if fault.kind == "big_body":
        return web.Response(
            body=whole + b" " * fault.size,
            status=response.status,
            headers={"Content-Type": response.content_type or "application/json"},
        )
    return response


@web.middleware
async def okta_middleware(request: web.Request, handler: Any) -> web.StreamResponse:  # noqa: ANN401
    """Find the org by port, apply its faults and rate limit, add Okta's headers, record."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    binding = request.app[BINDINGS](sockname[1]) if sockname else None
    if binding is None:  # the org was removed while the connection was open
        raise web.HTTPServiceUnavailable
    org = binding.org
    base = (org.custom_domain_url or org.url) if binding.custom_domain else org.url
    ctx = Context(org=org, custom_domain=binding.custom_domain, base=base)
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
        response = json_response(compact(status_error(429)), 429)
        # Reset = this very second: the okta SDK then waits reset - Date + 1 = 1 s.
        rate = (limit, 0, int(now)) if fault.rate_limit_headers else None
    elif fault is not None and fault.kind in {"redirect", "content_type", "status"}:
        response = _fault_answer(fault)
    elif exceeded:
        response = json_response(compact(status_error(429)), 429)
    else:
        response = _altered(fault, await _run_handler(request, handler))
    _finish(response, now, rate)
    _log(request, ctx, response.status, fault)
    return response


def _log(request: web.Request, ctx: Context, status: int | None, fault: Fault | None) -> None:
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
