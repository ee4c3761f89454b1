"""How ``--shard I/N`` would lay out a large fleet, and the quota bound of each shard.

    PYTHONPATH=. .venv/bin/python benchmarks/shard_layout.py --tenants 20000 --shards 4

Makes a synthetic fleet (``--accounts`` AWS accounts x ``--regions`` regions, tenants
spread over them unevenly, as real fleets are), assigns it with :mod:`auditor.shards`, and
prints per shard its quota groups, tenants, and the least time its Cognito reads can take:
each group (one account and region) has its own quota and runs in parallel with the
others, so a shard's bound is its largest group's (2 client reads per tenant at 15/s).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter

from pydantic import SecretStr

from auditor.config import CognitoConfig, OktaConfig, TenantConfig
from auditor.pacing import DEFAULT_QUOTAS
from auditor.shards import quota_group, shard_of

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
           "ap-northeast-1", "ca-central-1", "sa-east-1"]
CLIENT_READS_PER_TENANT = 2  # ListUserPoolClients + DescribeUserPoolClient (one client)


def fleet(tenants: int, accounts: int, regions: int, seed: int) -> list[TenantConfig]:
    """``tenants`` configs over accounts x regions, weighted 1/rank (a few big groups)."""
    rng = random.Random(seed)  # noqa: S311 - a synthetic fleet, not a secret
    groups = [(f"{100000000000 + a:012d}", REGIONS[r % len(REGIONS)])
              for a in range(accounts) for r in range(regions)]
    weights = [1 / (rank + 1) for rank in range(len(groups))]
    rng.shuffle(weights)
    made = []
    for i, (account, region) in enumerate(rng.choices(groups, weights, k=tenants)):
        made.append(TenantConfig(
            id=f"t{i:06d}",
            okta=OktaConfig(org_url=f"https://t{i:06d}.okta.com", token=SecretStr("x")),
            cognito=CognitoConfig(
                region=region, user_pool_id=f"{region}_P{i:06d}", provider_name="Okta",
                role_arn=f"arn:aws:iam::{account}:role/AuditorReadOnly",
            ),
        ))
    return made


def main() -> int:
    """Print the layout, one line per shard, then the groups of each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=20000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rate = DEFAULT_QUOTAS["UserPoolClientRead"]
    tenants = fleet(args.tenants, args.accounts, args.regions, args.seed)
    print(f"{args.tenants} tenants in {args.accounts} accounts x {args.regions} regions, "
          f"{args.shards} shards; bound = largest group x {CLIENT_READS_PER_TENANT} client "
          f"reads / {rate:g} per s")
    for index in range(args.shards):
        mine = shard_of(tenants, index, args.shards)
        sizes = Counter(str(quota_group(t)) for t in mine)
        bound = max(sizes.values(), default=0) * CLIENT_READS_PER_TENANT / rate
        print(f"shard {index}/{args.shards}: {len(mine):6d} tenants, {len(sizes):2d} groups, "
              f"quota bound {bound / 60:5.1f} min")
        for group, size in sorted(sizes.items(), key=lambda item: -item[1]):
            print(f"    {group:28s} {size:6d} tenants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
