"""The fleet collector, paced, against Cognito quotas lower than it was told: no tenant lost."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import TYPE_CHECKING

from builders import HASHER

from auditor.audit import paced, run_audit
from auditor.collect.tenant import collect_fleet
from auditor.emulator.quota_proxy import CognitoQuotaProxy
from auditor.pacing import AimdSettings, CategoryQuotas, PacingConfig
from auditor.results import TenantStatus
from auditor.rules import load_rule_pack

if TYPE_CHECKING:
    import pytest

    from auditor.demo import Fleet

_ids = itertools.count()


def test_a_fleet_paced_above_the_real_quota_slows_down_and_loses_no_tenant(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Told 30/s against a 6/s quota, every tenant is collected whole: throttles only slow it."""
    tenants = [fleet.add(f"paced{next(_ids)}").config() for _ in range(10)]
    pacing = PacingConfig(
        quotas=CategoryQuotas(UserPoolResourceRead=30, UserPoolClientRead=30, UserPoolRead=30),
        per_pool_operation=100,
        aimd=AimdSettings(recovery_seconds=30),
    )
    rates = {"UserPoolResourceRead": 6.0, "UserPoolClientRead": 6.0, "UserPoolRead": 6.0}
    with CognitoQuotaProxy(
        fleet.cognito.endpoint_url, rates=rates, per_pool_operation=None, latency=0.01,
        burst_seconds=0.5,
    ) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        started = time.perf_counter()
        snapshots = asyncio.run(collect_fleet(tenants, fleet.base_domain, HASHER, pacing=pacing))
        elapsed = time.perf_counter() - started
        stats = proxy.reset_stats()

    assert [s.tenant_id for s in snapshots] == [t.id for t in tenants]
    assert [s.tenant_id for s in snapshots if s.has_errors] == []
    assert stats.throttled_total > 0  # the quota really was lower than the pacing thought
    # 10 tenants x 2 client reads at 6/s: the pacing cannot beat the quota.
    assert stats.accepted_by_category()["UserPoolClientRead"] == 20
    assert elapsed >= (20 - 6) / 6 * 0.8


def test_the_configs_concurrency_caps_tenants_in_flight_on_top_of_pacing() -> None:
    """`concurrency: 4` caps the pacing's memory-sized admission at 4; unset it does not."""
    assert paced(PacingConfig(), 4).tenants_in_flight() == 4
    assert paced(PacingConfig(max_tenants_in_flight=2), 4).tenants_in_flight() == 2
    assert paced(PacingConfig(), None).tenants_in_flight() == PacingConfig().tenants_in_flight()


def test_run_audit_paces_by_default_and_verdicts_are_unchanged(fleet: Fleet) -> None:
    """run_audit without pacing uses AWS's documented quotas and still audits every tenant."""
    tenants = [fleet.add(f"default{next(_ids)}").config() for _ in range(3)]
    run = asyncio.run(run_audit(tenants, fleet.base_domain, load_rule_pack(), HASHER))
    assert [t.status for t in run.report.tenants] == [TenantStatus.PASS] * 3


def test_concurrency_caps_only_when_the_config_file_sets_it() -> None:
    """`concurrency:` written in the file is a cap; its default (8, pre-pacing) is not."""
    from auditor.application import concurrency_cap  # noqa: PLC0415
    from auditor.config import AuditorConfig  # noqa: PLC0415

    tenant = {
        "id": "acme",
        "okta": {"org_url": "https://acme.okta.com", "token": "t"},
        "cognito": {"region": "us-east-1", "user_pool_id": "us-east-1_AbCdEf",
                    "provider_name": "Okta"},
    }
    unset = AuditorConfig.model_validate({"version": 1, "tenants": [tenant]})
    capped = AuditorConfig.model_validate({"version": 1, "tenants": [tenant], "concurrency": 12})
    assert concurrency_cap(unset) is None
    assert concurrency_cap(capped) == 12
    assert unset.pacing.quotas.UserPoolClientRead == 15  # the documented quota by default


def test_tenants_of_one_role_and_region_share_one_client(fleet: Fleet) -> None:
    """Four tenants, two with a role and two without, in one region: two clients are made."""
    from auditor.collect.cognito import SharedClients  # noqa: PLC0415
    from auditor.collect.tenant import collect_tenant  # noqa: PLC0415

    role = "arn:aws:iam::123456789012:role/AuditorReadOnly"
    configs = [fleet.add(f"shared{next(_ids)}").config() for _ in range(4)]
    configs[2:] = [
        c.model_copy(update={"cognito": c.cognito.model_copy(update={"role_arn": role})})
        for c in configs[2:]
    ]
    clients = SharedClients()

    async def collect() -> list[bool]:
        snapshots = [
            await collect_tenant(c, fleet.base_domain, HASHER, clients=clients) for c in configs
        ]
        return [s.has_errors for s in snapshots]

    assert asyncio.run(collect()) == [False] * 4
    assert clients.made == 2
