"""`auditor schedule`: when it runs, and that it runs, records and stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cli_helpers import cli_env, new_id, write_config

from auditor.config import ScheduleConfig
from auditor.demo import emulator_environment
from auditor.scheduler import build_scheduler

FRIDAY_NIGHT = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # Saturday 00:00 in Berlin


@pytest.mark.parametrize(
    ("cron", "zone", "expected"),
    [
        ("0 2 * * *", "UTC", datetime(2026, 11, 28, 2, 0, tzinfo=UTC)),
        # Crontab weekdays: 1-5 is Monday to Friday (APScheduler 3 alone reads Tue-Sat).
        ("30 1 * * 1-5", "Europe/Berlin",
         datetime(2026, 11, 30, 1, 30, tzinfo=ZoneInfo("Europe/Berlin"))),
        ("0 6 * * 0", "UTC", datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),  # 0 = Sunday
        ("0 6 * * 7", "UTC", datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),  # 7 = Sunday too
        ("0 6 * * sat", "UTC", datetime(2026, 11, 28, 6, 0, tzinfo=UTC)),
    ],
)
def test_next_run_follows_crontab_semantics(cron, zone, expected):
    """The next run is where crontab (not APScheduler's own weekday numbering) puts it."""
    assert ScheduleConfig(cron=cron, timezone=zone).next_run(FRIDAY_NIGHT) == expected


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ("{cron: '0 25 * * *'}", "cron '0 25 * * *'"),
        ("{cron: '0 2 * *'}", "5 fields"),
        ("{cron: '0 2 * * 8'}", "not a weekday"),
        ("{timezone: Mars/Olympus}", "unknown timezone"),
        ("{cron: '0 2 * * *', every: day}", "unknown key 'every'"),
    ],
)
def test_bad_schedule_is_a_config_error_with_its_line(tmp_path, schedule, fragment):
    """A wrong cron, weekday, timezone or key in schedule: is refused with its line."""
    from auditor.config import load_config  # noqa: PLC0415
    from auditor.errors import InputError  # noqa: PLC0415

    config = tmp_path / "auditor.yaml"
    config.write_text(
        "version: 1\n"
        f"schedule: {schedule}\n"
        "tenants:\n  - id: acme\n    okta: {org_url: 'https://acme.okta.com', token: t}\n"
        "    cognito: {region: us-east-1, user_pool_id: us-east-1_Ab, provider_name: Okta}\n"
    )
    with pytest.raises(InputError) as info:
        load_config(config)
    assert info.value.line == 2
    assert fragment in info.value.message


def test_a_failing_run_does_not_stop_the_schedule(caplog):
    """A run that raises is logged, and the job stays scheduled for the next night."""
    calls = []

    def boom() -> None:
        calls.append(1)
        raise RuntimeError("store unreachable")

    scheduler = build_scheduler(ScheduleConfig(), boom)
    (job,) = scheduler.get_jobs()
    job.func()  # what the scheduler's executor calls
    assert calls == [1]
    assert "scheduled audit failed" in caplog.text
    assert job.max_instances == 1
    assert job.coalesce is True


def test_schedule_now_audits_records_and_stops_on_sigterm(fleet, moto_cognito, tmp_path):
    """`schedule --now` audits at once (trigger `schedule` in the report), and SIGTERM stops it."""
    fleet.add(new_id("sched"))
    config = tmp_path / "auditor.yaml"
    tokens = write_config(fleet, config, extra="schedule: {cron: '0 3 1 1 *'}")
    env = cli_env({**emulator_environment(moto_cognito), **tokens})
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "auditor", "schedule", "--now", "--config", str(config)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    report = tmp_path / "reports-out" / "report.json"
    try:
        deadline = time.monotonic() + 60
        while not report.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert report.exists(), "the start-up audit wrote no report"
        time.sleep(0.5)  # let the run finish recording
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "next run 2027-01-01 03:00" in stderr
    assert "SIGTERM" in stderr
    data = json.loads(report.read_text())
    assert data["run"]["trigger"] == "schedule"
    assert data["summary"]["passed"] == 1
