"""The scheduler as a service (issue 8): slots fire at the cron time, run once, never overlap.

Times are fixed datetimes handed to the trigger and to the slot logic (no sleeping until
02:00); the store is a real SQLite file shared by two SlotGuards, as two replicas share it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from test_service_metrics import samples

from auditor import logs
from auditor.config import ScheduleConfig
from auditor.scheduler import SlotGuard, build_scheduler, previous_fire_time
from auditor.service.metrics import ApiCallTally, Metrics
from auditor.service.settings import ServiceSettings
from auditor.store import lease, open_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from auditor.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
NIGHTLY = ScheduleConfig()  # "0 2 * * *" UTC
SLOT = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SLOT_LEASE = lease.slot_lease_name("nightly-audit", SLOT)
FAST = ServiceSettings(lease_ttl_seconds=10, grace_minutes=60)
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("cron", "zone", "now", "expected"),
    [
        ("0 2 * * *", "UTC", SLOT + timedelta(seconds=30), SLOT),
        ("0 2 * * *", "UTC", SLOT, SLOT),
        ("0 2 * * *", "UTC", SLOT - timedelta(minutes=1), SLOT - timedelta(days=1)),
        ("*/10 * * * *", "UTC", SLOT + timedelta(minutes=25), SLOT + timedelta(minutes=20)),
        # Crontab 1-5 is Monday to Friday: on Sunday the last slot was Friday's.
        ("30 1 * * 1-5", "Europe/Berlin", datetime(2026, 11, 29, 12, 0, tzinfo=BERLIN),
         datetime(2026, 11, 27, 1, 30, tzinfo=BERLIN)),
        ("0 3 1 * *", "UTC", datetime(2026, 11, 17, tzinfo=UTC),
         datetime(2026, 11, 1, 3, 0, tzinfo=UTC)),
    ],
)
def test_a_firing_belongs_to_the_latest_slot_at_or_before_it(
    cron: str, zone: str, now: datetime, expected: datetime
) -> None:
    """The slot of a firing is the cron's latest time not after it, in the schedule's zone."""
    assert previous_fire_time(ScheduleConfig(cron=cron, timezone=zone).trigger(), now) == expected


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store file, as replicas on one host (or one volume) share it."""
    opened = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def replica(store: Store, at: datetime, metrics: Metrics | None = None, **kw: Any) -> SlotGuard:
    """A SlotGuard as one replica has it, its clock fixed at ``at``."""
    return SlotGuard(
        trigger=NIGHTLY.trigger(), engine=store.engine, settings=kw.pop("settings", FAST),
        metrics=metrics, clock=lambda: at, **kw,
    )


def test_the_job_fires_at_the_cron_time_and_runs_its_slot_once(store: Store) -> None:
    """The trigger's next fire is 02:00; that firing runs the audit and marks the slot done."""
    calls: list[int] = []
    scheduler = build_scheduler(NIGHTLY, lambda: calls.append(1) or 0,
                                guard=replica(store, SLOT + timedelta(seconds=2)))
    (job,) = scheduler.get_jobs()
    assert job.trigger.get_next_fire_time(None, SLOT - timedelta(hours=3)) == SLOT
    assert (job.max_instances, job.coalesce) == (1, True)
    job.func()  # what the scheduler's executor calls at 02:00:02
    assert calls == [1]
    done = lease.inspect(store, SLOT_LEASE)
    assert done is not None
    assert done.done_at is not None
    job.func()  # fired again for the same slot (a restart): skipped
    assert calls == [1]


def test_two_replicas_firing_together_audit_the_slot_once(store: Store) -> None:
    """Replica B fires while A audits: B waits, sees the slot done, skips it and stays healthy."""
    release = threading.Event()
    a_started = threading.Event()
    a_calls: list[int] = []
    b_calls: list[int] = []

    def a_job() -> int:
        a_calls.append(1)
        a_started.set()
        release.wait(30)
        return 0

    metrics_b = Metrics(ApiCallTally())
    a = replica(store, SLOT + timedelta(seconds=1)).scheduled(a_job)
    b = replica(store, SLOT + timedelta(seconds=2), metrics_b).scheduled(
        lambda: b_calls.append(1) or 0
    )
    thread_a = threading.Thread(target=a)
    thread_a.start()
    assert a_started.wait(10)
    thread_b = threading.Thread(target=b)
    thread_b.start()
    time.sleep(0.5)
    assert thread_b.is_alive()  # B is waiting for A's run of the slot, not running its own
    release.set()
    thread_a.join(30)
    thread_b.join(30)
    assert (a_calls, b_calls) == ([1], [])
    done = lease.inspect(store, SLOT_LEASE)
    assert done is not None
    assert metrics_b.last_success == done.done_at


def test_a_replica_firing_after_the_slot_was_done_skips_it_at_once(store: Store) -> None:
    """A replica whose clock is late (or that restarted) does not audit a done slot again."""
    calls: list[str] = []
    replica(store, SLOT + timedelta(seconds=1)).scheduled(lambda: calls.append("a") or 0)()
    started = time.monotonic()
    replica(store, SLOT + timedelta(hours=2)).scheduled(lambda: calls.append("b") or 0)()
    assert calls == ["a"]
    assert time.monotonic() - started < 5


def test_a_failed_run_frees_the_slot_for_another_replica(store: Store) -> None:
    """A run that raises releases its slot lease; the next replica firing for it audits it."""
    metrics = Metrics(ApiCallTally())

    def boom() -> int:
        raise RuntimeError("store unreachable")

    replica(store, SLOT + timedelta(seconds=1), metrics).scheduled(boom)()
    assert lease.inspect(store, SLOT_LEASE) is None
    assert samples(metrics.render().decode())["auditor_runs_total", (("outcome", "failure"),)] == 1
    calls: list[int] = []
    replica(store, SLOT + timedelta(minutes=5)).scheduled(lambda: calls.append(1) or 0)()
    assert calls == [1]


def test_a_replica_gives_up_on_a_held_slot_at_the_grace(store: Store) -> None:
    """While another holder keeps the slot, a replica waits only until the slot's grace ends."""
    held = lease.acquire(store, SLOT_LEASE, "replica-a", ttl=timedelta(minutes=5))
    assert held is not None
    calls: list[int] = []
    settings = ServiceSettings(lease_ttl_seconds=10, grace_minutes=1)
    started = time.monotonic()
    replica(store, SLOT + timedelta(seconds=59), settings=settings).scheduled(
        lambda: calls.append(1) or 0
    )()
    assert calls == []
    assert time.monotonic() - started < 10


def test_a_long_run_does_not_overlap_the_next_slot_or_the_start_up_run(store: Store) -> None:
    """While one run is under way, the next night's firing and a start-up run are skipped."""
    out = io.StringIO()
    logs.setup_logging("warning", "json", stream=out)
    release = threading.Event()
    calls: list[str] = []

    def long_run() -> int:
        calls.append("long")
        release.wait(30)
        return 1

    clock = [SLOT + timedelta(seconds=1)]
    guard = SlotGuard(trigger=NIGHTLY.trigger(), engine=store.engine, settings=FAST,
                      clock=lambda: clock[0])
    running = threading.Thread(target=guard.scheduled(long_run))
    running.start()
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    clock[0] = SLOT + timedelta(days=1, seconds=1)  # the run lasted past the next slot
    guard.scheduled(lambda: calls.append("next") or 0)()
    guard.unscheduled(lambda: calls.append("start-up") or 0)()
    release.set()
    running.join(30)
    assert calls == ["long"]
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    skipped = [e for e in events if "skipped" in e["event"]]
    assert [e["slot"] for e in skipped] == ["2026-11-29T02:00:00Z", "start-up"]
    finished = next(e for e in events if e["event"].startswith("scheduled audit finished"))
    assert (finished["slot"], finished["exit_code"]) == ("2026-11-28T02:00:00Z", 1)
    assert finished["level"] == "info"  # shown at the default warning level all the same
    # Next night's slot was never taken, so another replica could still run it.
    assert lease.inspect(store, lease.slot_lease_name("nightly-audit", SLOT + timedelta(1))) is None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback http
        return response.status, response.read()


def _poll(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_run_service_serves_health_and_metrics_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    """The schedule command's service: /healthz 200, the start-up run on /metrics, SIGTERM -> 0."""
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(Path(__file__).with_name("service_child.py")),
         f"127.0.0.1:{port}", f"sqlite:///{tmp_path / 'state.db'}"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _poll(lambda: b'auditor_runs_total{outcome="success"} 1.0'
                     in _get(f"{base}/metrics")[1], 30)
        code, body = _get(f"{base}/healthz")
        assert code == 200
        assert json.loads(body)["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert f"serving /metrics and /healthz on 127.0.0.1:{port}" in stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(line["event"].startswith("scheduled audit finished (slot start-up)")
               for line in lines)
    assert any("SIGTERM received" in line["event"] for line in lines)


@pytest.mark.slow
def test_sigterm_during_a_run_lets_it_finish_then_exits_0(tmp_path: Path) -> None:
    """SIGTERM mid-run stops the schedule, but the run under way completes before exit 0."""
    proc = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(Path(__file__).with_name("service_child.py")),
         f"127.0.0.1:{_free_port()}", f"sqlite:///{tmp_path / 'state.db'}", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert _poll((tmp_path / "started").exists, 30)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert (tmp_path / "finished").exists()
    events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert any(e.startswith("scheduled audit finished") for e in events), stderr


def test_a_run_stopped_by_sigterm_leaves_its_slot_to_a_standby(store: Store) -> None:
    """Stopped mid-run (a deploy at 02:00), a replica releases the slot; a standby audits it."""
    out = io.StringIO()
    logs.setup_logging("warning", "json", stream=out)
    stopping = threading.Event()

    def stopped_run() -> int:
        stopping.set()  # SIGTERM arrives while the audit is under way
        return 3  # the tenants not started are reported "interrupted"

    replica(store, SLOT + timedelta(seconds=1), interrupted=stopping.is_set).scheduled(
        stopped_run
    )()
    assert lease.inspect(store, SLOT_LEASE) is None  # released, not marked done
    (released,) = [e for e in map(json.loads, out.getvalue().splitlines())
                   if "released, not marked done" in e["event"]]
    assert (released["slot"], released["level"]) == ("2026-11-28T02:00:00Z", "warning")
    calls: list[int] = []
    replica(store, SLOT + timedelta(minutes=3)).scheduled(lambda: calls.append(1) or 0)()
    assert calls == [1]
    done = lease.inspect(store, SLOT_LEASE)
    assert done is not None
    assert done.done_at is not None
