"""Leases in the store: one replica per scheduled slot, one process per tenant at a time.

A lease is a row in ``leases``: a name, its holder, and an expiry the holder pushes
forward while it works (:class:`Heartbeat`). Past its expiry anyone may take it over, so
a holder that crashed (SIGKILL, a lost host) blocks nobody for longer than its ``ttl``.

Two uses (issue 8):

* ``slot:<job>:<scheduled UTC time>``: every ``auditor schedule`` replica fires on the
  same crontab; the first takes the slot's lease and audits, the others find it held and
  wait (they take over if the holder dies) or find it *done* and skip. A done slot's row
  stays behind, which is what tells a replica that fires late that the slot was run.
* ``tenant:<id>``: a run holds it while it audits that tenant, so an on-demand ``audit``
  during the nightly run waits for the tenant instead of auditing it at the same time.
  Released (deleted) afterwards.

Taking a lease is one short transaction: on SQLite ``BEGIN IMMEDIATE`` (the store's write
transaction) serializes it with every other writer; on PostgreSQL a row lock
(``SELECT ... FOR UPDATE`` on the lease's row, inserted first if missing) serializes only
the contenders for that one lease, not the store's other writers.

Times come from the caller's clock (``now``), so replicas' clocks must agree to well
within ``ttl`` (NTP does that); tests pass fixed times.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from auditor.store.engine import transaction
from auditor.store.errors import StoreError
from auditor.store.schema import LEASE_HOLDER, LeaseRow

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from sqlalchemy.orm import Session

    from auditor.store.store import Store

log = logging.getLogger(__name__)

# A placeholder row's times: long expired, so the transaction that inserts it takes it.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Each retry follows a release that committed in between: a handful is already absurd.
_INSERT_ATTEMPTS = 5


class LeaseLost(StoreError):  # noqa: N818 - reads as the situation it names
    """The lease is no longer ours: it expired and another holder took it (or it is gone)."""


class LeaseBusy(StoreError):  # noqa: N818 - reads as the situation it names
    """Another holder kept the lease for longer than we were willing to wait."""

    def __init__(self, name: str, holder: str, waited: float) -> None:
        super().__init__(
            f"lease {name!r} is still held by {holder} after waiting {waited:.0f}s; "
            "another auditor process is doing this work"
        )
        self.name = name
        self.holder = holder


class LeaseState(StrEnum):
    """What a lease is at one moment."""

    FREE = "free"  # never taken, released, or expired: anyone may take it
    HELD = "held"  # a holder has it and has renewed it in time
    DONE = "done"  # its work was completed (a slot that ran): nobody takes it again


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease we hold, until ``expires_at`` unless renewed."""

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """A lease as the store has it, whoever holds it."""

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime
    done_at: datetime | None

    def state(self, now: datetime) -> LeaseState:
        """Done, held (not yet expired at ``now``), or free."""
        if self.done_at is not None:
            return LeaseState.DONE
        return LeaseState.HELD if self.expires_at > now else LeaseState.FREE


def new_holder() -> str:
    """A holder name for this process: host and pid for people, a random part to be unique."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return holder[-LEASE_HOLDER:]


def slot_lease_name(job_id: str, scheduled: datetime) -> str:
    """The lease of one scheduled run: the job and its scheduled time in UTC, to the second.

    Every replica computes the same name from the same crontab, whatever its own zone.
    """
    if scheduled.tzinfo is None:
        raise ValueError(f"{scheduled!r} has no timezone")
    return f"slot:{job_id}:{scheduled.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def tenant_lease_name(tenant_id: str) -> str:
    """The lease a run holds while it audits one tenant."""
    return f"tenant:{tenant_id}"


def _engine(target: Engine | Store) -> Engine:
    return target if isinstance(target, Engine) else target.engine


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError(f"{now!r} has no timezone")
    return now


def _check_ttl(ttl: timedelta) -> None:
    if ttl <= timedelta(0):
        raise ValueError(f"a lease's ttl must be positive, not {ttl}")


@contextmanager
def _locked(engine: Engine) -> Iterator[Session]:
    # SQLite: BEGIN IMMEDIATE up front (a deferred transaction that upgrades to a write
    # fails at once with "database is locked" instead of waiting). PostgreSQL: a plain
    # transaction; the row lock in _row serializes the contenders of one lease.
    with transaction(engine, write=engine.dialect.name == "sqlite") as session:
        yield session


def _row(session: Session, name: str) -> LeaseRow | None:
    return session.scalars(select(LeaseRow).where(LeaseRow.name == name).with_for_update()).first()


def _locked_row(session: Session, name: str) -> LeaseRow:
    """The lease's row, inserted (free) if missing, locked until the transaction ends."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # Make sure the row exists, so FOR UPDATE has something to lock; two processes
    # inserting at once: the second waits for the first and then inserts nothing. On
    # PostgreSQL a release committed between the insert (a no-op: the row was there)
    # and the lock deletes the row: insert again (READ COMMITTED sees the delete now).
    for _ in range(_INSERT_ATTEMPTS):
        session.execute(
            insert(LeaseRow)
            .values(name=name, holder="", acquired_at=_EPOCH, expires_at=_EPOCH, done_at=None)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        row = _row(session, name)
        if row is not None:
            return row
    raise StoreError(
        f"lease {name!r} was deleted {_INSERT_ATTEMPTS} times while being taken; "
        "something is releasing it in a loop"
    )


def _info(row: LeaseRow) -> LeaseInfo:
    return LeaseInfo(row.name, row.holder, row.acquired_at, row.expires_at, row.done_at)


def _lease(row: LeaseRow) -> Lease:
    return Lease(row.name, row.holder, row.acquired_at, row.expires_at)


def try_acquire(
    target: Engine | Store, name: str, holder: str, *, ttl: timedelta, now: datetime | None = None
) -> Lease | LeaseInfo:
    """Take the lease if it is free (or already ours); else what the store has instead.

    Returns a :class:`Lease` when taken, or the :class:`LeaseInfo` of the other holder
    (``HELD``) or of the completed work (``DONE``).
    """
    _check_ttl(ttl)
    at = _now(now)
    engine = _engine(target)
    with _locked(engine) as session:
        row = _locked_row(session, name)
        info = _info(row)
        state = info.state(at)
        if state is LeaseState.DONE or (state is LeaseState.HELD and row.holder != holder):
            return info
        if row.holder != holder or state is LeaseState.FREE:
            row.acquired_at = at
        row.holder = holder
        row.expires_at = at + ttl
        return _lease(row)


def acquire(
    target: Engine | Store, name: str, holder: str, *, ttl: timedelta, now: datetime | None = None
) -> Lease | None:
    """The lease, when it is free (or already ours); None when held by another or done."""
    got = try_acquire(target, name, holder, ttl=ttl, now=now)
    return got if isinstance(got, Lease) else None


def inspect(target: Engine | Store, name: str) -> LeaseInfo | None:
    """The lease as stored (None when nobody ever took it, or it was released)."""
    with transaction(_engine(target), write=False) as session:
        row = session.get(LeaseRow, name)
        return None if row is None else _info(row)


def renew(
    target: Engine | Store, lease: Lease, *, ttl: timedelta, now: datetime | None = None
) -> Lease:
    """Push the lease's expiry to ``now + ttl``; :class:`LeaseLost` when it is not ours.

    A lease that expired but nobody took is still ours: renewing it is safe, since no
    other process started the work in between.
    """
    _check_ttl(ttl)
    at = _now(now)
    with _locked(_engine(target)) as session:
        row = _row(session, lease.name)
        if row is None or row.holder != lease.holder or row.done_at is not None:
            raise LeaseLost(_lost_message(lease, row))
        row.expires_at = at + ttl
        return _lease(row)


def release(target: Engine | Store, lease: Lease) -> bool:
    """Give the lease up (delete it) so the next contender takes it at once.

    False when it was no longer ours (expired and taken over): nothing is changed then.
    """
    with _locked(_engine(target)) as session:
        result = session.execute(
            delete(LeaseRow).where(
                LeaseRow.name == lease.name,
                LeaseRow.holder == lease.holder,
                LeaseRow.done_at.is_(None),
            )
        )
        return bool(getattr(result, "rowcount", 0))


def complete(target: Engine | Store, lease: Lease, *, now: datetime | None = None) -> None:
    """Mark the lease's work done: nobody takes it again (a slot that ran is not re-run).

    :class:`LeaseLost` when it is not ours any more (another holder took it over and may
    be doing the work again: the caller should say so).
    """
    at = _now(now)
    with _locked(_engine(target)) as session:
        row = _row(session, lease.name)
        if row is None or row.holder != lease.holder or row.done_at is not None:
            raise LeaseLost(_lost_message(lease, row))
        row.done_at = at
        row.expires_at = at


def prune_done(target: Engine | Store, *, before: datetime) -> int:
    """Delete the rows of work completed before ``before`` (old slots); how many."""
    with _locked(_engine(target)) as session:
        result = session.execute(
            delete(LeaseRow).where(LeaseRow.done_at.is_not(None), LeaseRow.done_at < before)
        )
        return int(getattr(result, "rowcount", 0))


def _lost_message(lease: Lease, row: LeaseRow | None) -> str:
    if row is None:
        return f"lease {lease.name!r} is gone (released or pruned)"
    if row.done_at is not None and row.holder != lease.holder:
        return f"lease {lease.name!r} was taken over and completed by {row.holder}"
    if row.done_at is not None:
        return f"lease {lease.name!r} is already completed"
    return f"lease {lease.name!r} expired and was taken over by {row.holder}"


# ----------------------------------------------------------------------------- waiting


class _Waiting:
    """The decisions of :func:`acquire_waiting`, one copy for its sync and async forms."""

    def __init__(self, name: str, wait: float, poll: float) -> None:
        self._name, self._wait, self._poll = name, wait, poll
        self._deadline = time.monotonic() + wait

    def pause(self, got: Lease | LeaseInfo) -> float | None:
        """Seconds to sleep before asking again; None when ``got`` is the answer.

        The answer is a :class:`Lease` taken, or work done (no lease: nothing to do).
        Raises :class:`LeaseBusy` when another holder still has it after ``wait``.
        """
        if isinstance(got, Lease) or got.state(datetime.now(UTC)) is LeaseState.DONE:
            return None
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise LeaseBusy(self._name, got.holder, self._wait)
        return min(self._poll, left)


def acquire_waiting(  # noqa: PLR0913 - the lease, and how long and how often to ask
    target: Engine | Store,
    name: str,
    holder: str,
    *,
    ttl: timedelta,
    wait: float,
    poll: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease | None:
    """The lease, waiting up to ``wait`` seconds while another holder has it.

    None when its work is (or becomes) done; :class:`LeaseBusy` when it is still held
    after ``wait``. A holder that dies stops renewing: its lease expires and is taken here.
    """
    waiting = _Waiting(name, wait, poll)
    while True:
        got = try_acquire(target, name, holder, ttl=ttl)
        pause = waiting.pause(got)
        if pause is None:
            return got if isinstance(got, Lease) else None
        sleep(pause)


async def acquire_waiting_async(  # noqa: PLR0913 - as acquire_waiting
    target: Engine | Store,
    name: str,
    holder: str,
    *,
    ttl: timedelta,
    wait: float,
    poll: float = 1.0,
) -> Lease | None:
    """:func:`acquire_waiting` for the event loop: the store is asked on a worker thread."""
    waiting = _Waiting(name, wait, poll)
    while True:
        got = await asyncio.to_thread(try_acquire, target, name, holder, ttl=ttl)
        pause = waiting.pause(got)
        if pause is None:
            return got if isinstance(got, Lease) else None
        await asyncio.sleep(pause)


# --------------------------------------------------------------------------- heartbeat


class Heartbeat:
    """Renews a lease on a daemon thread every ``ttl / 3`` until stopped.

    Renewing (not one long ttl) is what lets a crashed holder's lease expire quickly while
    a live holder keeps it through a run of any length. When a renewal finds the lease
    taken over (this process was frozen for longer than ``ttl``), :attr:`lost` is set and
    the work should stop or at least say so; a failed renewal (store outage) is retried.
    """

    def __init__(self, target: Engine | Store, lease: Lease, *, ttl: timedelta) -> None:
        _check_ttl(ttl)
        self._engine = _engine(target)
        self._lease = lease
        self._ttl = ttl
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-heartbeat {lease.name}", daemon=True
        )

    @property
    def lease(self) -> Lease:
        """The lease as last renewed."""
        return self._lease

    def start(self) -> None:
        """Start renewing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (waits for a renewal in progress to finish)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _beat(self) -> None:
        interval = self._ttl.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                self._lease = renew(self._engine, self._lease, ttl=self._ttl)
            except LeaseLost as exc:
                log.error("%s; another process may be doing this work too", exc)  # noqa: TRY400 - no traceback: the message is the news
                self.lost.set()
                return
            except Exception:
                # A store hiccup: the lease is still ours until it expires; try again.
                log.warning("could not renew lease %r; retrying", self._lease.name, exc_info=True)


def _finish(engine: Engine, beat: Heartbeat, *, done: bool) -> None:
    beat.stop()
    if beat.lost.is_set():
        return
    try:
        if done:
            complete(engine, beat.lease)
        else:
            release(engine, beat.lease)
    except LeaseLost as exc:
        log.error("%s", exc)  # noqa: TRY400 - no traceback: the message is the news


@contextmanager
def hold(  # noqa: PLR0913 - the lease, how long to wait for it, and what finishing means
    target: Engine | Store,
    name: str,
    *,
    holder: str,
    ttl: timedelta,
    wait: float = 0.0,
    poll: float = 1.0,
    done_on_success: bool = False,
) -> Iterator[Heartbeat | None]:
    """Hold a lease (renewed by a :class:`Heartbeat`) for the ``with`` block.

    Yields None when the lease's work is already done (skip it); raises
    :class:`LeaseBusy` when another holder kept it for ``wait`` seconds. On leaving,
    ``done_on_success`` marks a block that returned normally as done (a slot that ran);
    otherwise, and whenever the block raised, the lease is released for the next taker.
    """
    engine = _engine(target)
    lease = acquire_waiting(engine, name, holder, ttl=ttl, wait=wait, poll=poll)
    if lease is None:
        yield None
        return
    beat = Heartbeat(engine, lease, ttl=ttl)
    beat.start()
    try:
        yield beat
    except BaseException:
        _finish(engine, beat, done=False)
        raise
    _finish(engine, beat, done=done_on_success)


@asynccontextmanager
async def hold_async(  # noqa: PLR0913 - as hold
    target: Engine | Store,
    name: str,
    *,
    holder: str,
    ttl: timedelta,
    wait: float = 0.0,
    poll: float = 1.0,
) -> AsyncIterator[Heartbeat | None]:
    """:func:`hold` inside the event loop (for a tenant's collection); always released."""
    engine = _engine(target)
    lease = await acquire_waiting_async(engine, name, holder, ttl=ttl, wait=wait, poll=poll)
    if lease is None:
        yield None
        return
    beat = Heartbeat(engine, lease, ttl=ttl)
    beat.start()
    try:
        yield beat
    finally:
        await asyncio.to_thread(_finish, engine, beat, done=False)
