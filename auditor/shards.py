"""Which tenants one shard of a fleet audit owns (``--shard I/N``, CONTRACT section 7).

Pure functions, no I/O. A tenant's shard depends only on its *quota group*, the AWS
account (from ``cognito.role_arn``; no role: the ambient credentials' account) and the
region of its user pool, because Cognito's quotas are per account and region: a shard
that owns whole groups owns their quotas, and no two shards compete for one.

The group goes to a shard by rendezvous hashing (highest SHA-256 of ``shard:group``),
so the assignment:

* is the same on every machine and every run (no Python ``hash()``, no config order);
* never moves a group when tenants are added, removed or reordered;
* moves only about 1/N of the groups when the shard count changes from N-1 to N.

Groups are not split to balance shards: one account and region is one quota, and two
shards splitting it would only throttle each other.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from auditor.config import TenantConfig

_SPEC: Final = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
# Enough for any real fleet; a larger count is a typo (1/1000 for 1/10).
MAX_SHARDS: Final = 1000


# A tenant without role_arn is audited with the ambient credentials' account, whose id
# the config does not name: all such tenants share this key (CONTRACT section 7).
AMBIENT_ACCOUNT: Final = "ambient"


def account_of(role_arn: str | None) -> str:
    """The 12-digit AWS account id in ``role_arn``; :data:`AMBIENT_ACCOUNT` without one."""
    if not role_arn:
        return AMBIENT_ACCOUNT
    # arn:partition:iam::ACCOUNT:role/name (the config's pattern guarantees the shape)
    parts = role_arn.split(":", 5)
    return parts[4] if len(parts) > 4 and parts[4] else AMBIENT_ACCOUNT


class ShardSpecError(ValueError):
    """``--shard`` / ``AUDITOR_SHARD`` is not ``I/N`` with 0 <= I < N; one line to print."""


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` (from 0) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True, order=True)
class QuotaGroup:
    """Tenants sharing one Cognito quota: one AWS account and region."""

    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


def parse_shard(text: str) -> Shard:
    """``"I/N"`` as a :class:`Shard`; anything else raises :class:`ShardSpecError`."""
    match = _SPEC.match(text)
    if match is None:
        raise ShardSpecError(
            f"--shard {text!r} is not I/N: give the shard index (from 0) and the shard "
            "count, e.g. --shard 0/4"
        )
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ShardSpecError(
            f"--shard {text!r}: the shard count must be 1 to {MAX_SHARDS}, not {count}"
        )
    if index >= count:
        raise ShardSpecError(
            f"--shard {text!r}: the index counts from 0, so it must be below {count} "
            f"(0 to {count - 1})"
        )
    return Shard(index, count)


def quota_group(tenant: TenantConfig) -> QuotaGroup:
    """The account and region whose Cognito quota ``tenant``'s audit spends."""
    return QuotaGroup(account_of(tenant.cognito.role_arn), tenant.cognito.region)


def shard_index_of_group(group: QuotaGroup, count: int) -> int:
    """The shard (0 to ``count - 1``) that owns ``group``; rendezvous hashing."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, not {count}")
    key = str(group).encode()

    def score(index: int) -> bytes:
        return hashlib.sha256(b"%d:" % index + key).digest()

    return max(range(count), key=score)


def shard_of(tenants: Iterable[TenantConfig], index: int, count: int) -> list[TenantConfig]:
    """The tenants of shard ``index`` of ``count``, in the order given."""
    if not 0 <= index < count:
        raise ValueError(f"shard index {index} is not within 0..{count - 1}")
    owners: dict[QuotaGroup, int] = {}
    mine: list[TenantConfig] = []
    for tenant in tenants:
        group = quota_group(tenant)
        if group not in owners:
            owners[group] = shard_index_of_group(group, count)
        if owners[group] == index:
            mine.append(tenant)
    return mine


def layout(tenants: Sequence[TenantConfig], count: int) -> dict[int, list[QuotaGroup]]:
    """Every shard's quota groups (sorted): how a fleet would be spread, for docs and checks."""
    groups = sorted({quota_group(t) for t in tenants})
    spread: dict[int, list[QuotaGroup]] = {i: [] for i in range(count)}
    for group in groups:
        spread[shard_index_of_group(group, count)].append(group)
    return spread
