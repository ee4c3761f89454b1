"""The Cognito quota proxy in front of moto, seen through real boto3, and the pacer on it."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import boto3.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from auditor.emulator.cognito import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, MotoCognito
from auditor.emulator.quota_proxy import CognitoQuotaProxy, quota_bound
from auditor.pacing import (
    AimdSettings,
    CategoryQuotas,
    CognitoPacer,
    PacingConfig,
    PacingMisuseError,
    attach_to_botocore,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"


@pytest.fixture(scope="module")
def pools(moto_cognito: MotoCognito) -> list[str]:
    """Three user pools with a domain each, made directly on moto (not through the proxy)."""
    client = moto_cognito.client(REGION)
    made = []
    for i in range(3):
        pool = client.create_user_pool(PoolName=f"quota-proxy-{i}")["UserPool"]["Id"]
        client.create_user_pool_domain(UserPoolId=pool, Domain=f"auth.qp{i}.example.test")
        made.append(pool)
    return made


def proxied(proxy: CognitoQuotaProxy, *, attempts: int = 1):
    """A cognito-idp client through ``proxy``; ``attempts`` as botocore's standard mode."""
    session = boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    return session.client(
        "cognito-idp",
        endpoint_url=proxy.endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


@pytest.fixture
def slow_proxy(moto_cognito: MotoCognito) -> Iterator[CognitoQuotaProxy]:
    """UserPoolRead at 0.5/s (one call, then one every 2 s), no per-pool limit, no latency."""
    with CognitoQuotaProxy(
        moto_cognito.endpoint_url,
        rates={"UserPoolRead": 0.5},
        per_pool_operation=None,
        latency=0,
    ) as proxy:
        yield proxy


def test_calls_above_the_rate_get_cognitos_throttling_error(
    slow_proxy: CognitoQuotaProxy, pools: list[str]
) -> None:
    """Past the rate, Cognito's HTTP 400 TooManyRequestsException "Rate exceeded" comes back."""
    client = proxied(slow_proxy)
    first = client.describe_user_pool(UserPoolId=pools[0])
    assert first["UserPool"]["Id"] == pools[0]
    with pytest.raises(ClientError) as caught:
        client.describe_user_pool(UserPoolId=pools[1])
    response = caught.value.response
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["Error"]["Message"] == "Rate exceeded"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Other categories have their own quota: a client read still goes through.
    assert client.list_user_pool_clients(UserPoolId=pools[1], MaxResults=10)
    stats = slow_proxy.reset_stats()
    assert stats.accepted == {"DescribeUserPool": 1, "ListUserPoolClients": 1}
    assert stats.throttled == {"DescribeUserPool": 1}


@pytest.mark.usefixtures("pools")
def test_boto3_standard_retries_see_too_many_requests(slow_proxy: CognitoQuotaProxy) -> None:
    """boto3's standard mode retries the throttle, and its last error is TooManyRequests."""
    client = proxied(slow_proxy, attempts=2)
    client.describe_user_pool_domain(Domain="auth.qp0.example.test")
    with pytest.raises(ClientError) as caught:
        # Two attempts within the 2 s the bucket needs (backoff is under 1 s here).
        client.describe_user_pool_domain(Domain="auth.qp1.example.test")
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert slow_proxy.reset_stats().throttled == {"DescribeUserPoolDomain": 2}


def test_one_pool_and_operation_has_its_own_limit(
    moto_cognito: MotoCognito, pools: list[str]
) -> None:
    """At 0.5/s per pool and operation, a second call to one pool throttles, another pool's not."""
    with CognitoQuotaProxy(moto_cognito.endpoint_url, per_pool_operation=0.5, latency=0) as proxy:
        client = proxied(proxy)
        client.describe_user_pool(UserPoolId=pools[0])
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            client.describe_user_pool(UserPoolId=pools[0])
        client.describe_user_pool(UserPoolId=pools[1])
        client.get_user_pool_mfa_config(UserPoolId=pools[0])
        stats = proxy.reset_stats()
    assert stats.accepted == {"DescribeUserPool": 2}
    assert stats.throttled == {"DescribeUserPool": 1}
    assert stats.other == 1  # an operation outside the audited ones: passed through


def test_every_call_waits_the_latency(moto_cognito: MotoCognito, pools: list[str]) -> None:
    """Each call takes at least the injected latency, throttled or not."""
    with CognitoQuotaProxy(moto_cognito.endpoint_url, latency=0.2) as proxy:
        client = proxied(proxy)
        started = time.perf_counter()
        for _ in range(3):
            client.list_user_pool_clients(UserPoolId=pools[2], MaxResults=10)
        assert time.perf_counter() - started >= 0.6


def test_quota_bound_is_the_slowest_category() -> None:
    """2,000 client reads at 15/s outweigh 1,000 resource reads at 20/s: 133 s."""
    bound, binding = quota_bound(
        {"UserPoolClientRead": 2000, "UserPoolResourceRead": 1000, "UserPoolRead": 1000},
        {"UserPoolClientRead": 15, "UserPoolResourceRead": 20, "UserPoolRead": 15},
    )
    assert bound == pytest.approx(2000 / 15)
    assert binding == "UserPoolClientRead"


def test_pacer_attached_to_boto3_finds_a_lower_quota_and_loses_no_call(
    moto_cognito: MotoCognito, pools: list[str]
) -> None:
    """Configured at 10/s against a 4/s quota, paced boto3 calls all succeed, near 4/s."""
    calls = 24
    config = PacingConfig(
        quotas=CategoryQuotas(UserPoolRead=10), per_pool_operation=100,
        aimd=AimdSettings(recovery_seconds=20),
    )
    with CognitoQuotaProxy(
        moto_cognito.endpoint_url, rates={"UserPoolRead": 4}, per_pool_operation=None,
        latency=0.02,
    ) as proxy:
        client = proxied(proxy, attempts=10)

        async def audit() -> tuple[float, CognitoPacer]:
            pacer = CognitoPacer(config)
            attach_to_botocore(client, pacer, asyncio.get_running_loop(), account="ambient")
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    asyncio.to_thread(client.describe_user_pool, UserPoolId=pools[i % 3])
                    for i in range(calls)
                )
            )
            return time.perf_counter() - started, pacer

        elapsed, pacer = asyncio.run(audit())
        stats = proxy.reset_stats()
    assert stats.accepted["DescribeUserPool"] == calls
    assert pacer.calls["UserPoolRead"] == calls
    assert pacer.throttled_calls == stats.throttled_total
    limiter = next(iter(pacer.limiters().values()))
    assert limiter.decreases >= 1
    assert limiter.rate < 10
    # 4 calls of burst, then 4/s: the floor of what the quota allows.
    assert elapsed >= (calls - 4) / 4 * 0.9


def test_a_paced_client_called_on_the_loop_thread_fails_instead_of_hanging(
    moto_cognito: MotoCognito, pools: list[str]
) -> None:
    """Calling the attached client on the event loop's own thread raises at once."""
    with CognitoQuotaProxy(moto_cognito.endpoint_url, latency=0) as proxy:
        client = proxied(proxy)

        async def misuse() -> None:
            attach_to_botocore(
                client, CognitoPacer(), asyncio.get_running_loop(), account="ambient"
            )
            client.describe_user_pool(UserPoolId=pools[0])

        with pytest.raises(PacingMisuseError, match=r"asyncio\.to_thread"):
            asyncio.run(asyncio.wait_for(misuse(), timeout=30))
        assert proxy.reset_stats().accepted == {}
