"""Shard assignment (auditor/shards.py): stable, complete, and quota groups never split."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from auditor.config import CognitoConfig, OktaConfig, TenantConfig
from auditor.shards import (
    AMBIENT_ACCOUNT,
    QuotaGroup,
    Shard,
    ShardSpecError,
    account_of,
    layout,
    parse_shard,
    quota_group,
    shard_of,
)

ACCOUNTS = [None, "111111111111", "222222222222", "333333333333", "444444444444"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]


def tenant(tenant_id: str, account: str | None, region: str) -> TenantConfig:
    """A config entry whose only meaningful parts here are its account and region."""
    role = f"arn:aws:iam::{account}:role/AuditorReadOnly" if account else None
    return TenantConfig(
        id=tenant_id,
        okta=OktaConfig(org_url=f"https://{tenant_id}.okta.com", token=SecretStr("x")),
        cognito=CognitoConfig(
            region=region,
            user_pool_id=f"{region}_Pool{tenant_id.replace('-', '')}",
            provider_name="Okta",
            role_arn=role,
        ),
    )


fleets = st.lists(
    st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS)), min_size=1, max_size=60
).map(lambda groups: [tenant(f"t{i}", a, r) for i, (a, r) in enumerate(groups)])


def owners(tenants: list[TenantConfig], count: int) -> dict[str, int]:
    """Tenant id -> the shard that lists it (a tenant in two shards fails the test)."""
    found: dict[str, int] = {}
    for index in range(count):
        for t in shard_of(tenants, index, count):
            assert t.id not in found, f"{t.id} is in shards {found[t.id]} and {index}"
            found[t.id] = index
    return found


@settings(max_examples=60, deadline=None, database=None)
@given(fleet=fleets, count=st.integers(min_value=1, max_value=9))
def test_every_tenant_is_in_exactly_one_shard_and_groups_stay_together(
    fleet: list[TenantConfig], count: int
) -> None:
    """Every tenant lands in one shard only, and one account+region never spans two."""
    found = owners(fleet, count)
    assert set(found) == {t.id for t in fleet}
    by_group: dict[QuotaGroup, set[int]] = {}
    for t in fleet:
        by_group.setdefault(quota_group(t), set()).add(found[t.id])
    assert all(len(shards) == 1 for shards in by_group.values())


@settings(max_examples=60, deadline=None, database=None)
@given(
    fleet=fleets,
    count=st.integers(min_value=1, max_value=9),
    new=st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS)),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_adding_or_reordering_tenants_moves_no_other_tenant(
    fleet: list[TenantConfig], count: int, new: tuple[str | None, str], seed: int
) -> None:
    """A new tenant (and any reordering of the config) leaves every other tenant's shard."""
    before = owners(fleet, count)
    added = tenant("added", *new)
    grown = [*fleet, added]
    random.Random(seed).shuffle(grown)  # noqa: S311 - a config reordering, not a secret
    after = owners(grown, count)
    assert {k: v for k, v in after.items() if k != "added"} == before
    same_group = [t for t in fleet if quota_group(t) == quota_group(added)]
    if same_group:  # it joins its group's shard
        assert after["added"] == before[same_group[0].id]


def test_shard_of_keeps_the_config_order() -> None:
    """A shard's tenants come in the order the config lists them."""
    fleet = [tenant(f"t{i}", None, "us-east-1") for i in range(20)]
    mine = next(s for s in (shard_of(fleet, i, 3) for i in range(3)) if s)
    assert [t.id for t in mine] == [t.id for t in fleet]


def test_assignment_is_fixed_across_releases() -> None:
    """The account+region -> shard map is pinned, since changing it moves tenants on upgrade."""
    fleet = [tenant(f"t{i}", a, r) for i, (a, r) in enumerate(
        (a, r) for a in ACCOUNTS for r in REGIONS)]
    spread = {str(g): i for i, groups in layout(fleet, 4).items() for g in groups}
    # Pinned values (rendezvous hashing on sha256("index:account/region")).
    assert spread == PINNED_LAYOUT


PINNED_LAYOUT: dict[str, int] = {
    "111111111111/ap-southeast-2": 0,
    "111111111111/eu-west-1": 1,
    "111111111111/us-east-1": 0,
    "111111111111/us-west-2": 0,
    "222222222222/ap-southeast-2": 3,
    "222222222222/eu-west-1": 2,
    "222222222222/us-east-1": 1,
    "222222222222/us-west-2": 2,
    "333333333333/ap-southeast-2": 0,
    "333333333333/eu-west-1": 0,
    "333333333333/us-east-1": 2,
    "333333333333/us-west-2": 2,
    "444444444444/ap-southeast-2": 3,
    "444444444444/eu-west-1": 2,
    "444444444444/us-east-1": 0,
    "444444444444/us-west-2": 0,
    "ambient/ap-southeast-2": 3,
    "ambient/eu-west-1": 0,
    "ambient/us-east-1": 0,
    "ambient/us-west-2": 0,
}


def test_a_growing_shard_count_moves_few_groups() -> None:
    """Going from 4 to 5 shards moves only the groups the new shard takes (about a fifth)."""
    fleet = [tenant(f"t{i}-{j}", f"{100000000000 + i}", r)
             for i in range(50) for j, r in enumerate(REGIONS[:2])]
    before = {t.id: s for t, s in ((t, owners(fleet, 4)[t.id]) for t in fleet)}
    after = owners(fleet, 5)
    moved = [tid for tid in before if before[tid] != after[tid]]
    assert all(after[tid] == 4 for tid in moved)
    assert 0 < len(moved) < len(fleet) / 2


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        ("arn:aws:iam::123456789012:role/AuditorReadOnly", "123456789012"),
        ("arn:aws-cn:iam::210987654321:role/path/Auditor", "210987654321"),
        (None, AMBIENT_ACCOUNT),
    ],
)
def test_account_comes_from_the_role_arn(arn: str | None, account: str) -> None:
    """The account is role_arn's; tenants without one share the ambient account."""
    assert account_of(arn) == account


@pytest.mark.parametrize(("text", "shard"), [("0/1", Shard(0, 1)), ("3/4", Shard(3, 4)),
                                            (" 2 / 10 ", Shard(2, 10))])
def test_shard_specs_parse(text: str, shard: Shard) -> None:
    """I/N with I counted from 0 parses, surrounding spaces allowed."""
    assert parse_shard(text) == shard
    assert str(shard) == text.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("4/4", "below 4"),
        ("1/0", "count must be 1"),
        ("0/1001", "count must be 1"),
        ("-1/4", "is not I/N"),
        ("1of4", "is not I/N"),
        ("", "is not I/N"),
        ("1/4/2", "is not I/N"),
        ("a/b", "is not I/N"),
    ],
)
def test_bad_shard_specs_are_one_line_usage_errors(text: str, says: str) -> None:
    """Each bad --shard value is a ShardSpecError of one line that says how to fix it."""
    with pytest.raises(ShardSpecError, match=says) as caught:
        parse_shard(text)
    assert "\n" not in str(caught.value)
    assert "--shard" in str(caught.value)
