"""A hardened okta SDK client and a small raw-JSON reader on top of its request executor.

Why not the SDK's generated API methods (``client.get_application(...)``)? Measured on
okta 3.4.6:

* its generated models raise on any enum value they do not know (a new grant type makes
  ``get_application`` throw) and silently fill absent fields with defaults
  (``consent_method`` reads as TRUSTED): an auditor must see what is really there;
* network errors, timeouts, and a 429/503 without rate-limit headers surface from them as
  ``AttributeError``;
* they send ``SSWS<token>`` without the space.

The request executor (``create_request`` / ``execute``) does it right: the SDK's auth
(SSWS or OAuth private-key JWT, token renewal), its rate-limit-aware retries and its
transport, returning raw JSON and all ``Link`` headers. So we use the SDK for exactly
that, and parse the JSON into our own tolerant models (:mod:`auditor.collect.okta`).

The SDK also reads ``okta.yaml`` (working directory, ``~/.okta/``) and ``OKTA_CLIENT_*``
environment variables behind our back, one of which once enabled its response cache.
Everything that matters is set explicitly here (user config wins over both), the cache is
a no-op, and the SDK's own logger, which logs request headers at debug level, is silenced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp
from okta.cache.no_op_cache import NoOpCache
from okta.client import Client

from auditor.report.text import truncate
from auditor.service.metrics import aiohttp_trace_config
from auditor.urls import origin

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from auditor.config import OktaConfig
    from auditor.pacing import OktaPacer

_SDK_LOGGER = "okta-sdk-python"
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')
MAX_PAGES = 500
MAX_ERROR_DETAIL = 300
# One Okta answer larger than this is refused unread: a page of 200 apps or users is
# well under 1 MiB, and a hostile or broken server must not fill our memory.
MAX_BODY_BYTES = 4 << 20


class OktaCallError(Exception):
    """An Okta call that finally failed; ``message`` is safe to show (no secrets)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


class OktaNotFoundError(OktaCallError):
    """Okta answered 404 for the object."""


class RefusedResponseError(aiohttp.ClientError):
    """An answer the guarded session will not hand to the SDK (a redirect, a huge body).

    An ``aiohttp.ClientError``, so the SDK returns it as the call's error instead of
    raising; ``reason`` is safe to show.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class _GuardedResponse:
    """The SDK's view of one answer: the real response, with ``text()`` bounded."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - forwards to aiohttp
        return getattr(self._response, name)

    async def text(self) -> str:
        """The body, refused when it is a redirect or larger than :data:`MAX_BODY_BYTES`."""
        response = self._response
        if 300 <= response.status < 400:
            raise RefusedResponseError(redirect_reason(response))
        body = await read_bounded(response, MAX_BODY_BYTES)
        try:
            return body.decode(response.charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know: JSON is UTF-8 anyway
            return body.decode("utf-8", errors="replace")


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, or :class:`RefusedResponseError` as soon as it passes ``limit``.

    ``content.read(n)`` returns what has arrived, up to ``n``: reading chunks until the
    end is the only way to know the size without trusting ``Content-Length``.
    """
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.read(1 << 16):
        size += len(chunk)
        if size > limit:
            raise RefusedResponseError(f"answer larger than {limit >> 20} MiB; not read")
        chunks.append(chunk)
    return b"".join(chunks)


def redirect_reason(response: aiohttp.ClientResponse) -> str:
    """A 3xx in words, naming the origin of its ``Location`` (never the path or query)."""
    location = response.headers.get("Location", "")
    target = origin(urljoin(str(response.url), location)) if location else None
    where = f"{target[0]}://{target[1]}:{target[2]}" if target else "an unusable URL"
    return f"HTTP {response.status} redirect to {where}; redirects are not followed"


class _GuardedContext:
    def __init__(self, pending: Any) -> None:  # noqa: ANN401 - aiohttp's request manager
        self._pending = pending

    async def __aenter__(self) -> _GuardedResponse:
        return _GuardedResponse(await self._pending.__aenter__())

    async def __aexit__(self, *exc: object) -> None:
        await self._pending.__aexit__(*exc)


class GuardedSession:
    """The session the SDK's HTTP client sends through: no redirects, bounded bodies.

    aiohttp follows redirects by default and the SDK never says otherwise, so a 302 from
    (or in front of) the org would be followed to another host, with our Authorization
    header on the first hop's terms and that host's body read as the app. Every request
    here carries ``allow_redirects=False``, and a 3xx becomes an error naming where it
    pointed, never fetched.
    """

    def __init__(self) -> None:
        # Traced: every attempt counts in auditor_api_calls_total{source="okta"}, the 429s
        # the SDK retries itself included (OktaReader sees only the final answer).
        self._session = aiohttp.ClientSession(trace_configs=[aiohttp_trace_config("okta")])

    @classmethod
    def attached_to(cls, client: Client) -> GuardedSession:
        """A new session that ``client``'s request executor sends everything through."""
        session = cls()
        client.get_request_executor().set_session(session)
        return session

    def request(self, **params: Any) -> _GuardedContext:  # noqa: ANN401 - the SDK's params
        """What the SDK's ``HTTPClient.send_request`` calls."""
        params["allow_redirects"] = False
        return _GuardedContext(self._session.request(**params))

    async def close(self) -> None:
        """Close the real session."""
        await self._session.close()


def _check_private_key(private_key: str, key_file: Path) -> None:
    """Parse the key as the SDK will, now: a bad key is one line, not a traceback per call.

    The SDK parses it lazily, inside its first request, and lets the parser's exception
    escape. The message names the file and the exception's type, never the key's content.
    """
    from okta.jwt import JWT  # noqa: PLC0415 - the SDK's own parser, so both agree

    try:
        JWT.get_PEM_JWK(private_key)
    except Exception as exc:  # noqa: BLE001 - jwcrypto, cryptography and ast all raise their own
        raise ValueError(
            f"key_file {str(key_file)!r} is not a usable private key ({type(exc).__name__}): "
            "give a PEM (-----BEGIN PRIVATE KEY-----) or a private JWK with its kid"
        ) from None


def build_client(config: OktaConfig) -> Client:
    """An okta SDK client for one org, immune to okta.yaml and OKTA_CLIENT_* settings."""
    client_config: dict[str, Any] = {
        "orgUrl": config.org_url,
        "requestTimeout": config.request_timeout,
        "rateLimit": {"maxRetries": config.max_retries},
        "cache": {"enabled": False},
        "cacheManager": NoOpCache(),
        "logging": {"enabled": False},
        # Blank values are pruned by the SDK, so these override any proxy or
        # user agent an okta.yaml or OKTA_CLIENT_* variable might have set.
        "proxy": {"host": "", "port": "", "username": "", "password": ""},
        "userAgent": "rapticore-sso-auditor",
        "dpopEnabled": False,
    }
    if config.private_key is not None:
        key = config.private_key
        private_key = key.read_key().get_secret_value()
        _check_private_key(private_key, key.key_file)
        client_config |= {
            "authorizationMode": "PrivateKey",
            "clientId": key.client_id,
            "scopes": list(key.scopes),
            "privateKey": private_key,
            "oauthTokenRenewalOffset": 5,
        }
        if key.kid:
            client_config["kid"] = key.kid
    else:
        assert config.token is not None  # noqa: S101 - the config model guarantees one credential
        client_config |= {
            "authorizationMode": "SSWS",
            "token": config.token.get_secret_value(),
        }
    loopback_http = config.org_url.startswith("http://")
    if loopback_http:
        # The SDK refuses http:// unless its ``testing`` section says otherwise, and that
        # section can only come from okta.yaml or the environment, which we keep out.
        # The config has already limited http to an allowed loopback emulator, so build
        # the client on the https spelling and point its (shared) config dict back.
        client_config["orgUrl"] = "https://" + config.org_url.removeprefix("http://")
    client = Client(client_config)
    if loopback_http:
        client.get_config()["client"]["orgUrl"] = config.org_url
    _silence_sdk_logger()
    return client


def _silence_sdk_logger() -> None:
    """The SDK adds a stream handler per client and logs request headers at debug."""
    logger = logging.getLogger(_SDK_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.disabled = True
    logger.propagate = False


class OktaReader:
    """GETs raw JSON from one org through the SDK's request executor."""

    def __init__(self, client: Client, org_url: str, pacer: OktaPacer | None = None) -> None:
        self._pacer = pacer  # paces each request per org from Okta's X-Rate-Limit-* answers
        self._executor = client.get_request_executor()
        self._origin = origin(org_url)
        self._org_url = org_url

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:  # noqa: ANN401 - raw JSON
        """One object or list; raises :class:`OktaCallError` with a readable reason."""
        body, _ = await self._get(self._url(path, params))
        return body

    async def get_all(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        max_items: int | None = None,
    ) -> tuple[list[Any], bool]:
        """Every item of a paginated list, following ``Link: rel="next"``.

        Returns the items and whether ``max_items`` cut the list short.
        """
        url: str | None = self._url(path, params)
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            assert url is not None  # noqa: S101 - loop invariant
            body, links = await self._get(url)
            if not isinstance(body, list):
                raise OktaCallError(
                    f"GET {path}: expected a JSON list, got {type(body).__name__}"
                )
            items.extend(body)
            if max_items is not None and len(items) >= max_items:
                return items[:max_items], True
            url = links.get("next")
            if url is None:
                return items, False
            if self._origin is None or origin(url) != self._origin:
                # Never let a response steer the SDK (and its credentials) elsewhere.
                raise OktaCallError(f"GET {path}: pagination link leaves the org ({url!r})")
        raise OktaCallError(f"GET {path}: more than {MAX_PAGES} pages; stopped")

    def _url(self, path: str, params: Mapping[str, str] | None) -> str:
        url = self._org_url + path
        if params:
            url += "?" + urlencode(params)
        return url

    async def _execute(self, request: Any, path: str) -> Any:  # noqa: ANN401 - the SDK's request and (response, body, error)
        """Send through the SDK, within the org's rate limit when paced."""
        if self._pacer is None:
            return await self._executor.execute(request)
        async with self._pacer.call(self._org_url, path) as outcome:
            response, body, error = await self._executor.execute(request)
            if response is not None:
                outcome.status = response.status
                outcome.headers = response.headers
            return response, body, error

    async def _get(self, url: str) -> tuple[Any, dict[str, str]]:
        path = urlsplit(url).path
        try:
            request, error = await self._executor.create_request("GET", url)
            if error is not None:
                raise _call_error(path, error)
            response, body, error = await self._execute(request, path)
        except OktaCallError:
            raise
        except json.JSONDecodeError as exc:
            raise OktaCallError(
                f"GET {path}: Okta sent a body that is not valid JSON ({exc.msg})"
            ) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise OktaCallError(f"GET {path}: {_describe_transport(exc)}") from None
        if error is not None:
            raise _call_error(path, error)
        if response is None or body is None:
            raise OktaCallError(f"GET {path}: no response from Okta")
        content_type = getattr(response, "content_type", "")
        if content_type != "application/json" and not content_type.endswith("+json"):
            # A captive portal, a proxy's error page or a misrouted host: not Okta's API.
            raise OktaCallError(
                f"GET {path}: answered with content type {_short(content_type)!r}, not JSON"
            )
        try:
            parsed = json.loads(body) if isinstance(body, str) else body
        except json.JSONDecodeError as exc:
            raise OktaCallError(
                f"GET {path}: Okta sent a body that is not valid JSON ({exc.msg})"
            ) from None
        return parsed, _links(response.headers.getall("Link", []))


def _call_error(path: str, error: object) -> OktaCallError:
    """Translate what the SDK returns as an error into a reason a person can act on."""
    status = getattr(error, "status", None)
    code = getattr(error, "error_code", None)
    summary = getattr(error, "error_summary", None)
    if isinstance(error, RefusedResponseError):
        return OktaCallError(f"GET {path}: {_short(error.reason)}")
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return OktaCallError(f"GET {path}: {_describe_transport(error)}")
    if status is None:
        text = str(error) or type(error).__name__
        if "Timeout" in text:
            text = "timed out (request_timeout reached, retries included)"
        elif "X-Rate-Limit-Reset" in text or "429" in text:
            text = "rate limited (429) and the answer carried no rate-limit headers to wait on"
        return OktaCallError(f"GET {path}: {text}")
    detail = f"{code} {summary}".strip() if code else _short(str(error))
    hint = {
        401: "the API token or service app credential was rejected: issue a new one",
        403: "the credential lacks a permission: grant the admin scopes/role in the README",
        429: "rate limited by Okta even after retrying: something else is using the org's "
        "rate limit; raise pacing.okta_reserve in the config or retry later",
    }.get(status)
    if code == "invalid_scope":
        hint = "grant these scopes to the service app on its Okta API Scopes tab"
    elif code == "invalid_client":
        hint = "check the service app's client_id, key_file and kid"
    message = f"GET {path}: HTTP {status} {detail}"
    if hint:
        message += f" ({hint})"
    cls = OktaNotFoundError if status == 404 else OktaCallError
    return cls(message, status=status)


def _describe_transport(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out (request_timeout reached)"
    name = type(exc).__name__
    return _short(f"connection failed: {name}: {exc}" if str(exc) else f"connection failed: {name}")


def _short(text: str) -> str:
    """An error detail on one line, cut with the one truncation helper."""
    return truncate(" ".join(text.split()), MAX_ERROR_DETAIL)


def _links(values: list[str]) -> dict[str, str]:
    """``Link`` headers (Okta sends one per relation) as ``{rel: url}``."""
    links: dict[str, str] = {}
    for value in values:
        for url, rel in _LINK.findall(value):
            links.setdefault(rel, url)
    return links

