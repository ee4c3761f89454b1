"""Replicas of `auditor schedule` on one store (SQLite file and PostgreSQL): one run per slot.

Each child process fires the nightly job through the scheduler's own SlotGuard, as a
replica does at 02:00; they start together and contend for the slot's lease.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.store import Store, lease
from auditor.store.lease import LeaseBusy

CHILD = Path(__file__).with_name("lease_child.py")
REPO = Path(__file__).resolve().parents[2]
SLOT = lease.slot_lease_name("nightly-audit", datetime(2026, 11, 28, 2, 0, tzinfo=UTC))


@pytest.mark.slow
def test_three_scheduler_replicas_audit_the_slot_once(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """Three processes firing the nightly job for one slot: one audit, and the slot is done."""
    log = tmp_path / "audits.log"
    start_at = time.time() + 2
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(CHILD), store_url, "scheduler", str(log), repr(start_at)],
            env=env,
        )
        for _ in range(3)
    ]
    for child in children:
        assert child.wait(timeout=90) == 0
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1
    done = lease.inspect(store, SLOT)
    assert done is not None
    assert done.done_at is not None


def test_tenant_leases_in_the_event_loop_serialize_two_audits_of_one_tenant(store: Store) -> None:
    """hold_async (for a tenant's collection task): a second holder waits for the first."""
    name = lease.tenant_lease_name("acme")
    ttl = timedelta(seconds=30)
    spans: dict[str, tuple[float, float]] = {}

    async def audit(holder: str) -> None:
        async with lease.hold_async(store, name, holder=holder, ttl=ttl, wait=20, poll=0.05):
            begin = time.monotonic()
            await asyncio.sleep(0.3)
            spans[holder] = (begin, time.monotonic())

    async def both() -> None:
        await asyncio.gather(audit("scheduled-run"), audit("on-demand-audit"))

    asyncio.run(both())
    first, second = sorted(spans.values())
    assert first[1] <= second[0]
    assert lease.inspect(store, name) is None


def test_a_tenant_held_too_long_is_busy_for_the_async_waiter(store: Store) -> None:
    """hold_async gives up with LeaseBusy (naming the holder) once its wait is over."""
    name = lease.tenant_lease_name("acme")
    assert lease.acquire(store, name, "nightly-run", ttl=timedelta(minutes=5)) is not None

    async def audit() -> None:
        async with lease.hold_async(
            store, name, holder="on-demand", ttl=timedelta(seconds=30), wait=0.2, poll=0.05
        ):
            pytest.fail("the tenant was audited while another process held it")

    with pytest.raises(LeaseBusy, match="nightly-run"):
        asyncio.run(audit())
