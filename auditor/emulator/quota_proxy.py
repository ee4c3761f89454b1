"""A loopback reverse proxy in front of moto that behaves like Cognito under load.

moto answers every call at once and never throttles; real Cognito takes tens of
milliseconds a call and enforces per-account quotas. This proxy adds both, at the HTTP
layer, so the real collector (boto3, its retries, the pacer) meets them unchanged:

* every call waits ``latency`` seconds before it is forwarded;
* a cognito-idp call (``X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>``)
  spends a token from its (account, region, quota category) bucket and from its
  (user pool, operation) bucket; with either empty it is answered as Cognito does:
  HTTP 400, ``{"__type": "TooManyRequestsException", "message": "Rate exceeded"}``,
  and never reaches moto.

Buckets hold ``burst_seconds`` of their rate and refill continuously (a token bucket).
The region comes from the SigV4 credential scope; the account from ``account_of_key``
applied to the access key id (default: one account for every key). Counters of accepted
and throttled calls per operation and category are what the benchmark's quota bound is
computed from. Used by benchmarks and tests only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from aiohttp import web

from auditor.config import is_loopback_host
from auditor.localserver import LoopThread, StartStop
from auditor.pacing import (
    DEFAULT_PER_POOL_OPERATION,
    DEFAULT_QUOTAS,
    OPERATION_CATEGORY,
    QUOTA_CATEGORIES,
    QuotaCategory,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping

COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
THROTTLED_BODY = {"__type": "TooManyRequestsException", "message": "Rate exceeded"}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/")
# Headers that describe one hop's connection or body framing, not the message.
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailers", "transfer-encoding", "upgrade", "host", "content-length",
        "content-encoding",
    }
)
_T = TypeVar("_T")


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    updated: float


@dataclass
class QuotaStats:
    """What went through the proxy: accepted and throttled calls."""

    accepted: Counter[str] = field(default_factory=Counter)
    """Per cognito-idp operation, calls forwarded to moto."""
    throttled: Counter[str] = field(default_factory=Counter)
    """Per cognito-idp operation, calls answered TooManyRequestsException."""
    other: int = 0
    """Calls that are not cognito-idp reads (STS, writes), forwarded without a quota."""
    first_at: dict[QuotaCategory, float] = field(default_factory=dict)
    last_at: dict[QuotaCategory, float] = field(default_factory=dict)
    """When (``time.monotonic``) each category's first and last accepted call arrived."""

    def achieved_rate(self, category: QuotaCategory) -> float | None:
        """Accepted calls per second between the category's first and last call."""
        span = self.last_at.get(category, 0.0) - self.first_at.get(category, 0.0)
        count = self.accepted_by_category()[category]
        return (count - 1) / span if span > 0 and count > 1 else None

    def accepted_by_category(self) -> Counter[QuotaCategory]:
        """Accepted calls per quota category."""
        counts: Counter[QuotaCategory] = Counter()
        for operation, count in self.accepted.items():
            if operation in OPERATION_CATEGORY:
                counts[OPERATION_CATEGORY[operation]] += count
        return counts

    @property
    def throttled_total(self) -> int:
        """Every throttled answer."""
        return sum(self.throttled.values())


class CognitoQuotaProxy(StartStop):
    """The proxy on ``127.0.0.1`` and a free port, in its own thread; a context manager."""

    def __init__(  # noqa: PLR0913 - the knobs of a test double, all keyword-only
        self,
        upstream: str,
        *,
        rates: Mapping[QuotaCategory, float] | None = None,
        per_pool_operation: float | None = DEFAULT_PER_POOL_OPERATION,
        latency: float = 0.05,
        burst_seconds: float = 1.0,
        account_of_key: Callable[[str], str] = lambda _key: "123456789012",
    ) -> None:
        """``rates`` default to Cognito's documented quotas; None per pool: no such limit."""
        host = upstream.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        if not is_loopback_host(host):
            raise ValueError(f"the quota proxy only forwards to loopback, not {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self.rates: dict[QuotaCategory, float] = {**DEFAULT_QUOTAS, **(rates or {})}
        self.per_pool_operation = per_pool_operation
        self.latency = latency
        self.burst_seconds = burst_seconds
        self.account_of_key = account_of_key
        self.stats = QuotaStats()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._loop: LoopThread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._endpoint_url: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Start serving; returns the endpoint URL ``http://127.0.0.1:PORT``."""
        if self._endpoint_url is not None:
            return self._endpoint_url
        self._loop = LoopThread("quota-proxy")
        port = self._call(self._start())
        self._endpoint_url = f"http://127.0.0.1:{port}"
        return self._endpoint_url

    def stop(self) -> None:
        """Close the port and stop the thread (idempotent)."""
        if self._loop is None:
            return
        self._call(self._stop())
        self._loop.close()
        self._loop = None
        self._endpoint_url = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``; the proxy must be started."""
        if self._endpoint_url is None:
            raise RuntimeError("the quota proxy is not started: call start() or use `with`")
        return self._endpoint_url

    def reset_stats(self) -> QuotaStats:
        """The counts so far; counting starts again from zero (buckets stay as they are)."""
        return self._call(self._reset_stats())

    # ---------------------------------------------------------------- internals

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            raise RuntimeError("the quota proxy is not running")
        return self._loop.call(coro)

    async def _reset_stats(self) -> QuotaStats:
        stats, self.stats = self.stats, QuotaStats()
        return stats

    async def _start(self) -> int:
        # moto's werkzeug server handles each connection on a thread: a bounded pool
        # keeps the proxy from opening thousands of them under a burst.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64),
            timeout=aiohttp.ClientTimeout(total=60),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        port: int = sockets[0].getsockname()[1]
        return port

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        self._runner = self._session = None

    def _admit(self, request: web.Request, operation: str, body: bytes) -> bool:
        """Spend the call's tokens; False when Cognito would throttle it."""
        category = OPERATION_CATEGORY[operation]
        match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
        key_id, region = (match.group(1), match.group(2)) if match else ("", "")
        account = self.account_of_key(key_id)
        now = time.monotonic()
        wanted = [self._bucket(("category", account, region, category), self.rates[category], now)]
        if self.per_pool_operation is not None:
            pool = _pool_of(body)
            key = ("pool", account, region, pool, operation)
            wanted.append(self._bucket(key, self.per_pool_operation, now))
        # Both must have a token; a throttled call spends none (it did no work).
        for bucket in wanted:
            bucket.tokens = min(
                bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.rate
            )
            bucket.updated = now
        if any(bucket.tokens < 1 for bucket in wanted):
            return False
        for bucket in wanted:
            bucket.tokens -= 1
        return True

    def _bucket(self, key: tuple[str, ...], rate: float, now: float) -> _Bucket:
        if key not in self._buckets:
            capacity = max(1.0, rate * self.burst_seconds)
            self._buckets[key] = _Bucket(rate, capacity, capacity, now)
        return self._buckets[key]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        target = request.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(COGNITO_TARGET_PREFIX) if target else ""
        await asyncio.sleep(self.latency)
        if target.startswith(COGNITO_TARGET_PREFIX) and operation in OPERATION_CATEGORY:
            if not self._admit(request, operation, body):
                self.stats.throttled[operation] += 1
                return web.Response(
                    status=400,
                    body=json.dumps(THROTTLED_BODY).encode(),
                    headers={
                        "Content-Type": "application/x-amz-json-1.1",
                        "x-amzn-RequestId": str(uuid.uuid4()),
                        "x-amzn-ErrorType": "TooManyRequestsException",
                    },
                )
            self.stats.accepted[operation] += 1
            category = OPERATION_CATEGORY[operation]
            now = time.monotonic()
            self.stats.first_at.setdefault(category, now)
            self.stats.last_at[category] = now
        else:
            self.stats.other += 1
        return await self._forward(request, body)

    async def _forward(self, request: web.Request, body: bytes) -> web.Response:
        assert self._session is not None  # noqa: S101 - set before the site starts
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            answer = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
            }
            return web.Response(status=upstream.status, body=payload, headers=answer)


def _pool_of(body: bytes) -> str:
    try:
        raw = json.loads(body or b"{}")
    except ValueError:
        return ""
    if not isinstance(raw, dict):
        return ""
    return str(raw.get("UserPoolId") or raw.get("Domain") or "")


def quota_bound(
    accepted: Mapping[QuotaCategory, int], rates: Mapping[QuotaCategory, float]
) -> tuple[float, QuotaCategory | None]:
    """The least time the calls could take at these rates, and the category that sets it."""
    bound, binding = 0.0, None
    for category in QUOTA_CATEGORIES:
        seconds = accepted.get(category, 0) / rates[category]
        if seconds > bound:
            bound, binding = seconds, category
    return bound, binding
