"""``auditor schedule``: the nightly audit as a service, until SIGTERM or Ctrl-C.

What :func:`auditor.scheduler.run_service` does with it: one run per scheduled slot
across every replica on the store (slot leases), ``/metrics`` and ``/healthz`` with
``--listen``, and a graceful stop: SIGTERM during a run lets the tenants under way
finish, reports the others as ``error`` "interrupted", records the run, writes its
reports, and exits 0.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from auditor.application import AuditRequest
from auditor.cli.parser import (
    ENV_LISTEN,
    add_config_flag,
    add_no_alerts_flag,
    add_report_flags,
    env,
)
from auditor.cli.shared import (
    alerts_off,
    audit_and_tell,
    load_config_arg,
    pack_and_waivers,
    report_formats,
)
from auditor.errors import EXIT_USAGE, InputError, UsageError
from auditor.report.destination import Destination
from auditor.results import Severity

if TYPE_CHECKING:
    import argparse

    from auditor.cli.parser import Commands
    from auditor.service.metrics import Metrics
    from auditor.store import Store

log = logging.getLogger("auditor")


def register(commands: Commands) -> None:
    """Add ``schedule``."""
    schedule = commands.add_parser(
        "schedule",
        help="run the nightly audit as a service (one run per slot across replicas)",
        description=(
            "Audit every tenant on the config's schedule (schedule: {cron: '0 2 * * *', "
            "timezone: UTC} by default), writing reports and recording each run, until "
            "stopped with Ctrl-C or SIGTERM. The config is re-read before every run. "
            "Replicas sharing one store audit each slot once. SIGTERM during a run "
            "finishes the tenants under way, records the run and exits 0."
        ),
    )
    add_config_flag(schedule)
    add_report_flags(schedule)
    schedule.add_argument(
        "--now", action="store_true", help="also audit once right away, then keep the schedule"
    )
    add_no_alerts_flag(schedule)
    schedule.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=env(ENV_LISTEN),
        help=(
            "serve /metrics (Prometheus) and /healthz on HOST:PORT, e.g. 127.0.0.1:9464 "
            f"(env {ENV_LISTEN}; default: the config's schedule.listen, else off)"
        ),
    )
    schedule.set_defaults(handler=schedule_command)


def schedule_command(args: argparse.Namespace) -> int:
    """Validate everything now (exit 2 on a problem), then audit on the schedule."""
    from auditor.scheduler import run_service  # noqa: PLC0415 - keep --help fast
    from auditor.service.http import parse_listen  # noqa: PLC0415
    from auditor.service.metrics import Metrics  # noqa: PLC0415
    from auditor.store import open_store  # noqa: PLC0415

    formats = report_formats(args.format)
    send_alerts = not alerts_off(args)
    config, lines = load_config_arg(args.config)
    pack_and_waivers(config, lines, None)  # a broken rule pack or waiver file: exit 2 now
    destination = Destination.parse(args.output)
    destination.check()  # an --output that cannot be written: exit 2 now, not at 02:00
    listen = args.listen or config.schedule.listen
    if listen is not None:
        try:
            parse_listen(listen)
        except ValueError as exc:
            raise UsageError(f"--listen: {exc}") from None
    # The schedule section is a ServiceSettings (its subclass); only --listen may override.
    settings = config.schedule.model_copy(update={"listen": listen})
    # One store for the service's life: its engine holds the slot leases.
    store = open_store(config.store)
    metrics = Metrics()
    _restore_last_success(store, metrics)
    stop = threading.Event()

    def nightly() -> int:
        # Re-read everything: edits to the config, rules or waivers apply to the next run.
        try:
            current, current_lines = load_config_arg(args.config)
            pack, waivers = pack_and_waivers(current, current_lines, None)
        except (InputError, UsageError) as exc:
            log.error("scheduled audit skipped, fix the config: %s", exc)  # noqa: TRY400
            return EXIT_USAGE
        code = audit_and_tell(AuditRequest(
            current, current.tenants, pack=pack, output=destination, formats=formats,
            fail_on=Severity.LOW, waivers=waivers, trigger="schedule", metrics=metrics,
            send_alerts=send_alerts, stop=stop,
        ))
        _prune_slots(store, current.retention_days)
        return code

    try:
        return run_service(
            config.schedule, nightly, settings=settings, metrics=metrics,
            engine=store.engine, run_now=args.now, on_signal=stop.set,
            on_ready=lambda line: print(f"auditor: {line}", file=sys.stderr, flush=True),
        )
    finally:
        store.close()


def _restore_last_success(store: Store, metrics: Metrics) -> None:
    """After a restart, the last recorded scheduled run counts as the last success.

    So ``auditor_last_success_timestamp_seconds`` and ``/healthz`` stay meaningful across
    restarts instead of starting from nothing.
    """
    try:
        runs = store.runs(limit=20)
    except Exception:
        log.warning("could not read the last run from the store", exc_info=True)
        return
    for run in runs:
        if run.trigger == "schedule":
            finished = run.finished_at
            metrics.mark_success(
                finished if finished.tzinfo is not None else finished.replace(tzinfo=UTC)
            )
            return


def _prune_slots(store: Store, retention_days: int) -> None:
    """Drop the rows of slots done before the retention window (one row per slot piles up).

    Only a slot still inside its own run's window matters (a late replica must see it
    done); the retention window is far beyond that.
    """
    from auditor.store import lease  # noqa: PLC0415 - keep --help fast

    try:
        lease.prune_done(store, before=datetime.now(UTC) - timedelta(days=retention_days))
    except Exception:
        log.warning("could not prune the done slot leases", exc_info=True)
