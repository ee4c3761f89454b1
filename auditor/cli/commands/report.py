"""``auditor report --run-group ID``: the whole run of a sharded fleet audit (CONTRACT 7)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from auditor.cli.parser import (
    add_config_flag,
    add_fail_on_flag,
    add_report_flags,
    add_run_group_flag,
)
from auditor.cli.shared import load_config_arg, report_formats
from auditor.errors import UnavailableError, UsageError
from auditor.results import Severity

if TYPE_CHECKING:
    import argparse

    from auditor.cli.parser import Commands


def register(commands: Commands) -> None:
    """Add ``report``."""
    report = commands.add_parser(
        "report",
        help="write a sharded run's reports from the store and send its alerts, once",
        description=(
            "Read every shard of the run group (`auditor audit --all --shard I/N "
            "--run-group ID`) from the store, write the whole run's report.json / "
            "report.html and send its alerts once. The exit code is audit's for the "
            "whole run: 0, 1 (failing results at or above --fail-on), 2 (bad usage or "
            "config) or 3 (a tenant could not be fully collected, or shards are missing: "
            "each is named on stderr as `shard I/N missing`)."
        ),
        epilog="example: auditor report --config auditor.yaml --run-group nightly-20261127 "
        "--wait 3600",
    )
    add_config_flag(report)
    add_run_group_flag(report, required=True)
    add_report_flags(report)
    add_fail_on_flag(report)
    report.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="wait up to this long for missing shards (default: do not wait)",
    )
    report.add_argument(
        "--partial",
        action="store_true",
        help="report the shards that finished (after --wait, if given), name the missing "
        "ones on stderr, exit 3; the missing shards' tenants are left out (no alert "
        "resolves them)",
    )
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Report the run group; the exit code is the whole run's verdict."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - keep --help fast

    from auditor.redact import redact_url  # noqa: PLC0415
    from auditor.report.destination import Destination  # noqa: PLC0415
    from auditor.report.text import format_summary  # noqa: PLC0415
    from auditor.run_group import GroupReportRequest, report_run_group  # noqa: PLC0415
    from auditor.store import StoreError, check_run_group  # noqa: PLC0415

    formats = report_formats(args.format)
    if not args.wait >= 0:  # also refuses nan
        raise UsageError(f"--wait {args.wait:g}: give the seconds to wait, 0 or more")
    try:
        group = check_run_group(args.run_group)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config, _ = load_config_arg(args.config)
    try:
        outcome = report_run_group(GroupReportRequest(
            config, group, output=Destination.parse(args.output), formats=formats,
            fail_on=Severity(args.fail_on), wait_seconds=args.wait, partial=args.partial,
        ))
    except (SQLAlchemyError, StoreError, OSError) as exc:
        # One line, the URL without its password; a damaged shard says which and what to do.
        reason = str(exc).splitlines()[0] if isinstance(exc, StoreError) else type(exc).__name__
        raise UnavailableError(
            f"run group {group!r}: could not read it from the store "
            f"{redact_url(config.store)} ({reason})"
        ) from None
    for shard in outcome.missing:
        print(f"auditor: shard {shard} missing", file=sys.stderr)
    if outcome.report is not None:
        print(format_summary(outcome.report, outcome.written), file=sys.stderr)
    if outcome.problem is not None:
        print(f"auditor: {outcome.problem}", file=sys.stderr)
    if outcome.alerts is not None and (line := outcome.alerts.summary()) is not None:
        print(line, file=sys.stderr)
    if outcome.missing and outcome.report is None:
        print(
            f"auditor: run group {group!r} is not complete: nothing written, no alert sent "
            "(--wait SECONDS waits for the shards, --partial reports those that finished)",
            file=sys.stderr,
        )
    return outcome.exit_code
