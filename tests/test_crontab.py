"""Crontab day semantics: day-of-month OR weekday when both are restricted, as cron does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auditor.config import ScheduleConfig
from auditor.scheduler import build_scheduler

# Friday 27 November 2026, 23:00 UTC: the next Monday is 30 Nov, the next 1st is Tue 1 Dec.
FRIDAY_NIGHT = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


def _at_two(*days: tuple[int, int, int]) -> list[datetime]:
    return [datetime(year, month, day, 2, 0, tzinfo=UTC) for year, month, day in days]


def next_runs(schedule: ScheduleConfig, count: int) -> list[datetime]:
    """The next ``count`` runs after FRIDAY_NIGHT, by asking next_run from each one on."""
    runs: list[datetime] = []
    after = FRIDAY_NIGHT
    for _ in range(count):
        run = schedule.next_run(after)
        assert run is not None
        runs.append(run)
        after = run + timedelta(seconds=1)
    return runs


def scheduler_runs(schedule: ScheduleConfig, count: int) -> list[datetime]:
    """The next ``count`` fire times of the job the service really schedules."""
    (job,) = build_scheduler(schedule, lambda: None).get_jobs()
    runs: list[datetime] = []
    previous: datetime | None = None
    now = FRIDAY_NIGHT
    for _ in range(count):
        fire = job.trigger.get_next_fire_time(previous, now)
        assert fire is not None
        runs.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)
    return runs


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        # Both restricted: the 1st of the month AND every Monday (not only Monday the 1st,
        # which would first come in February 2027).
        (
            "0 2 1 * 1",
            _at_two((2026, 11, 30), (2026, 12, 1), (2026, 12, 7), (2026, 12, 14),
                    (2026, 12, 21), (2026, 12, 28), (2027, 1, 1), (2027, 1, 4)),
        ),
        # Only the weekday: Mondays, never a 1st that is not a Monday.
        (
            "0 2 * * 1",
            _at_two((2026, 11, 30), (2026, 12, 7), (2026, 12, 14), (2026, 12, 21),
                    (2026, 12, 28), (2027, 1, 4), (2027, 1, 11), (2027, 1, 18)),
        ),
        # Only the day of month: the 1st, whatever its weekday.
        (
            "0 2 1 * *",
            _at_two((2026, 12, 1), (2027, 1, 1), (2027, 2, 1), (2027, 3, 1),
                    (2027, 4, 1), (2027, 5, 1), (2027, 6, 1), (2027, 7, 1)),
        ),
        # Both restricted with ranges: the 1st-3rd, or a weekend day (crontab 6,0 = Sat, Sun).
        (
            "0 2 1-3 * 6,0",
            _at_two((2026, 11, 28), (2026, 11, 29), (2026, 12, 1), (2026, 12, 2),
                    (2026, 12, 3), (2026, 12, 5), (2026, 12, 6), (2026, 12, 12)),
        ),
    ],
)
def test_day_of_month_and_weekday_follow_crontab(cron: str, expected: list[datetime]) -> None:
    """next_run and the scheduled job both fire on the days crontab would, no more, no fewer."""
    schedule = ScheduleConfig(cron=cron)
    assert next_runs(schedule, len(expected)) == expected
    assert scheduler_runs(schedule, len(expected)) == expected


def test_a_star_step_day_still_narrows_the_weekday() -> None:
    """A day field starting with * (``*/2``) is unrestricted for cron: weekday and day AND."""
    runs = next_runs(ScheduleConfig(cron="0 2 */2 * 1"), 3)
    assert all(run.weekday() == 0 and run.day % 2 == 1 for run in runs), runs
