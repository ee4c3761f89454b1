"""``auditor schedule``: the nightly audit, run in the foreground by APScheduler.

One job, on a crontab schedule from the config (default 02:00 UTC). Each run re-reads the
config file, so an edited tenant list or rule override applies without a restart, and a
config that became invalid costs that one run (logged), not the service. Runs missed
while the host slept are coalesced into one.

As a service (issue 8):

* **One run per slot across replicas.** Every firing belongs to a *slot*, the scheduled
  time it fired for (:func:`previous_fire_time`). The run takes the slot's lease in the
  store and marks it done when it finishes; a replica that fires for the same slot waits
  while another holds it (taking over if that one dies and its lease lapses, or stops
  on SIGTERM before every tenant was audited) and skips it once it is done. Without a
  store URL (``slots=None``) every process runs every slot.
* **No overlap.** ``max_instances=1`` keeps one nightly job at a time, and a process-wide
  lock also keeps the ``--now`` start-up run and a slot from running at once: a firing
  that finds a run under way is skipped (and logged), never queued behind it.
* **The pulse in the log.** Start, end, skip and failure go to the ``auditor.run`` logger,
  which :func:`auditor.logs.setup_logging` keeps at INFO at the default ``warning``
  level: they are news to an operator, not warnings, and this shows them without
  turning on every module's info lines. Fields: ``slot``, ``duration_seconds``,
  ``exit_code``, ``holder``.
* **Health.** :func:`run_service` serves ``/metrics`` and ``/healthz`` when
  ``settings.listen`` is set; a replica that skips a slot another one completed counts
  that run as its last success, so a standby stays healthy.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler

from auditor.logs import run_log as run_logger
from auditor.service.health import HealthPolicy
from auditor.service.http import ServiceHTTP, parse_listen
from auditor.service.settings import ServiceSettings
from auditor.store import lease

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from apscheduler.triggers.base import BaseTrigger
    from sqlalchemy import Engine

    from auditor.config import ScheduleConfig
    from auditor.service.metrics import Metrics

log = logging.getLogger(__name__)
run_log = run_logger()  # see the module doc: shown at the default level

JOB_ID = "nightly-audit"
STARTUP_JOB_ID = "startup-audit"
# A run that starts this late (host asleep, long previous run) still runs, once.
MISFIRE_GRACE_SECONDS = 6 * 3600
# How far back to look for a cron's previous fire time, widening until one is found.
_LOOKBACKS = (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32),
              timedelta(days=367), timedelta(days=5 * 366))



def previous_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest time at or before ``now`` the trigger fires (the slot a firing is for).

    APScheduler 3 only computes *next* fire times: search forward from a point a little
    before ``now``, widening the window until it holds a fire time.
    """
    for lookback in _LOOKBACKS:
        fire: datetime | None = trigger.get_next_fire_time(None, now - lookback)
        if fire is None or fire > now:
            continue
        while True:
            following: datetime | None = trigger.get_next_fire_time(
                fire, fire + timedelta(seconds=1)
            )
            if following is None or following > now:
                return fire
            fire = following
    return None


@dataclass
class SlotGuard:
    """Wraps a run so that it runs once per slot across replicas and never overlaps here.

    ``engine`` is the store's (for the slot leases); None runs every slot here, without
    leases (one process). ``clock`` is the time a firing happens at (tests fix it).
    ``interrupted`` says whether this process was told to stop (SIGTERM): a run that
    ends stopped early leaves its slot to another replica instead of marking it done.
    """

    trigger: BaseTrigger
    engine: Engine | None
    settings: ServiceSettings = field(default_factory=ServiceSettings)
    metrics: Metrics | None = None
    holder: str = field(default_factory=lease.new_holder)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    interrupted: Callable[[], bool] = field(default=lambda: False)
    _running: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def scheduled(self, job: Callable[[], int | None]) -> Callable[[], None]:
        """The function APScheduler calls at each fire time of the trigger."""

        def fire() -> None:
            now = self.clock()
            slot = previous_fire_time(self.trigger, now) or now
            self._guarded(job, slot=slot, now=now)

        return fire

    def unscheduled(self, job: Callable[[], int | None]) -> Callable[[], None]:
        """A run outside the schedule (``--now``): no slot lease, but never overlapping."""
        return lambda: self._guarded(job, slot=None, now=self.clock())

    def wait_idle(self) -> None:
        """Return once no run of this guard is under way."""
        with self._running:
            pass

    def _guarded(
        self, job: Callable[[], int | None], *, slot: datetime | None, now: datetime
    ) -> None:
        label = "start-up" if slot is None else _rfc3339(slot)
        if not self._running.acquire(blocking=False):
            run_log.warning(
                "an audit is still running; the run for slot %s is skipped", label,
                extra={"slot": label},
            )
            return
        try:
            if slot is None or self.engine is None:
                _logged(job, slot=label, holder=self.holder, metrics=self.metrics)
            else:
                self._leased(job, slot=slot, now=now)
        finally:
            self._running.release()

    def _leased(self, job: Callable[[], int | None], *, slot: datetime, now: datetime) -> None:
        assert self.engine is not None  # noqa: S101 - _guarded checked it
        label = _rfc3339(slot)
        name = lease.slot_lease_name(JOB_ID, slot)
        # Wait for another replica's run of this slot, but not past the grace (healthz
        # fails then anyway) nor past the next slot (that one is the next run's business).
        following = self.trigger.get_next_fire_time(slot, slot + timedelta(seconds=1))
        wait_until = slot + self.settings.grace
        if following is not None:
            wait_until = min(wait_until, following)
        wait = max(0.0, (wait_until - now).total_seconds())
        ttl = self.settings.lease_ttl
        try:
            with lease.hold(
                self.engine, name, holder=self.holder, ttl=ttl, wait=wait,
                poll=min(15.0, ttl.total_seconds() / 4), done_on_success=True,
            ) as held:
                if held is None:
                    self._done_elsewhere(name, label)
                    return
                finished = _logged(job, slot=label, holder=self.holder, metrics=self.metrics)
                if finished and self.interrupted():
                    # Stopped (a rolling deploy at 02:00): the tenants not started are in
                    # the report as "interrupted". A standby still waiting on this slot
                    # audits them tonight rather than the next slot tomorrow.
                    run_log.warning(
                        "slot %s: the run was stopped before every tenant was audited; the "
                        "slot is released, not marked done, so another replica can run it",
                        label, extra={"slot": label, "holder": self.holder},
                    )
                    finished = False
                if not finished:
                    # Leave the block by raising: the lease is released, not marked done,
                    # so another replica firing for this slot may still run it.
                    raise _SlotUnfinished  # noqa: TRY301 - hold() acts on how the block ends
        except _SlotUnfinished:
            pass  # a failure or a stop, already logged
        except lease.LeaseBusy as exc:
            run_log.warning(
                "slot %s skipped: %s", label, exc, extra={"slot": label, "holder": exc.holder}
            )
        except Exception:
            # The store failed us (unreachable, locked past its timeout): without the
            # lease this replica does not run the slot; another replica may have it.
            log.exception("slot %s: the store's lease failed; see the error", label)

    def _done_elsewhere(self, name: str, label: str) -> None:
        info = lease.inspect(self.engine, name) if self.engine is not None else None
        done_at = info.done_at if info is not None else None
        who = info.holder if info is not None else "another replica"
        run_log.info(
            "slot %s was audited by %s; skipped here", label, who,
            extra={"slot": label, "holder": who},
        )
        if done_at is not None and self.metrics is not None:
            self.metrics.mark_success(done_at)


class _SlotUnfinished(Exception):  # noqa: N818 - internal signal, never escapes this module
    """The run raised or was stopped early (already logged): release the slot, not done."""


def _logged(
    job: Callable[[], int | None], *, slot: str, holder: str, metrics: Metrics | None
) -> bool:
    """Run the job, keep the service alive whatever it does, and say what happened.

    True when the job returned, False when it raised.
    """
    fields = {"slot": slot, "holder": holder}
    run_log.info("scheduled audit starting (slot %s)", slot, extra=fields)
    started = time.monotonic()
    try:
        code = job()
    except Exception:  # noqa: BLE001 - logged with its traceback below
        # One bad run (a config edited into an error, a store outage) must not stop
        # the nightly audits: log it with its traceback and wait for the next one.
        duration = time.monotonic() - started
        run_log.exception(
            "scheduled audit failed; the next run is still scheduled",
            extra={**fields, "duration_seconds": round(duration, 3)},
        )
        if metrics is not None:
            metrics.record_failure(duration)
        return False
    duration = time.monotonic() - started
    run_log.info(
        "scheduled audit finished (slot %s) in %.1fs, exit code %s", slot, duration, code,
        extra={**fields, "duration_seconds": round(duration, 3), "exit_code": code},
    )
    return True


def build_scheduler(
    schedule: ScheduleConfig,
    job: Callable[[], int | None],
    *,
    guard: SlotGuard | None = None,
) -> BlockingScheduler:
    """A scheduler with the one nightly job; ``start()`` blocks until shutdown.

    With a ``guard``, each firing runs once per slot across replicas (see the module
    doc); without, the job runs at every firing of this process.
    """
    trigger = schedule.trigger()
    guard = guard or SlotGuard(trigger=trigger, engine=None)
    scheduler = BlockingScheduler(timezone=ZoneInfo(schedule.timezone))
    scheduler.add_job(
        guard.scheduled(job),
        trigger,
        id=JOB_ID,
        name="audit every tenant",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    return scheduler


def run_service(  # noqa: PLR0913 - the service's whole context, passed explicitly
    schedule: ScheduleConfig,
    job: Callable[[], int | None],
    *,
    settings: ServiceSettings,
    metrics: Metrics,
    engine: Engine | None,
    run_now: bool = False,
    on_ready: Callable[[str], None] | None = None,
    on_signal: Callable[[], None] | None = None,
) -> int:
    """What ``auditor schedule`` does: schedule ``job``, serve health, stop on a signal.

    ``job`` runs one audit and records it in ``metrics`` (``record_run``), returning its
    exit code. ``engine`` is the store's, for the slot leases (None: a single process).
    ``on_ready`` is told one line for people once everything is up. ``on_signal`` is
    called on SIGTERM or SIGINT (which must arrive in the main thread), before the
    scheduler stops: the CLI uses it to make the run under way wind up early. Returns 0
    once the run under way, if any, has finished.
    """
    trigger = schedule.trigger()
    started_at = datetime.now(UTC)
    signalled = threading.Event()
    guard = SlotGuard(
        trigger=trigger, engine=engine, settings=settings, metrics=metrics,
        interrupted=signalled.is_set,
    )
    scheduler = build_scheduler(schedule, job, guard=guard)
    if run_now:
        scheduler.add_job(guard.unscheduled(job), id=STARTUP_JOB_ID, name="audit at start-up")

    server: ServiceHTTP | None = None
    if settings.listen is not None:
        policy = HealthPolicy(trigger, started_at, settings.grace)
        host, port = parse_listen(settings.listen)
        server = ServiceHTTP(host, port, metrics, lambda: policy.check(metrics.last_success))
        server.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        run_log.info("%s received, stopping the scheduler", name)
        signalled.set()
        if on_signal is not None:
            on_signal()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if on_ready is not None:
        when = schedule.next_run(started_at)
        served = f"; serving /metrics and /healthz on {settings.listen}" if server else ""
        on_ready(
            f"scheduled '{schedule.cron}' ({schedule.timezone}); next run "
            f"{when:%Y-%m-%d %H:%M %Z}{served}; Ctrl-C or SIGTERM stops"
        )
    try:
        scheduler.start()
        guard.wait_idle()  # a run under way finishes (records, writes) before we exit
    finally:
        if server is not None:
            server.stop()
    return 0


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
