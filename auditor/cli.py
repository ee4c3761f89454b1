"""The ``auditor`` command line: a thin shell over the core (see ``auditor/__init__``).

It parses flags (each with an ``AUDITOR_*`` variable), loads the config, calls the core
and maps what happened to the exit codes of CONTRACT section 3. It never formats a
report or talks to a service itself.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy.exc import SQLAlchemyError

from auditor import __version__
from auditor.config import AuditorConfig, TenantConfig, load_config_with_lines
from auditor.errors import (
    EXIT_COLLECTION_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    InputError,
    UsageError,
)
from auditor.store.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auditor.collect.secrets import SecretHasher
    from auditor.history import Trigger
    from auditor.report import ReportFormat
    from auditor.results import DriftEntry
    from auditor.rules import RulePack
    from auditor.store import Store
    from auditor.waivers import Waiver
    from auditor.yamlsource import LineIndex
from auditor.results import ResultStatus, RunReport, Severity, TenantStatus

ENV_CONFIG = "AUDITOR_CONFIG"
ENV_FORMAT = "AUDITOR_FORMAT"
ENV_OUTPUT = "AUDITOR_OUTPUT"
ENV_FAIL_ON = "AUDITOR_FAIL_ON"
ENV_LOG_LEVEL = "AUDITOR_LOG_LEVEL"
DEFAULT_OUTPUT = "reports-out"
LOG_LEVELS = ("debug", "info", "warning", "error")

log = logging.getLogger("auditor")

EPILOG = """\
exit codes:
  0  no failing result at or above --fail-on
  1  failing results
  2  bad usage, config or rule pack (nothing audited)
  3  at least one tenant could not be fully audited (collection error)

Every flag has an environment variable: AUDITOR_CONFIG, AUDITOR_FORMAT,
AUDITOR_OUTPUT, AUDITOR_FAIL_ON, AUDITOR_LOG_LEVEL. A flag beats its variable.
Try `auditor demo` first: it audits built-in emulated tenants, no credentials needed.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with a hint to --help (argparse already does 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see `{self.prog} --help`)\n")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=_env(ENV_CONFIG),
        help=f"the YAML config file (env {ENV_CONFIG})",
    )


def _add_tenant_flags(parser: argparse.ArgumentParser, *, allow_all: bool = True) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--tenant",
        metavar="ID",
        action="append",
        help="a tenant id from the config (repeatable)",
    )
    if allow_all:
        group.add_argument("--all", action="store_true", help="every tenant in the config")


def build_parser() -> argparse.ArgumentParser:
    """The full command tree; every command's --help explains itself."""
    parser = _Parser(
        prog="auditor",
        description=(
            "Audits every tenant's Okta -> Rapticore (AWS Cognito) OIDC single sign-on: "
            "collects both halves through the okta SDK and boto3, checks them against "
            "a declarative rule pack, and reports what fails and what drifted."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        type=str.lower,
        default=(_env(ENV_LOG_LEVEL, "warning") or "warning").lower(),
        help=f"how much to log on stderr (env {ENV_LOG_LEVEL}; default warning)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    snapshot = commands.add_parser(
        "snapshot",
        help="collect one tenant and print its redacted snapshot as JSON",
        description=(
            "Collect both halves of one tenant and print the normalized, redacted "
            "snapshot the rules see (no secret values; secrets appear as fingerprints)."
        ),
    )
    _add_config_flag(snapshot)
    snapshot.add_argument("--tenant", metavar="ID", required=True, help="a tenant id")

    audit = commands.add_parser(
        "audit",
        help="audit tenants, write reports, exit with the verdict",
        description=(
            "Collect each selected tenant's Okta app and Cognito identity provider, "
            "check them against the rule pack, write report.json / report.html, and "
            "exit 0 (clean), 1 (failing results at or above --fail-on), 2 (bad usage or "
            "config) or 3 (a tenant could not be fully collected)."
        ),
        epilog="example: auditor audit --config auditor.yaml --tenant acme --fail-on high",
    )
    _add_config_flag(audit)
    _add_tenant_flags(audit)
    _add_report_flags(audit)
    audit.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        type=str.lower,
        choices=[s.value for s in Severity],
        default=(_env(ENV_FAIL_ON, "low") or "low").lower(),
        help=f"lowest severity that makes the exit code 1: critical, high, medium, low, "
        f"info (env {ENV_FAIL_ON}; default low)",
    )
    audit.add_argument(
        "--rules", metavar="DIR", help="a rule pack directory (default: the built-in pack)"
    )

    rules = commands.add_parser(
        "rules",
        help="list or validate a rule pack",
        description="Show the rule catalog, or check a rule pack without auditing anything.",
    )
    rules_commands = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    rules_list = rules_commands.add_parser(
        "list", help="the rules: id, severity, title", description="List the rule catalog."
    )
    rules_list.add_argument("--rules", metavar="DIR", help="a rule pack directory")
    rules_list.add_argument("--verbose", "-v", action="store_true",
                            help="also print each rule's rationale and references")
    rules_validate = rules_commands.add_parser(
        "validate",
        help="check a rule pack; exit 2 naming file and line on the first problem",
        description="Load and validate every rule file; nothing is audited.",
    )
    rules_validate.add_argument(
        "path", nargs="?", metavar="PATH", help="rule pack directory (default: the built-in)"
    )

    baseline = commands.add_parser(
        "baseline",
        help="approve or show a tenant's baseline (the state drift is measured against)",
        description=(
            "A baseline is a tenant's approved state. `accept` approves the tenant's most "
            "recent stored snapshot (audit first); later runs report drift against it."
        ),
    )
    baseline_commands = baseline.add_subparsers(
        dest="baseline_command", metavar="ACTION", required=True
    )
    accept = baseline_commands.add_parser(
        "accept", help="approve each tenant's latest audited state",
        description="Approve the most recent stored snapshot of each selected tenant.",
    )
    _add_config_flag(accept)
    _add_tenant_flags(accept)
    accept.add_argument("--reason", metavar="TEXT", help="why this state is approved")
    accept.add_argument(
        "--by", metavar="NAME", default=None,
        help="who approves (default: the current user)",
    )
    show = baseline_commands.add_parser(
        "show", help="who approved each baseline, when and why",
        description="Show the approved baseline of each selected tenant.",
    )
    _add_config_flag(show)
    _add_tenant_flags(show)

    history = commands.add_parser(
        "history",
        help="a tenant's recent runs: status and what changed",
        description="List a tenant's recorded runs, newest first, with the drift of each.",
    )
    _add_config_flag(history)
    history.add_argument("--tenant", metavar="ID", required=True, help="a tenant id")
    history.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")

    diff = commands.add_parser(
        "diff",
        help="what changed in a tenant between two runs",
        description=(
            "Field-level changes of a tenant's snapshot between two recorded runs "
            "(default: its previous run and its latest). Run ids come from `auditor history`."
        ),
    )
    _add_config_flag(diff)
    diff.add_argument("--tenant", metavar="ID", required=True, help="a tenant id")
    diff.add_argument("--from", dest="from_run", metavar="RUN", help="the older run id")
    diff.add_argument("--to", dest="to_run", metavar="RUN", help="the newer run id")

    schedule = commands.add_parser(
        "schedule",
        help="run the nightly audit in the foreground (APScheduler)",
        description=(
            "Audit every tenant on the config's schedule (schedule: {cron: '0 2 * * *', "
            "timezone: UTC} by default), writing reports and recording each run, until "
            "stopped with Ctrl-C or SIGTERM. The config is re-read before every run."
        ),
    )
    _add_config_flag(schedule)
    _add_report_flags(schedule)
    schedule.add_argument(
        "--now", action="store_true", help="also audit once right away, then keep the schedule"
    )

    demo = commands.add_parser(
        "demo",
        help="audit built-in emulated tenants (no credentials, nothing leaves the machine)",
        description=(
            "Start a local Okta emulator and moto's Cognito server, build six tenants "
            "(one compliant, five with a typical misconfiguration), audit them and write "
            "both reports. Exits 0 when the demo ran."
        ),
    )
    _add_report_flags(demo)
    return parser


def _add_report_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        metavar="LIST",
        default=_env(ENV_FORMAT, "json,html"),
        help=f"reports to write, comma-separated: json, html (env {ENV_FORMAT}; default both)",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        default=_env(ENV_OUTPUT, DEFAULT_OUTPUT),
        help=f"where reports go (env {ENV_OUTPUT}; default {DEFAULT_OUTPUT}/)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``auditor`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # argparse checks `choices` on flags, not on defaults taken from the environment.
    for dest, env, allowed in (
        ("log_level", ENV_LOG_LEVEL, LOG_LEVELS),
        ("fail_on", ENV_FAIL_ON, tuple(s.value for s in Severity)),
    ):
        value = getattr(args, dest, None)
        if value is not None and value not in allowed:
            parser.error(f"{env}={os.environ.get(env)!r} is not one of {', '.join(allowed)}")
    _setup_logging(args.log_level)
    try:
        return _dispatch(args)
    except InputError as exc:
        print(f"auditor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"auditor: {exc}\n(see `auditor {args.command} --help`)", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace) -> int:
    handlers = {
        "snapshot": _cmd_snapshot,
        "audit": _cmd_audit,
        "rules": _cmd_rules,
        "demo": _cmd_demo,
        "baseline": _cmd_baseline,
        "history": _cmd_history,
        "diff": _cmd_diff,
        "schedule": _cmd_schedule,
    }
    return handlers[args.command](args)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # boto's and aiohttp's debug output includes request headers: never below warning.
    for noisy in ("botocore", "boto3", "urllib3", "aiohttp", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def load_config_arg(path: str | None) -> tuple[AuditorConfig, LineIndex]:
    """The config named by --config / AUDITOR_CONFIG, or a usage error saying how."""
    if not path:
        raise UsageError(
            f"no config: pass --config PATH or set {ENV_CONFIG} "
            "(or run `auditor demo` to see the auditor work without one)"
        )
    return load_config_with_lines(Path(path))


def select_tenants(
    config: AuditorConfig, ids: Sequence[str] | None, *, every: bool
) -> list[TenantConfig]:
    """The tenants asked for; an unknown id is a usage error naming the known ones."""
    if every or not ids:
        return list(config.tenants)
    unknown = [i for i in ids if config.tenant(i) is None]
    if unknown:
        known = ", ".join(t.id for t in config.tenants)
        raise UsageError(f"unknown tenant {', '.join(unknown)} (configured: {known})")
    return [t for t in config.tenants if t.id in set(ids)]


def _cmd_snapshot(args: argparse.Namespace) -> int:
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415 - keep --help fast
    from auditor.collect.tenant import collect_tenant  # noqa: PLC0415
    from auditor.store_paths import fingerprint_key_path  # noqa: PLC0415

    config, _ = load_config_arg(args.config)
    (tenant,) = select_tenants(config, [args.tenant], every=False)
    hasher = SecretHasher.for_installation(fingerprint_key_path(config.store))
    snapshot = asyncio.run(collect_tenant(tenant, config.base_domain, hasher))
    print(snapshot.to_json())
    return EXIT_COLLECTION_ERROR if snapshot.has_errors else EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    formats = _formats(args.format)
    config, lines = load_config_arg(args.config)
    tenants = select_tenants(config, args.tenant, every=args.all)
    pack, waivers = _pack_and_waivers(config, lines, Path(args.rules) if args.rules else None)
    return _audit_and_report(
        config, tenants, pack=pack, output=Path(args.output), formats=formats,
        fail_on=Severity(args.fail_on), waivers=waivers,
    )


def _pack_and_waivers(
    config: AuditorConfig, lines: LineIndex, rules_dir: Path | None
) -> tuple[RulePack, list[Waiver]]:
    """The rule pack with the config's overrides, and the config's waivers: all validated."""
    from auditor.rules import load_rule_pack  # noqa: PLC0415 - keep --help fast
    from auditor.waivers import load_waivers  # noqa: PLC0415

    pack = load_rule_pack(rules_dir, overrides=config.rules, overrides_lines=lines)
    waivers = []
    if config.waivers is not None:
        waivers = load_waivers(
            config.waivers, set(pack.ids), known_tenants={t.id for t in config.tenants}
        )
    return pack, waivers


def _cmd_schedule(args: argparse.Namespace) -> int:
    import signal  # noqa: PLC0415

    from auditor.scheduler import build_scheduler  # noqa: PLC0415

    formats = _formats(args.format)
    config, lines = load_config_arg(args.config)
    _pack_and_waivers(config, lines, None)  # a broken rule pack or waiver file: exit 2 now

    def nightly() -> None:
        # Re-read everything: edits to the config, rules or waivers apply to the next run.
        try:
            current, current_lines = load_config_arg(args.config)
            pack, waivers = _pack_and_waivers(current, current_lines, None)
        except (InputError, UsageError) as exc:
            log.error("scheduled audit skipped, fix the config: %s", exc)  # noqa: TRY400
            return
        code = _audit_and_report(
            current, current.tenants, pack=pack, output=Path(args.output), formats=formats,
            fail_on=Severity.LOW, waivers=waivers, trigger="schedule",
        )
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


def _cmd_demo(args: argparse.Namespace) -> int:
    import tempfile  # noqa: PLC0415

    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415 - keep --help fast
    from auditor.demo import build_demo_fleet, running_fleet  # noqa: PLC0415
    from auditor.rules import load_rule_pack  # noqa: PLC0415 - keep --help fast
    from auditor.store import open_store  # noqa: PLC0415

    formats = _formats(args.format)
    output = Path(args.output)
    pack = load_rule_pack()
    say = functools.partial(print, file=sys.stderr)
    say("demo: starting the Okta emulator and moto's Cognito on loopback...")
    with running_fleet() as fleet, tempfile.TemporaryDirectory(prefix="auditor-demo-") as state:
        drift = build_demo_fleet(fleet)
        config = fleet.config(store=f"sqlite:///{state}/state.db")
        hasher = SecretHasher.ephemeral()
        say("demo: run 1, six tenants exactly as the setup guide says; "
            "their state is accepted as the baseline")
        _audit_and_report(config, config.tenants, pack=pack, output=output, formats=formats,
                          fail_on=Severity.INFO, trigger="demo", hasher=hasher)
        store = open_store(config.store)
        try:
            for tenant in config.tenants:
                store.accept_baseline(tenant.id, accepted_by="demo", reason="set up by the guide",
                                      now=datetime.now(UTC))
        finally:
            store.close()
        drift()
        say("demo: then the admins changed things:")
        for demo_tenant in fleet.tenants:
            say(f"  {demo_tenant.tenant_id:<9} {demo_tenant.story}")
        say("demo: run 2, the nightly audit:")
        _audit_and_report(config, config.tenants, pack=pack, output=output, formats=formats,
                          fail_on=Severity.INFO, trigger="demo", hasher=hasher)
    say(f"demo: done. Open {output / 'report.html'} in a browser to see failures, drift "
        "since the baseline and remediation; `auditor --help` shows the real commands.")
    return EXIT_OK


def _cmd_rules(args: argparse.Namespace) -> int:
    from auditor.rules import default_rules_dir, load_rule_pack  # noqa: PLC0415

    if args.rules_command == "validate":
        path = Path(args.path) if args.path else None
        pack = load_rule_pack(path)
        print(f"{pack.path}: rule pack {pack.name!r} v{pack.version} is valid "
              f"({len(pack.rules)} rules)")
        return EXIT_OK
    pack = load_rule_pack(Path(args.rules) if args.rules else None)
    width = max(len(rule.id) for rule in pack.rules)
    source = "built-in" if pack.path == default_rules_dir() else str(pack.path)
    print(f"{pack.name} v{pack.version} ({source}), {len(pack.rules)} rules:")
    for rule in pack.rules:
        print(f"  {rule.id:<{width}}  {rule.severity.value:<8}  {rule.title}")
        if args.verbose:
            print(textwrap.indent(textwrap.fill(rule.rationale, 88), " " * 6))
            for ref in rule.references:
                print(f"      - {ref}")
    return EXIT_OK


def _formats(text: str) -> list[ReportFormat]:
    from auditor.report import parse_formats  # noqa: PLC0415

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _audit_and_report(  # noqa: PLR0913 - the run's whole context, passed explicitly
    config: AuditorConfig,
    tenants: Sequence[TenantConfig],
    *,
    pack: RulePack,
    output: Path,
    formats: Sequence[ReportFormat],
    fail_on: Severity,
    waivers: Sequence[Waiver] = (),
    trigger: Trigger = "manual",
    hasher: SecretHasher | None = None,
) -> int:
    from auditor.audit import exit_code, run_audit  # noqa: PLC0415
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415 - keep --help fast
    from auditor.history import remember  # noqa: PLC0415
    from auditor.progress import Progress  # noqa: PLC0415
    from auditor.store import open_store  # noqa: PLC0415
    from auditor.store_paths import fingerprint_key_path  # noqa: PLC0415

    if hasher is None:
        hasher = SecretHasher.for_installation(fingerprint_key_path(config.store))
    run = asyncio.run(run_audit(
        tenants, config.base_domain, pack, hasher,
        concurrency=config.concurrency, on_done=Progress(len(tenants)),
    ))
    report = run.report
    store_failed = None
    try:
        store = open_store(config.store)
        try:
            report = remember(
                run, store, waivers=waivers, today=datetime.now(UTC).date(), trigger=trigger,
                retention_days=config.retention_days,
            ).report
        finally:
            store.close()
    except (SQLAlchemyError, StoreError, OSError) as exc:
        # The verdicts are still worth having: write them, and say the run was not kept.
        store_failed = f"{type(exc).__name__}: {exc}"
        log.exception("could not record the run in the store %s", _safe_url(config.store))
    written = write_reports(report, formats, output)
    _print_summary(report, written)
    if store_failed is not None:
        print(f"auditor: the run was NOT recorded in the store ({store_failed}); "
              "drift and finding history are missing from these reports", file=sys.stderr)
        return EXIT_COLLECTION_ERROR
    return exit_code(report, fail_on)


def _safe_url(url: str) -> str:
    """A store URL without its password, for messages."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, TypeError):
        return "<store>"


def _store_from(args: argparse.Namespace) -> tuple[AuditorConfig, Store]:
    from auditor.store import open_store  # noqa: PLC0415

    config, _ = load_config_arg(args.config)
    return config, open_store(config.store)


def _cmd_baseline(args: argparse.Namespace) -> int:
    from auditor.store import NoRunRecorded  # noqa: PLC0415

    config, store = _store_from(args)
    try:
        tenants = select_tenants(config, args.tenant, every=args.all)
        if args.baseline_command == "show":
            for tenant in tenants:
                base = store.baseline(tenant.id)
                if base is None:
                    print(f"{tenant.id}: no baseline (run `auditor baseline accept`)")
                else:
                    why = f": {base.reason}" if base.reason else ""
                    print(f"{tenant.id}: run {base.run_id}, accepted "
                          f"{base.accepted_at:%Y-%m-%d %H:%M}Z by {base.accepted_by}{why}")
            return EXIT_OK
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
            print(f"{tenant.id}: baseline is now run {base.run_id} (accepted by {by})")
    finally:
        store.close()
    if missing:
        raise UsageError(
            f"no recorded run for {', '.join(missing)}: audit first "
            f"(auditor audit --tenant {missing[0]}), then accept"
        )
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    from auditor.drift import diff_snapshots  # noqa: PLC0415

    config, store = _store_from(args)
    try:
        select_tenants(config, [args.tenant], every=False)
        runs = store.runs(args.tenant, limit=args.limit + 1)
        if not runs:
            print(f"{args.tenant}: no recorded run (run `auditor audit --tenant {args.tenant}`)")
            return EXIT_OK
        for newer, older in zip(runs[: args.limit], [*runs[1:], None], strict=False):
            status = newer.tenants.get(args.tenant, newer.outcome)
            print(f"{newer.started_at:%Y-%m-%d %H:%M:%S}Z  {newer.id}  {newer.trigger:<8}  "
                  f"{status.value}")
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


def _cmd_diff(args: argparse.Namespace) -> int:
    from auditor.drift import diff_snapshots  # noqa: PLC0415
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
        if after is None:
            raise UsageError(f"run {to_run} did not audit {args.tenant}")
        if before is None:
            print(f"{args.tenant}: nothing to compare run {to_run} with (its first run)")
            return EXIT_OK
        changes = diff_snapshots(before, after, "previous")
        if not changes:
            print(f"{args.tenant}: no change")
        for entry in changes:
            print(format_drift(entry))
    finally:
        store.close()
    return EXIT_OK


def format_drift(entry: DriftEntry) -> str:
    """One drift entry as a line: ``path: + added - removed`` or ``path: before -> after``."""
    if entry.added or entry.removed:
        parts = [f"+ {v}" for v in entry.added or []] + [f"- {v}" for v in entry.removed or []]
        return f"{entry.path}: {', '.join(parts)}"
    return f"{entry.path}: {_short_json(entry.before)} -> {_short_json(entry.after)}"


def _short_json(value: object) -> str:
    import json  # noqa: PLC0415

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:119] + "…"


def _current_user() -> str:
    import getpass  # noqa: PLC0415

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def write_reports(report: RunReport, formats: Sequence[ReportFormat], output: Path) -> list[Path]:
    """Write each report atomically (temp file + rename): a reader never sees half a file."""
    from auditor.report import render  # noqa: PLC0415

    output.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = output / fmt.filename
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(render(fmt, report))
        partial.replace(target)
        written.append(target)
    return written


_STATUS_LABEL = {TenantStatus.PASS: "pass", TenantStatus.FAIL: "FAIL", TenantStatus.ERROR: "ERROR"}
_MAX_LISTED = 3


def _print_summary(report: RunReport, written: Sequence[Path]) -> None:
    """A short verdict on stderr: counts, then each failing or errored tenant in a line."""
    s = report.summary
    print(f"audited {s.tenants} tenant(s): {s.passed} passed, {s.failed} failed, "
          f"{s.errored} errored", file=sys.stderr)
    for tenant in report.tenants:
        if tenant.status is TenantStatus.PASS:
            continue
        failing = sorted(
            (r for r in tenant.results if r.status is ResultStatus.FAIL),
            key=lambda r: -r.severity.rank,
        )
        parts = [f"{r.rule_id} ({r.severity.value})" for r in failing[:_MAX_LISTED]]
        if len(failing) > _MAX_LISTED:
            parts.append(f"+{len(failing) - _MAX_LISTED} more")
        if tenant.errors:
            parts.insert(0, f"{len(tenant.errors)} collection error(s): {tenant.errors[0].message}")
        print(f"  {_STATUS_LABEL[tenant.status]:<5} {tenant.tenant_id}: {'; '.join(parts)}",
              file=sys.stderr)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
