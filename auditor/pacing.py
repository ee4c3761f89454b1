"""Quota-aware pacing: audit a fleet as fast as AWS and Okta allow, and no faster.

Cognito's read quotas are per AWS account and region and cannot be raised, so they are the
physical limit of a fleet audit. This module keeps every call inside them:

* :class:`AimdLimiter`, an :class:`aiolimiter.AsyncLimiter` whose rate moves: a throttled
  call halves it (multiplicative decrease, once per round of calls), each success adds a
  little back (additive increase) up to the documented quota.
* :class:`CognitoPacer`: one limiter per (account, region, quota category) and one per
  (user pool, operation), set from :data:`DEFAULT_QUOTAS` and overridable through
  :class:`PacingConfig`. :meth:`CognitoPacer.run` acquires both, calls, and retries a
  throttled call after slowing down, so throttling never costs a tenant.
  :func:`attach_to_botocore` does the same for a boto3 client used from a worker thread.
* :class:`OktaPacer`: per Okta org (and rate-limit bucket), from the
  ``X-Rate-Limit-Limit/Remaining/Reset`` headers of the org's own answers.
* :class:`TenantAdmission`: how many tenants are in flight at once, from a memory budget;
  the limiters, not a fixed concurrency, set the pace.

Only the standard library, ``aiolimiter`` and ``pydantic`` are imported here, so a command
that merely validates a config does not pay for boto3 or the okta SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from aiolimiter import AsyncLimiter
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

T = TypeVar("T")

QuotaCategory = Literal["UserPoolResourceRead", "UserPoolClientRead", "UserPoolRead"]
QUOTA_CATEGORIES: Final[tuple[QuotaCategory, ...]] = (
    "UserPoolResourceRead",
    "UserPoolClientRead",
    "UserPoolRead",
)

# Requests per second per AWS account and region ("Amazon Cognito user pools API
# operation quotas"); fixed by AWS, not raisable.
DEFAULT_QUOTAS: Final[Mapping[QuotaCategory, float]] = {
    "UserPoolResourceRead": 20.0,
    "UserPoolClientRead": 15.0,
    "UserPoolRead": 15.0,
}
# And, on top of the category, per user pool and operation.
DEFAULT_PER_POOL_OPERATION: Final = 5.0

# The Cognito operations the collector calls (or may call), and the quota each counts in.
OPERATION_CATEGORY: Final[Mapping[str, QuotaCategory]] = {
    "DescribeIdentityProvider": "UserPoolResourceRead",
    "ListUserPoolClients": "UserPoolClientRead",
    "DescribeUserPoolClient": "UserPoolClientRead",
    "DescribeUserPool": "UserPoolRead",
    "DescribeUserPoolDomain": "UserPoolRead",
}

# Error codes AWS uses for "slow down" (Cognito answers TooManyRequestsException).
THROTTLING_CODES: Final = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded"}
)


def throttling_code(exc: BaseException) -> str | None:
    """The AWS error code of ``exc`` when it says "throttled", else None.

    Duck-typed on botocore's ``ClientError.response`` so this module never imports botocore.
    """
    response = getattr(exc, "response", None)
    return _throttling_code_of(response) if isinstance(response, dict) else None


def _throttling_code_of(response: Mapping[str, Any]) -> str | None:
    """The throttling code of a parsed botocore response (``HTTP 429`` without one)."""
    error = response.get("Error")
    code = error.get("Code") if isinstance(error, dict) else None
    if isinstance(code, str) and code in THROTTLING_CODES:
        return code
    metadata = response.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    return "HTTP 429" if status == 429 else None


# ----------------------------------------------------------------------------- config


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryQuotas(_Strict):
    """Requests per second for each Cognito quota category (AWS's names as keys)."""

    UserPoolResourceRead: float = Field(default=DEFAULT_QUOTAS["UserPoolResourceRead"], gt=0)
    UserPoolClientRead: float = Field(default=DEFAULT_QUOTAS["UserPoolClientRead"], gt=0)
    UserPoolRead: float = Field(default=DEFAULT_QUOTAS["UserPoolRead"], gt=0)

    def rate(self, category: QuotaCategory) -> float:
        """The rate of one category."""
        value: float = getattr(self, category)
        return value


class AccountQuotas(_Strict):
    """Other quotas for one AWS account (and optionally one region of it)."""

    account: str = Field(pattern=r"^(\d{12}|ambient)$")
    """The 12-digit account id of the tenants' ``role_arn``, or ``ambient``."""
    region: str | None = None
    """None: every region of the account."""
    quotas: dict[QuotaCategory, float] = Field(default_factory=dict)
    per_pool_operation: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _positive(self) -> AccountQuotas:
        for category, rate in self.quotas.items():
            if rate <= 0:
                raise ValueError(f"quotas.{category} must be above 0 requests/s, not {rate}")
        return self


class AimdSettings(_Strict):
    """How a limiter reacts to throttling."""

    decrease: float = Field(default=0.7, gt=0, lt=1)
    """A throttled call multiplies the rate by this (once per round of calls)."""
    recovery_seconds: float = Field(default=10.0, gt=0)
    """Successes bring the rate back up by quota / recovery_seconds each second."""
    floor: float = Field(default=0.05, gt=0, le=1)
    """The rate never drops below this fraction of the quota."""
    burst_seconds: float = Field(default=0.5, gt=0)
    """Calls that may start at once: this many seconds' worth of the rate (at least 1)."""
    max_throttled_retries: int = Field(default=50, ge=0)
    """A call throttled this many times in a row finally fails (a safety net only)."""


class PacingConfig(_Strict):
    """The config's ``pacing:`` section; every key is optional.

    ``headroom`` leaves part of each quota to whatever else uses the account (the
    product's own Cognito calls): 0.8 means the auditor takes at most 80 % of it.
    """

    quotas: CategoryQuotas = Field(default_factory=CategoryQuotas)
    per_pool_operation: float = Field(default=DEFAULT_PER_POOL_OPERATION, gt=0)
    accounts: list[AccountQuotas] = Field(default_factory=list)
    headroom: float = Field(default=1.0, gt=0, le=1)
    aimd: AimdSettings = Field(default_factory=AimdSettings)
    okta_reserve: float = Field(default=0.1, ge=0, lt=1)
    """Fraction of each Okta rate limit left to the customer's own use of its org."""
    memory_budget_mb: float = Field(default=200.0, gt=0)
    tenant_memory_mb: float = Field(default=1.0, gt=0)
    """What one tenant in flight holds (clients, responses, snapshot), estimated."""
    max_tenants_in_flight: int | None = Field(default=None, ge=1)
    worker_threads: int = Field(default=16, ge=1, le=256)
    """Threads for the blocking boto3 calls. Tenants wait for the limiters, not for
    threads: more threads only add GIL contention (64 ran the benchmark ~15 % slower)."""

    def category_rate(self, account: str, region: str, category: QuotaCategory) -> float:
        """Requests per second the auditor may use in this (account, region, category)."""
        rate = self.quotas.rate(category)
        for override in self._overrides(account, region):
            rate = override.quotas.get(category, rate)
        return rate * self.headroom

    def pool_operation_rate(self, account: str, region: str) -> float:
        """Requests per second per user pool and operation in this account and region."""
        rate = self.per_pool_operation
        for override in self._overrides(account, region):
            rate = override.per_pool_operation or rate
        return rate * self.headroom

    def _overrides(self, account: str, region: str) -> list[AccountQuotas]:
        # Account-wide entries first, so an entry naming the region wins over them.
        matching = [a for a in self.accounts if a.account == account and a.region in {None, region}]
        return sorted(matching, key=lambda a: a.region is not None)

    def tenants_in_flight(self) -> int:
        """How many tenants :class:`TenantAdmission` lets run at once."""
        slots = max(1, math.floor(self.memory_budget_mb / self.tenant_memory_mb))
        if self.max_tenants_in_flight is not None:
            slots = min(slots, self.max_tenants_in_flight)
        return slots


# ---------------------------------------------------------------------------- limiter


class AimdLimiter(AsyncLimiter):
    """A leaky-bucket limiter whose rate follows AIMD between ``floor`` and ``ceiling``.

    Capacity (the burst) stays fixed; only the drain rate moves. Throttles of calls that
    were sent before the last decrease are ignored: they answer for the old rate, and
    counting each of them would collapse the rate after a single burst.
    """

    def __init__(self, ceiling: float, settings: AimdSettings | None = None) -> None:
        self.settings = settings or AimdSettings()
        self.ceiling = ceiling
        self.floor = ceiling * self.settings.floor
        capacity = max(1.0, ceiling * self.settings.burst_seconds)
        super().__init__(capacity, capacity / ceiling)
        self.acquired = 0
        self.throttles = 0
        self.decreases = 0
        self._last_decrease = -math.inf

    @property
    def rate(self) -> float:
        """The current rate, requests per second."""
        return self._rate_per_sec

    def now(self) -> float:
        """The limiter's clock (its event loop's), for :meth:`throttled`'s ``sent_at``."""
        return self._loop.time()

    async def acquire(self, amount: float = 1) -> None:
        """Wait for capacity (see :class:`aiolimiter.AsyncLimiter`); counted."""
        await super().acquire(amount)
        self.acquired += 1

    def throttled(self, sent_at: float) -> None:
        """A call sent at ``sent_at`` (:meth:`now`) was throttled: slow down, once a round."""
        self.throttles += 1
        if sent_at < self._last_decrease:
            return
        self._last_decrease = self.now()
        self.decreases += 1
        self.set_rate(max(self.floor, self.rate * self.settings.decrease))

    def succeeded(self) -> None:
        """A call went through: speed up by ceiling / recovery_seconds per second."""
        if self.rate < self.ceiling:
            step = self.ceiling / self.settings.recovery_seconds / self.rate
            self.set_rate(min(self.ceiling, self.rate + step))

    def set_rate(self, rate: float) -> None:
        """Drain at ``rate`` from now on (what is in the bucket drained at the old one)."""
        # aiolimiter has no public setter: drain at the old rate up to now, then change
        # the two fields its arithmetic reads, then let waiters re-plan their wake-up.
        self._leak()
        self._rate_per_sec = rate
        self.time_period = self.max_rate / rate
        self._wake_next()


# ---------------------------------------------------------------------------- cognito


@dataclass(frozen=True)
class CognitoCall:
    """Where one Cognito call counts: its account, region, user pool and operation."""

    account: str
    region: str
    user_pool_id: str
    operation: str

    @property
    def category(self) -> QuotaCategory:
        """The quota category of the operation (KeyError for an operation not mapped)."""
        return OPERATION_CATEGORY[self.operation]


class PacingMisuseError(Exception):
    """A paced client was used where waiting for a limiter would deadlock."""


class ThrottledError(Exception):
    """A call was throttled ``max_throttled_retries`` times in a row."""


@dataclass
class CognitoPacer:
    """The limiters of one event loop's audit; create one per run."""

    config: PacingConfig = field(default_factory=PacingConfig)
    _categories: dict[tuple[str, str, QuotaCategory], AimdLimiter] = field(default_factory=dict)
    _pool_operations: dict[tuple[str, str, str, str], AimdLimiter] = field(default_factory=dict)
    calls: Counter[QuotaCategory] = field(default_factory=Counter)
    throttled_calls: int = 0

    def category_limiter(self, call: CognitoCall) -> AimdLimiter:
        """The (account, region, category) limiter of ``call``."""
        key = (call.account, call.region, call.category)
        if key not in self._categories:
            rate = self.config.category_rate(*key)
            self._categories[key] = AimdLimiter(rate, self.config.aimd)
        return self._categories[key]

    def pool_operation_limiter(self, call: CognitoCall) -> AimdLimiter:
        """The (user pool, operation) limiter of ``call``."""
        key = (call.account, call.region, call.user_pool_id, call.operation)
        if key not in self._pool_operations:
            rate = self.config.pool_operation_rate(call.account, call.region)
            self._pool_operations[key] = AimdLimiter(rate, self.config.aimd)
        return self._pool_operations[key]

    async def acquire(self, call: CognitoCall) -> float:
        """Wait until ``call`` may be sent; returns the send time for :meth:`report`."""
        # The pool limiter first: waiting on it must not hold a slot of the shared one.
        await self.pool_operation_limiter(call).acquire()
        category = self.category_limiter(call)
        await category.acquire()
        return category.now()

    def report(self, call: CognitoCall, sent_at: float, *, throttled: bool) -> None:
        """Tell the limiters how ``call``, sent at ``sent_at``, went."""
        limiters = (self.category_limiter(call), self.pool_operation_limiter(call))
        if throttled:
            self.throttled_calls += 1
            for limiter in limiters:
                limiter.throttled(sent_at)
        else:
            self.calls[call.category] += 1
            for limiter in limiters:
                limiter.succeeded()

    async def run(self, call: CognitoCall, send: Callable[[], Awaitable[T]]) -> T:
        """``await send()`` within the quotas; a throttled call slows down and goes again.

        Any other exception propagates unchanged, as does the throttling error after
        ``aimd.max_throttled_retries`` retries (then as :class:`ThrottledError`).
        """
        for _ in range(self.config.aimd.max_throttled_retries + 1):
            sent_at = await self.acquire(call)
            try:
                result = await send()
            except Exception as exc:
                if throttling_code(exc) is None:
                    self.report(call, sent_at, throttled=False)
                    raise
                self.report(call, sent_at, throttled=True)
                continue
            self.report(call, sent_at, throttled=False)
            return result
        raise ThrottledError(
            f"cognito-idp:{call.operation} was throttled "
            f"{self.config.aimd.max_throttled_retries + 1} times in a row"
        )

    def limiters(self) -> dict[tuple[str, str, QuotaCategory], AimdLimiter]:
        """The category limiters made so far (for progress and the benchmark)."""
        return dict(self._categories)


def attach_to_botocore(
    client: Any,  # noqa: ANN401 - a botocore cognito-idp client; botocore is not imported here
    pacer: CognitoPacer,
    loop: asyncio.AbstractEventLoop,
    *,
    account: str,
) -> None:
    """Pace every attempt of ``client`` (retries included) through ``pacer``.

    For a synchronous boto3 client used from a worker thread while ``loop`` runs the
    audit: ``before-send`` blocks the thread until the limiters allow the attempt, and
    ``response-received`` reports throttling to them. botocore's own retries then resend
    a throttled call, now slower. Never call the client from ``loop``'s own thread.
    """
    region: str = client.meta.region_name
    pending = threading.local()

    def before_send(request: Any, **_: Any) -> None:  # noqa: ANN401 - botocore's request
        operation = _target_operation(request.headers)
        if operation not in OPERATION_CATEGORY:
            pending.sent = None
            return
        call = CognitoCall(account, region, _pool_of(request.body), operation)
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is loop:
                # Blocking here would wait for the loop this very thread must run.
                raise PacingMisuseError(
                    "a paced boto3 client was called on the audit's event loop thread; "
                    "call it through asyncio.to_thread"
                )
        future = asyncio.run_coroutine_threadsafe(pacer.acquire(call), loop)
        pending.sent = (call, future.result())

    def response_received(
        parsed_response: Mapping[str, Any] | None,
        exception: BaseException | None,
        **_: Any,  # noqa: ANN401 - botocore passes more than these
    ) -> None:
        sent = getattr(pending, "sent", None)
        if sent is None:
            return
        pending.sent = None
        call, sent_at = sent
        throttled = exception is None and _throttling_code_of(parsed_response or {}) is not None
        loop.call_soon_threadsafe(lambda: pacer.report(call, sent_at, throttled=throttled))

    client.meta.events.register("before-send.cognito-identity-provider", before_send)
    client.meta.events.register("response-received.cognito-identity-provider", response_received)


def _target_operation(headers: Mapping[str, Any]) -> str:
    target = headers.get("X-Amz-Target", b"")
    text = target.decode() if isinstance(target, bytes) else str(target)
    return text.rpartition(".")[2]


def _pool_of(body: object) -> str:
    """The ``UserPoolId`` (or, for domain calls, the ``Domain``) of a JSON request body."""
    try:
        raw = json.loads(body.decode() if isinstance(body, bytes) else str(body or "{}"))
    except ValueError:
        return ""
    if not isinstance(raw, dict):
        return ""
    return str(raw.get("UserPoolId") or raw.get("Domain") or "")


# ------------------------------------------------------------------------------- okta


@dataclass
class _OktaBucket:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float = 0.0  # on the pacer's clock
    in_flight: int = 0
    waits: int = 0


@dataclass
class OktaPacer:
    """Paces calls per Okta org (and rate-limit bucket) from Okta's own headers.

    Okta counts each org's requests per endpoint group and per minute, and says where
    the count stands on every answer (``X-Rate-Limit-Limit``, ``-Remaining``, ``-Reset``
    in epoch seconds). A call waits for the reset when the known remaining, minus the
    calls already in flight, would eat into the ``reserve`` left to the customer.
    ``clock`` is ``time.monotonic`` unless a test controls time.
    """

    reserve: float = 0.1
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], _OktaBucket] = field(default_factory=dict)

    def bucket(self, org_url: str, path: str) -> _OktaBucket:
        """The state of the bucket ``path`` counts in on ``org_url``."""
        key = (org_url.rstrip("/").lower(), okta_bucket(path))
        return self._buckets.setdefault(key, _OktaBucket())

    async def acquire(self, org_url: str, path: str) -> None:
        """Wait until a call to ``path`` fits in what Okta said is left; count it in flight."""
        bucket = self.bucket(org_url, path)
        while True:
            now = self.clock()
            if bucket.limit is not None and now >= bucket.reset_at:
                # A new window: Okta restores the full limit at the reset.
                bucket.remaining = bucket.limit
            if bucket.limit is None or bucket.remaining is None:
                break
            keep = math.ceil(bucket.limit * self.reserve)
            if bucket.remaining - bucket.in_flight > keep:
                break
            bucket.waits += 1
            await asyncio.sleep(max(bucket.reset_at - now, 0.0) + 0.05)
        bucket.in_flight += 1

    def observe(
        self, org_url: str, path: str, headers: Mapping[str, str] | None, *, status: int
    ) -> None:
        """Record the answer to a call :meth:`acquire` let through (its headers may be absent)."""
        bucket = self.bucket(org_url, path)
        bucket.in_flight = max(0, bucket.in_flight - 1)
        if not headers:
            return
        limit = _int_header(headers, "X-Rate-Limit-Limit")
        remaining = _int_header(headers, "X-Rate-Limit-Remaining")
        reset = _int_header(headers, "X-Rate-Limit-Reset")
        if limit is None or remaining is None or reset is None:
            return
        # Reset is wall-clock epoch seconds on Okta's clock: measure it from Okta's Date
        # header, so a skewed local clock does not move it.
        server_now = _http_date(headers.get("Date")) or time.time()
        bucket.limit = limit
        bucket.remaining = 0 if status == 429 else remaining
        bucket.reset_at = self.clock() + max(0.0, reset - server_now)

    @contextlib.asynccontextmanager
    async def call(self, org_url: str, path: str) -> AsyncIterator[_OktaCallOutcome]:
        """``acquire``, then ``observe`` what the body sets on the yielded outcome."""
        await self.acquire(org_url, path)
        outcome = _OktaCallOutcome()
        try:
            yield outcome
        finally:
            self.observe(org_url, path, outcome.headers, status=outcome.status)


@dataclass
class _OktaCallOutcome:
    status: int = 0
    headers: Mapping[str, str] | None = None


def okta_bucket(path: str) -> str:
    """The endpoint group a path counts in: ``/api/v1/apps/0oa1/grants`` -> ``/api/v1/apps``."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts[:2] == ["api", "v1"] and len(parts) > 2:
        return "/" + "/".join(parts[:3])
    return "/" + (parts[0] if parts else "")


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


# -------------------------------------------------------------------------- admission


@dataclass
class TenantAdmission:
    """At most ``slots`` tenants in flight: the memory ceiling; the limiters set the pace.

    A tenant waiting on a limiter costs little, so the ceiling is set from memory
    (:meth:`PacingConfig.tenants_in_flight`), not from a guess at the right concurrency:
    with enough tenants waiting, every limiter always has a call ready to send.
    """

    slots: int
    in_flight: int = 0
    peak_in_flight: int = 0
    _gate: asyncio.Semaphore | None = None

    @classmethod
    def from_config(cls, config: PacingConfig) -> TenantAdmission:
        """Sized from the config's memory budget."""
        return cls(slots=config.tenants_in_flight())

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold one slot for the body (a tenant's whole collection)."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.slots)
        async with self._gate:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1


# ------------------------------------------------------------------------ one run's set


@dataclass
class RunPacing:
    """Everything one audit run paces with; make it inside the run's event loop."""

    config: PacingConfig
    cognito: CognitoPacer
    okta: OktaPacer
    admission: TenantAdmission
    loop: asyncio.AbstractEventLoop

    @classmethod
    def create(cls, config: PacingConfig | None = None) -> RunPacing:
        """Fresh limiters for a run on the running event loop."""
        config = config or PacingConfig()
        return cls(
            config=config,
            cognito=CognitoPacer(config),
            okta=OktaPacer(reserve=config.okta_reserve, clock=asyncio.get_running_loop().time),
            admission=TenantAdmission.from_config(config),
            loop=asyncio.get_running_loop(),
        )
