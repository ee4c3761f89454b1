"""Quota-aware pacing (auditor/pacing.py) on a virtual clock: rates counted, not timed."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from email.utils import formatdate

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError
from virtual_time import run_virtual

from auditor.pacing import (
    DEFAULT_QUOTAS,
    AimdLimiter,
    AimdSettings,
    CognitoCall,
    CognitoPacer,
    OktaPacer,
    PacingConfig,
    TenantAdmission,
    ThrottledError,
    okta_bucket,
    throttling_code,
)


def _per_second(times: list[float]) -> Counter[int]:
    return Counter(math.floor(t) for t in times)


def _throttle_error(operation: str = "DescribeIdentityProvider") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


class _SimulatedQuota:
    """AWS's side on the virtual clock: a token bucket of ``rate``/s, 1 s of burst."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.last = 0.0
        self.accepted: list[float] = []
        self.throttled = 0

    async def call(self) -> str:
        now = asyncio.get_running_loop().time()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            self.throttled += 1
            raise _throttle_error()
        self.tokens -= 1
        self.accepted.append(now)
        await asyncio.sleep(0.05)  # Cognito's latency
        return "ok"


def test_limiter_holds_its_rate_after_the_burst() -> None:
    """A 15/s limiter lets through at most 15 calls in any whole second after its burst."""

    async def scenario() -> list[float]:
        limiter = AimdLimiter(15.0)
        loop = asyncio.get_running_loop()
        times = []
        for _ in range(300):
            await limiter.acquire()
            times.append(loop.time())
        return times

    times = run_virtual(scenario())
    counts = _per_second(times)
    burst = max(1.0, 15 * AimdSettings().burst_seconds)
    assert counts[0] <= 15 + burst
    assert all(count <= 15 for second, count in counts.items() if second > 0)
    # Not slower either: 300 calls at 15/s take (300 - burst) / 15 seconds.
    assert times[-1] == pytest.approx((300 - burst) / 15, abs=0.1)


def test_a_round_of_throttles_halves_the_rate_once() -> None:
    """Many throttles of calls sent before the slowdown count as one decrease, not many."""

    async def scenario() -> tuple[float, int, float]:
        limiter = AimdLimiter(20.0, AimdSettings(decrease=0.5))
        sent = [limiter.now()] * 10
        await asyncio.sleep(0.1)
        for sent_at in sent:
            limiter.throttled(sent_at)
        after_round = limiter.rate
        await asyncio.sleep(0.1)
        limiter.throttled(limiter.now())  # a call sent at the new rate, throttled again
        return after_round, limiter.decreases, limiter.rate

    after_round, decreases, after_second = run_virtual(scenario())
    assert after_round == pytest.approx(10.0)
    assert decreases == 2
    assert after_second == pytest.approx(5.0)


def test_successes_restore_the_quota_and_never_exceed_it() -> None:
    """After a halving, successes bring the rate back to the quota within recovery_seconds."""

    async def scenario() -> list[float]:
        limiter = AimdLimiter(15.0, AimdSettings(recovery_seconds=10, decrease=0.5))
        limiter.throttled(limiter.now())
        rates = [limiter.rate]
        for _ in range(200):
            await limiter.acquire()
            limiter.succeeded()
            rates.append(limiter.rate)
        return rates

    rates = run_virtual(scenario())
    assert rates[0] == pytest.approx(7.5)
    assert max(rates) == pytest.approx(15.0)
    assert rates[-1] == pytest.approx(15.0)
    assert rates == sorted(rates)


def test_the_rate_never_falls_below_the_floor() -> None:
    """Throttles in every round stop at floor * quota, so the audit always progresses."""

    async def scenario() -> float:
        limiter = AimdLimiter(10.0, AimdSettings(floor=0.1))
        for _ in range(20):
            limiter.throttled(limiter.now())
            await asyncio.sleep(0.01)
        return limiter.rate

    assert run_virtual(scenario()) == pytest.approx(1.0)


def test_pacer_loses_no_call_when_the_real_quota_is_lower_than_configured() -> None:
    """Configured at 20/s against a 10/s quota, AIMD finds the quota; every call succeeds."""
    quota = _SimulatedQuota(rate=10.0)
    pacer = CognitoPacer(PacingConfig(per_pool_operation=100))

    async def scenario() -> list[str]:
        calls = [
            CognitoCall("123456789012", "us-east-1", f"us-east-1_p{i}", "DescribeIdentityProvider")
            for i in range(300)
        ]
        return await asyncio.gather(*(pacer.run(call, quota.call) for call in calls))

    results = run_virtual(scenario())
    assert results == ["ok"] * 300
    assert pacer.calls["UserPoolResourceRead"] == 300
    assert pacer.throttled_calls == quota.throttled > 0
    # AIMD keeps throttling to a fraction of the calls and the throughput near the quota.
    assert quota.throttled < 0.25 * 300
    assert quota.accepted[-1] <= (300 - 10) / 10 * 1.25


def test_pacer_under_the_quota_is_never_throttled() -> None:
    """At the documented quota and a matching AWS, no call is throttled at all."""
    quota = _SimulatedQuota(rate=DEFAULT_QUOTAS["UserPoolClientRead"])
    pacer = CognitoPacer()

    async def scenario() -> None:
        calls = [
            CognitoCall("ambient", "eu-west-1", f"eu-west-1_p{i}", op)
            for i in range(100)
            for op in ("ListUserPoolClients", "DescribeUserPoolClient")
        ]
        await asyncio.gather(*(pacer.run(call, quota.call) for call in calls))

    run_virtual(scenario())
    assert quota.throttled == 0
    assert len(quota.accepted) == 200
    counts = _per_second(quota.accepted)
    assert all(count <= 15 for second, count in counts.items() if second > 0)


def test_one_pool_operation_is_held_to_its_own_rate() -> None:
    """Calls to one pool and operation go at 5/s even when the category allows 20/s."""
    pacer = CognitoPacer()
    times: list[float] = []

    async def send() -> None:
        times.append(asyncio.get_running_loop().time())

    async def scenario() -> None:
        call = CognitoCall("ambient", "us-east-1", "us-east-1_one", "DescribeIdentityProvider")
        await asyncio.gather(*(pacer.run(call, send) for _ in range(50)))

    run_virtual(scenario())
    assert all(count <= 5 for second, count in _per_second(times).items() if second > 0)
    assert times[-1] == pytest.approx((50 - 1) / 5, abs=0.3)


def test_accounts_and_regions_have_separate_limiters() -> None:
    """Two accounts (or regions) each get their whole quota: 30 calls/s together."""
    pacer = CognitoPacer()
    times: Counter[str] = Counter()

    async def scenario() -> float:
        loop = asyncio.get_running_loop()

        async def send(who: str) -> None:
            times[who] += 1

        calls = [
            (who, CognitoCall(account, region, f"{region}_p{i}", "DescribeUserPoolClient"))
            for i in range(150)
            for who, account, region in (
                ("a", "111111111111", "us-east-1"),
                ("b", "222222222222", "us-east-1"),
            )
        ]
        await asyncio.gather(*(pacer.run(c, lambda w=who: send(w)) for who, c in calls))
        return loop.time()

    elapsed = run_virtual(scenario())
    assert times == {"a": 150, "b": 150}
    assert elapsed == pytest.approx(150 / 15, rel=0.05)


def test_other_errors_pass_through_and_count_as_no_throttle() -> None:
    """An AccessDenied is not retried: the caller sees it once, and the rate stays."""
    pacer = CognitoPacer()
    call = CognitoCall("ambient", "us-east-1", "us-east-1_x", "DescribeUserPoolDomain")
    attempts = 0

    async def send() -> None:
        nonlocal attempts
        attempts += 1
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "DescribeUserPoolDomain")

    with pytest.raises(ClientError):
        run_virtual(pacer.run(call, send))
    assert attempts == 1
    assert pacer.throttled_calls == 0


def test_a_call_throttled_without_end_finally_fails() -> None:
    """The safety net: after max_throttled_retries the caller gets ThrottledError."""
    config = PacingConfig(aimd=AimdSettings(max_throttled_retries=3))
    pacer = CognitoPacer(config)
    call = CognitoCall("ambient", "us-east-1", "us-east-1_x", "DescribeUserPool")

    async def send() -> None:
        raise _throttle_error("DescribeUserPool")

    with pytest.raises(ThrottledError, match="4 times"):
        run_virtual(pacer.run(call, send))
    assert pacer.throttled_calls == 4


def test_throttling_is_recognised_by_code_and_by_429() -> None:
    """TooManyRequestsException, ThrottlingException and a bare 429 all read as throttling."""
    assert throttling_code(_throttle_error()) == "TooManyRequestsException"
    throttling = ClientError({"Error": {"Code": "ThrottlingException"}}, "AssumeRole")
    assert throttling_code(throttling) == "ThrottlingException"
    bare = ClientError({"Error": {}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "X")
    assert throttling_code(bare) == "HTTP 429"
    assert throttling_code(ValueError("TooManyRequestsException")) is None


# ----------------------------------------------------------------------------- config


def test_config_overrides_by_account_then_region_with_headroom() -> None:
    """A region entry beats its account's entry, which beats the defaults; headroom scales all."""
    config = PacingConfig.model_validate(
        {
            "headroom": 0.5,
            "accounts": [
                {"account": "111111111111", "quotas": {"UserPoolRead": 50}},
                {"account": "111111111111", "region": "eu-west-1", "quotas": {"UserPoolRead": 30},
                 "per_pool_operation": 8},
            ],
        }
    )
    assert config.category_rate("111111111111", "us-east-1", "UserPoolRead") == 25
    assert config.category_rate("111111111111", "eu-west-1", "UserPoolRead") == 15
    assert config.category_rate("111111111111", "eu-west-1", "UserPoolClientRead") == 7.5
    assert config.category_rate("222222222222", "eu-west-1", "UserPoolRead") == 7.5
    assert config.pool_operation_rate("111111111111", "eu-west-1") == 4
    assert config.pool_operation_rate("ambient", "eu-west-1") == 2.5


@pytest.mark.parametrize(
    "raw",
    [
        {"quotas": {"UserPoolRaed": 10}},
        {"quotas": {"UserPoolRead": 0}},
        {"accounts": [{"account": "12345", "quotas": {}}]},
        {"accounts": [{"account": "111111111111", "quotas": {"UserPoolRead": -1}}]},
        {"headroom": 1.5},
        {"concurrency": 8},
    ],
)
def test_config_rejects_typos_and_impossible_rates(raw: dict[str, object]) -> None:
    """A misspelt category, a zero rate, a bad account id or unknown key is a config error."""
    with pytest.raises(ValidationError):
        PacingConfig.model_validate(raw)


def test_admission_is_sized_from_the_memory_budget() -> None:
    """200 MB at 2 MB a tenant admits 100 tenants at once, capped by max_tenants_in_flight."""
    assert PacingConfig(memory_budget_mb=200, tenant_memory_mb=2).tenants_in_flight() == 100
    capped = PacingConfig(memory_budget_mb=200, tenant_memory_mb=2, max_tenants_in_flight=7)
    assert capped.tenants_in_flight() == 7
    assert PacingConfig(memory_budget_mb=1, tenant_memory_mb=5).tenants_in_flight() == 1


def test_admission_never_lets_more_tenants_in_than_its_slots() -> None:
    """With 500 tenants waiting, at most ``slots`` are ever inside, and all finish."""
    admission = TenantAdmission(slots=12)
    done = 0

    async def tenant(i: int) -> None:
        nonlocal done
        async with admission.admit():
            await asyncio.sleep(0.01 * (i % 7))
            done += 1

    async def scenario() -> None:
        await asyncio.gather(*(tenant(i) for i in range(500)))

    run_virtual(scenario())
    assert done == 500
    assert admission.peak_in_flight == 12
    assert admission.in_flight == 0


# ------------------------------------------------------------------------------- okta


def _okta_headers(limit: int, remaining: int, reset_in: int) -> dict[str, str]:
    now = time.time()
    return {
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(int(now) + reset_in),
        "Date": formatdate(now, usegmt=True),
    }


def test_okta_calls_wait_for_the_reset_when_only_the_reserve_is_left() -> None:
    """Remaining 3 of 20 with a 10 % reserve: one call goes now, the next waits for the reset."""

    async def scenario() -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        pacer = OktaPacer(reserve=0.1, clock=loop.time)
        org = "https://acme.okta.com"
        async with pacer.call(org, "/api/v1/apps/0oa1") as outcome:
            outcome.status, outcome.headers = 200, _okta_headers(20, 3, reset_in=30)
        await pacer.acquire(org, "/api/v1/apps/0oa1/grants")  # 3 - 0 > 2: goes
        first = loop.time()
        await pacer.acquire(org, "/api/v1/apps/0oa1/users")  # 3 - 1 = 2: the reserve
        second = loop.time()
        return first, second, pacer.bucket(org, "/api/v1/apps").waits

    first, second, waits = run_virtual(scenario())
    assert first == pytest.approx(0, abs=1e-3)
    assert 29 <= second <= 32
    assert waits == 1


def test_okta_429_waits_for_the_reset_and_other_buckets_and_orgs_go_on() -> None:
    """A 429 on /api/v1/apps stops that bucket of that org only, until its reset."""

    async def scenario() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        pacer = OktaPacer(clock=loop.time)
        org = "https://acme.okta.com"
        pacer.bucket(org, "/api/v1/apps").in_flight = 1
        pacer.observe(org, "/api/v1/apps/0oa1", _okta_headers(600, 5, reset_in=20), status=429)
        at: dict[str, float] = {}

        async def go(name: str, org_url: str, path: str) -> None:
            await pacer.acquire(org_url, path)
            at[name] = loop.time()

        await asyncio.gather(
            go("apps", org, "/api/v1/apps/0oa1/grants"),
            go("mappings", org, "/api/v1/mappings"),
            go("other-org", "https://globex.okta.com", "/api/v1/apps/0oa2"),
        )
        return at

    at = run_virtual(scenario())
    assert at["mappings"] == pytest.approx(0, abs=1e-3)
    assert at["other-org"] == pytest.approx(0, abs=1e-3)
    assert 19 <= at["apps"] <= 22


def test_okta_without_headers_is_not_paced() -> None:
    """An answer without rate-limit headers (the emulator's faults) never blocks later calls."""

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        pacer = OktaPacer(clock=loop.time)
        for _ in range(50):
            async with pacer.call("https://a.okta.com", "/api/v1/meta/types/user") as outcome:
                outcome.status = 503
        return loop.time()

    assert run_virtual(scenario()) == pytest.approx(0, abs=1e-3)


@pytest.mark.parametrize(
    ("path", "bucket"),
    [
        ("/api/v1/apps/0oa1/grants", "/api/v1/apps"),
        ("/api/v1/apps/0oa1", "/api/v1/apps"),
        ("/api/v1/meta/types/user", "/api/v1/meta"),
        ("/api/v1/mappings?sourceId=x", "/api/v1/mappings"),
        ("/.well-known/openid-configuration", "/.well-known"),
        ("/oauth2/aus1/.well-known/openid-configuration", "/oauth2"),
        ("/", "/"),
    ],
)
def test_okta_paths_fall_into_endpoint_buckets(path: str, bucket: str) -> None:
    """Okta counts limits per endpoint group; ids in the path do not make new buckets."""
    assert okta_bucket(path) == bucket
