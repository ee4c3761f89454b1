"""Leases (issue 8): taken once, renewed by their holder, expired after a crash, done once.

Every test runs on an SQLite file and on PostgreSQL (see conftest); the process tests
start real child processes that contend for one lease in one store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.store import Store, lease
from auditor.store.lease import Lease, LeaseBusy, LeaseInfo, LeaseLost, LeaseState

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)
SLOT = lease.slot_lease_name("nightly-audit", T0)
CHILD = Path(__file__).with_name("lease_child.py")
REPO = Path(__file__).resolve().parents[2]


def test_a_held_lease_is_refused_to_others_until_it_expires(store: Store) -> None:
    """A second holder gets nothing while the lease is live, and takes it once it expired."""
    first = lease.acquire(store, SLOT, "replica-a", ttl=TTL, now=T0)
    assert first is not None
    assert first.expires_at == T0 + TTL
    assert lease.acquire(store, SLOT, "replica-b", ttl=TTL, now=T0 + TTL / 2) is None
    info = lease.try_acquire(store, SLOT, "replica-b", ttl=TTL, now=T0 + TTL / 2)
    assert isinstance(info, LeaseInfo)
    assert (info.holder, info.state(T0 + TTL / 2)) == ("replica-a", LeaseState.HELD)

    second = lease.acquire(store, SLOT, "replica-b", ttl=TTL, now=T0 + TTL)
    assert second is not None
    assert (second.holder, second.acquired_at) == ("replica-b", T0 + TTL)
    stored = lease.inspect(store, SLOT)
    assert stored is not None
    assert stored.holder == "replica-b"


def test_renewing_keeps_the_lease_and_a_taken_over_lease_is_lost(store: Store) -> None:
    """Renewal pushes the expiry so others stay out; after a takeover the old holder is told."""
    held = lease.acquire(store, SLOT, "replica-a", ttl=TTL, now=T0)
    assert held is not None
    renewed = lease.renew(store, held, ttl=TTL, now=T0 + TTL - timedelta(seconds=1))
    assert renewed.expires_at == T0 + 2 * TTL - timedelta(seconds=1)
    after_expiry = renewed.expires_at + timedelta(seconds=1)
    assert lease.acquire(store, SLOT, "replica-b", ttl=TTL, now=after_expiry) is not None
    with pytest.raises(LeaseLost, match="taken over by replica-b"):
        lease.renew(store, renewed, ttl=TTL, now=after_expiry)
    assert lease.release(store, renewed) is False
    assert lease.inspect(store, SLOT) is not None


def test_a_completed_slot_is_never_taken_again(store: Store) -> None:
    """Once the slot's run is marked done, a replica firing later skips it, even after expiry."""
    held = lease.acquire(store, SLOT, "replica-a", ttl=TTL, now=T0)
    assert held is not None
    lease.complete(store, held, now=T0 + timedelta(minutes=40))
    later = T0 + timedelta(hours=3)
    got = lease.try_acquire(store, SLOT, "replica-b", ttl=TTL, now=later)
    assert isinstance(got, LeaseInfo)
    assert got.state(later) is LeaseState.DONE
    assert got.done_at == T0 + timedelta(minutes=40)
    assert lease.acquire_waiting(store, SLOT, "replica-b", ttl=TTL, wait=0) is None
    # The next night's slot is another lease.
    tomorrow = lease.slot_lease_name("nightly-audit", T0 + timedelta(days=1))
    assert lease.acquire(store, tomorrow, "replica-b", ttl=TTL, now=later) is not None
    assert lease.prune_done(store, before=T0 + timedelta(hours=1)) == 1
    assert lease.inspect(store, SLOT) is None


def test_released_lease_is_free_at_once_and_busy_wait_is_bounded(store: Store) -> None:
    """A released tenant lease is free at once; a live one makes a waiter give up in time."""
    name = lease.tenant_lease_name("acme")
    held = lease.acquire(store, name, "audit-1", ttl=TTL)
    assert held is not None
    started = time.monotonic()
    with pytest.raises(LeaseBusy, match="still held by audit-1"):
        lease.acquire_waiting(store, name, "audit-2", ttl=TTL, wait=0.3, poll=0.05)
    assert 0.3 <= time.monotonic() - started < 5
    assert lease.release(store, held) is True
    assert lease.inspect(store, name) is None
    assert lease.acquire(store, name, "audit-2", ttl=TTL) is not None


def test_slot_names_agree_across_time_zones() -> None:
    """Replicas in different zones name the same scheduled instant the same way."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))
    name = lease.slot_lease_name("nightly-audit", berlin)
    assert name == "slot:nightly-audit:2026-11-28T02:00:00Z"
    with pytest.raises(ValueError, match="no timezone"):
        lease.slot_lease_name("nightly-audit", datetime(2026, 11, 28, 2, 0))  # noqa: DTZ001


def test_heartbeat_keeps_the_lease_beyond_its_ttl(store: Store) -> None:
    """While the block runs past the ttl, the heartbeat renews the lease and nobody takes it."""
    ttl = timedelta(seconds=0.6)
    with lease.hold(store, SLOT, holder="replica-a", ttl=ttl, done_on_success=True) as beat:
        assert beat is not None
        for _ in range(4):
            time.sleep(0.4)
            assert lease.acquire(store, SLOT, "replica-b", ttl=ttl) is None
        assert not beat.lost.is_set()
    stored = lease.inspect(store, SLOT)
    assert stored is not None
    assert stored.done_at is not None


def test_a_block_that_raises_releases_the_lease_instead_of_completing_it(store: Store) -> None:
    """A failed run leaves the slot free for another replica to run, not marked done."""
    with pytest.raises(RuntimeError), lease.hold(
        store, SLOT, holder="replica-a", ttl=TTL, done_on_success=True
    ):
        raise RuntimeError("the run failed")
    assert lease.inspect(store, SLOT) is None


def _children(url: str, mode: str, log: Path, count: int) -> list[subprocess.Popen[bytes]]:
    start_at = time.time() + 1.5  # all started and connected before they contend
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return [
        subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(CHILD), url, mode, str(log), repr(start_at)], env=env
        )
        for _ in range(count)
    ]


def _wait(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        assert child.wait(timeout=60) == 0


@pytest.mark.slow
def test_three_replicas_audit_one_slot_once(store: Store, store_url: str, tmp_path: Path) -> None:
    """Three processes firing on the same slot at once: exactly one audits it, and it ends done."""
    log = tmp_path / "audits.log"
    _wait(_children(store_url, "slot", log, 3))
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1
    stored = lease.inspect(store, SLOT)
    assert stored is not None
    assert stored.done_at is not None


@pytest.mark.slow
def test_two_processes_never_audit_one_tenant_at_once(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """A scheduled run and an on-demand audit both audit the tenant, one after the other."""
    log = tmp_path / "tenant.log"
    _wait(_children(store_url, "tenant", log, 2))
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [line.split()[0] for line in lines] == ["start", "end", "start", "end"]
    times = [float(line.split()[1]) for line in lines]
    assert times[1] <= times[2]  # the second started after the first ended
    assert lease.inspect(store, lease.tenant_lease_name("acme")) is None


@pytest.mark.slow
def test_a_killed_holders_lease_expires_and_a_waiting_replica_runs_the_slot(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """SIGKILL the holder mid-run: its lease lapses after the ttl and a waiting replica runs."""
    log = tmp_path / "slot.log"
    (crasher,) = _children(store_url, "crash", log, 1)
    deadline = time.monotonic() + 30
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text(encoding="utf-8") == "holding\n"
    os.kill(crasher.pid, signal.SIGKILL)
    crasher.wait(timeout=10)
    killed_at = time.monotonic()
    got = lease.acquire_waiting(store, SLOT, "replica-b", ttl=TTL, wait=20, poll=0.05)
    assert isinstance(got, Lease)
    # The child's ttl is 2 s: taken over once it lapsed, not minutes later.
    assert time.monotonic() - killed_at < 10


@pytest.mark.slow
def test_contenders_taking_and_releasing_in_a_loop_never_overlap_or_fail(store: Store) -> None:
    """Four threads take and release one lease for 1.5 s: never two holders, and no error.

    (A release committed between the row's insert and its lock once broke this.)
    """
    name = lease.tenant_lease_name("acme")
    holding: list[str] = []
    overlaps: list[list[str]] = []
    errors: list[BaseException] = []
    winners: set[str] = set()
    guard = threading.Lock()
    start = threading.Barrier(4)

    def contender(me: str) -> None:
        try:
            start.wait(10)
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                got = lease.acquire(store, name, me, ttl=TTL)
                if got is None:
                    time.sleep(0.002)
                    continue
                with guard:
                    holding.append(me)
                    winners.add(me)
                    if len(holding) > 1:
                        overlaps.append(list(holding))
                time.sleep(0.001)  # hold it a moment: a second holder would show up here
                with guard:
                    holding.remove(me)
                assert lease.release(store, got)
                time.sleep(0.002)  # let the others in (SQLite's lock is not fair)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=contender, args=(f"audit-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert overlaps == []
    assert len(winners) > 1  # the lease really changed hands
