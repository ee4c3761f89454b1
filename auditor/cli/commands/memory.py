"""What the store remembers: ``baseline accept|show``, ``history`` and ``diff``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from auditor.cli.parser import add_config_flag, add_tenant_flags
from auditor.cli.shared import load_config_arg, select_tenants
from auditor.errors import EXIT_OK, UnavailableError, UsageError

if TYPE_CHECKING:

    from auditor.cli.parser import Commands
    from auditor.config import AuditorConfig
    from auditor.store import Store


def register(commands: Commands) -> None:
    """Add ``baseline`` (with ``accept`` and ``show``), ``history`` and ``diff``."""
    baseline = commands.add_parser(
        "baseline",
        help="approve or show a tenant's baseline (the state drift is measured against)",
        description=(
            "A baseline is a tenant's approved state. `accept` approves the tenant's most "
            "recent stored snapshot (audit first); later runs report drift against it."
        ),
    )
    actions = baseline.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    accept = actions.add_parser(
        "accept", help="approve each tenant's latest audited state",
        description="Approve the most recent stored snapshot of each selected tenant.",
    )
    add_config_flag(accept)
    add_tenant_flags(accept)
    accept.add_argument("--reason", metavar="TEXT", help="why this state is approved")
    accept.add_argument(
        "--by", metavar="NAME", default=None,
        help="who approves (default: the current user)",
    )
    accept.set_defaults(handler=accept_command)
    show = actions.add_parser(
        "show", help="who approved each baseline, when and why",
        description="Show the approved baseline of each selected tenant.",
    )
    add_config_flag(show)
    add_tenant_flags(show)
    show.set_defaults(handler=show_command)

    history = commands.add_parser(
        "history",
        help="a tenant's recent runs: status and what changed",
        description="List a tenant's recorded runs, newest first, with the drift of each.",
    )
    add_config_flag(history)
    history.add_argument("--tenant", metavar="ID", required=True, help="a tenant id")
    history.add_argument("--limit", type=run_count, default=20,
                         help=f"how many runs, 1 to {MAX_HISTORY} (default 20)")
    history.set_defaults(handler=history_command)

    diff = commands.add_parser(
        "diff",
        help="what changed in a tenant between two runs",
        description=(
            "Field-level changes of a tenant's snapshot between two recorded runs "
            "(default: its previous run and its latest). Run ids come from `auditor history`."
        ),
    )
    add_config_flag(diff)
    diff.add_argument("--tenant", metavar="ID", required=True, help="a tenant id")
    diff.add_argument("--from", dest="from_run", metavar="RUN", help="the older run id")
    diff.add_argument("--to", dest="to_run", metavar="RUN", help="the newer run id")
    diff.set_defaults(handler=diff_command)


MAX_HISTORY = 10_000  # more than any retention keeps; bounds the query and the output


def run_count(text: str) -> int:
    """``--limit``: a whole number of runs from 1 to MAX_HISTORY (argparse says the rest)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_HISTORY:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and {MAX_HISTORY}")
    return value


def _store_from(args: argparse.Namespace) -> tuple[AuditorConfig, Store]:
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - keep --help fast

    from auditor.redact import redact_url  # noqa: PLC0415
    from auditor.store import StoreError, open_store  # noqa: PLC0415

    config, _ = load_config_arg(args.config)
    try:
        return config, open_store(config.store)
    except (SQLAlchemyError, StoreError, OSError) as exc:
        # One line, the URL without its password: never a traceback for an outage.
        reason = str(exc).splitlines()[0] if isinstance(exc, StoreError) else type(exc).__name__
        raise UnavailableError(
            f"could not open the store {redact_url(config.store)} ({reason})"
        ) from None


def show_command(args: argparse.Namespace) -> int:
    """Who approved each selected tenant's baseline, when and why."""
    config, store = _store_from(args)
    try:
        for tenant in select_tenants(config, args.tenant, every=args.all):
            base = store.baseline(tenant.id)
            if base is None:
                print(f"{safe(tenant.id)}: no baseline (run `auditor baseline accept`)")
            else:
                why = f": {safe(base.reason)}" if base.reason else ""
                print(f"{safe(tenant.id)}: run {safe(base.run_id)}, accepted "
                      f"{base.accepted_at:%Y-%m-%d %H:%M}Z by {safe(base.accepted_by)}{why}")
    finally:
        store.close()
    return EXIT_OK


def accept_command(args: argparse.Namespace) -> int:
    """Approve each selected tenant's latest run; a tenant never audited is a usage error."""
    from auditor.store import NoRunRecorded  # noqa: PLC0415 - keep --help fast

    config, store = _store_from(args)
    try:
        tenants = select_tenants(config, args.tenant, every=args.all)
        by = args.by or _current_user()
        now = datetime.now(UTC)
        missing = []
        for tenant in tenants:
            try:
                base = store.accept_baseline(tenant.id, accepted_by=by, reason=args.reason,
                                             now=now)
            except NoRunRecorded:
                missing.append(tenant.id)
                continue
            print(f"{safe(tenant.id)}: baseline is now run {safe(base.run_id)} "
                  f"(accepted by {safe(by)})")
    finally:
        store.close()
    if missing:
        raise UsageError(
            f"no recorded run for {', '.join(missing)}: audit first "
            f"(auditor audit --tenant {missing[0]}), then accept"
        )
    return EXIT_OK


def history_command(args: argparse.Namespace) -> int:
    """A tenant's runs, newest first, each with what changed since the one before."""
    from auditor.drift import diff_snapshots  # noqa: PLC0415 - keep --help fast
    from auditor.report.text import format_drift  # noqa: PLC0415

    config, store = _store_from(args)
    try:
        select_tenants(config, [args.tenant], every=False)
        runs = store.runs(args.tenant, limit=args.limit + 1)
        if not runs:
            who = safe(args.tenant)
            print(f"{who}: no recorded run (run `auditor audit --tenant {who}`)")
            return EXIT_OK
        for newer, older in zip(runs[: args.limit], [*runs[1:], None], strict=False):
            status = newer.tenants.get(args.tenant, newer.outcome)
            print(f"{newer.started_at:%Y-%m-%d %H:%M:%S}Z  {safe(newer.id)}  "
                  f"{safe(newer.trigger):<8}  {safe(status.value)}")
            if older is None:
                continue
            changes = diff_snapshots(
                store.snapshot(args.tenant, older.id),
                store.snapshot(args.tenant, newer.id) or {},
                "previous",
            )
            for entry in changes:
                print(f"    {format_drift(entry)}")
    finally:
        store.close()
    return EXIT_OK


def diff_command(args: argparse.Namespace) -> int:
    """Field-level changes between two runs (default: the previous and the latest)."""
    from auditor.drift import diff_snapshots  # noqa: PLC0415 - keep --help fast
    from auditor.report.text import format_drift  # noqa: PLC0415
    from auditor.store import UnknownRun  # noqa: PLC0415

    config, store = _store_from(args)
    try:
        select_tenants(config, [args.tenant], every=False)
        runs = store.runs(args.tenant, limit=2)
        to_run = args.to_run or (runs[0].id if runs else None)
        if to_run is None:
            raise UsageError(f"{args.tenant} has no recorded run: audit it first")
        try:
            after = store.snapshot(args.tenant, to_run)
            from_run = args.from_run
            before = (
                store.snapshot(args.tenant, from_run)
                if from_run
                else store.latest_snapshot(args.tenant, before_run=to_run)
            )
        except UnknownRun as exc:
            raise UsageError(f"{exc} (see `auditor history --tenant {args.tenant}`)") from None
        if after is None or (from_run and before is None):
            # Store.snapshot cannot tell an unknown run from one without the tenant.
            missing = to_run if after is None else from_run
            raise UsageError(
                f"no run {safe(missing)} recorded {safe(args.tenant)} "
                f"(see `auditor history --tenant {safe(args.tenant)}`)"
            )
        if before is None:
            print(f"{safe(args.tenant)}: nothing to compare run {safe(to_run)} with "
                  "(its first run)")
            return EXIT_OK
        changes = diff_snapshots(before, after, "previous")
        if not changes:
            print(f"{safe(args.tenant)}: no change")
        for entry in changes:
            print(format_drift(entry))
    finally:
        store.close()
    return EXIT_OK


def safe(value: object) -> str:
    """Store and config text made harmless for a terminal (see ``terminal_safe``)."""
    from auditor.report.text import terminal_safe  # noqa: PLC0415 - keep --help fast

    return terminal_safe(value)


def _current_user() -> str:
    import getpass  # noqa: PLC0415 - only `baseline accept` asks

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
