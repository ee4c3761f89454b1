"""``auditor schedule``: the nightly audit in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from auditor.application import AuditRequest
from auditor.cli.parser import add_config_flag, add_no_alerts_flag, add_report_flags
from auditor.cli.shared import (
    alerts_off,
    audit_and_tell,
    load_config_arg,
    pack_and_waivers,
    report_formats,
)
from auditor.errors import EXIT_OK, InputError, UsageError
from auditor.report.destination import Destination
from auditor.results import Severity

if TYPE_CHECKING:
    import argparse

    from auditor.cli.parser import Commands

log = logging.getLogger("auditor")


def register(commands: Commands) -> None:
    """Add ``schedule``."""
    schedule = commands.add_parser(
        "schedule",
        help="run the nightly audit in the foreground (APScheduler)",
        description=(
            "Audit every tenant on the config's schedule (schedule: {cron: '0 2 * * *', "
            "timezone: UTC} by default), writing reports and recording each run, until "
            "stopped with Ctrl-C or SIGTERM. The config is re-read before every run."
        ),
    )
    add_config_flag(schedule)
    add_report_flags(schedule)
    schedule.add_argument(
        "--now", action="store_true", help="also audit once right away, then keep the schedule"
    )
    add_no_alerts_flag(schedule)
    schedule.set_defaults(handler=schedule_command)


def schedule_command(args: argparse.Namespace) -> int:
    """Validate everything now (exit 2 on a problem), then audit on the schedule."""
    from auditor.scheduler import build_scheduler  # noqa: PLC0415 - keep --help fast

    formats = report_formats(args.format)
    send_alerts = not alerts_off(args)
    config, lines = load_config_arg(args.config)
    pack_and_waivers(config, lines, None)  # a broken rule pack or waiver file: exit 2 now
    destination = Destination.parse(args.output)
    destination.check()  # an --output that cannot be written: exit 2 now, not at 02:00

    def nightly() -> None:
        # Re-read everything: edits to the config, rules or waivers apply to the next run.
        try:
            current, current_lines = load_config_arg(args.config)
            pack, waivers = pack_and_waivers(current, current_lines, None)
        except (InputError, UsageError) as exc:
            log.error("scheduled audit skipped, fix the config: %s", exc)  # noqa: TRY400
            return
        code = audit_and_tell(AuditRequest(
            current, current.tenants, pack=pack, output=destination, formats=formats,
            fail_on=Severity.LOW, waivers=waivers, trigger="schedule",
            send_alerts=send_alerts,
        ))
        log.info("scheduled audit done (exit code %d)", code)

    scheduler = build_scheduler(config.schedule, nightly)
    if args.now:
        scheduler.add_job(nightly, id="startup-audit", name="audit at start-up")

    def stop(signum: int, _frame: object) -> None:
        print(f"auditor: {signal.Signals(signum).name}, stopping the scheduler", file=sys.stderr)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    when = config.schedule.next_run(datetime.now(UTC))
    print(f"auditor: scheduled '{config.schedule.cron}' ({config.schedule.timezone}); "
          f"next run {when:%Y-%m-%d %H:%M %Z}; Ctrl-C or SIGTERM stops", file=sys.stderr,
          flush=True)
    scheduler.start()
    return EXIT_OK
