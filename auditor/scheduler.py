"""``auditor schedule``: the nightly audit, run in the foreground by APScheduler.

One job, on a crontab schedule from the config (default 02:00 UTC). Each run re-reads the
config file, so an edited tenant list or rule override applies without a restart, and a
config that became invalid costs that one run (logged), not the service. Runs never
overlap (``max_instances=1``); runs missed while the host slept are coalesced into one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.config import ScheduleConfig

log = logging.getLogger(__name__)

JOB_ID = "nightly-audit"
# A run that starts this late (host asleep, long previous run) still runs, once.
MISFIRE_GRACE_SECONDS = 6 * 3600


def build_scheduler(schedule: ScheduleConfig, job: Callable[[], None]) -> BlockingScheduler:
    """A scheduler with the one nightly job; ``start()`` blocks until shutdown."""
    scheduler = BlockingScheduler(timezone=ZoneInfo(schedule.timezone))
    scheduler.add_job(
        _logged(job),
        schedule.trigger(),
        id=JOB_ID,
        name="audit every tenant",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    return scheduler


def _logged(job: Callable[[], None]) -> Callable[[], None]:
    """Keep the service alive whatever one run does, and say what happened."""

    def run() -> None:
        log.info("scheduled audit starting")
        try:
            job()
        except Exception:
            # One bad run (a config edited into an error, a store outage) must not stop
            # the nightly audits: log it with its traceback and wait for the next one.
            log.exception("scheduled audit failed; the next run is still scheduled")
        else:
            log.info("scheduled audit finished")

    return run
