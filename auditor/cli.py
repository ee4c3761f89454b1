"""The ``auditor`` command line: a thin shell over the core (see ``auditor/__init__``).

It parses flags (each with an ``AUDITOR_*`` variable), loads the config, calls the core
and maps what happened to the exit codes of CONTRACT section 3. It never formats a
report or talks to a service itself.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from auditor import __version__
from auditor.config import AuditorConfig, TenantConfig, load_config_with_lines
from auditor.errors import InputError, UsageError
from auditor.yamlsource import LineIndex

if TYPE_CHECKING:
    from auditor.report import ReportFormat
    from auditor.rules import RulePack
from auditor.results import ResultStatus, RunReport, Severity, TenantStatus

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_COLLECTION_ERROR = 3

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
    from auditor.rules import load_rule_pack  # noqa: PLC0415 - keep --help fast

    formats = _formats(args.format)
    config, lines = load_config_arg(args.config)
    tenants = select_tenants(config, args.tenant, every=args.all)
    pack = load_rule_pack(
        Path(args.rules) if args.rules else None,
        overrides=config.rules,
        overrides_lines=lines,
    )
    return _audit_and_report(
        config, tenants, pack, Path(args.output), formats, Severity(args.fail_on)
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from auditor.demo import build_demo_fleet, running_fleet  # noqa: PLC0415
    from auditor.rules import load_rule_pack  # noqa: PLC0415

    formats = _formats(args.format)
    pack = load_rule_pack()
    print("demo: starting the Okta emulator and moto's Cognito on loopback...", file=sys.stderr)
    with running_fleet() as fleet:
        build_demo_fleet(fleet)
        for tenant in fleet.tenants:
            print(f"  {tenant.tenant_id:<9} {tenant.story}", file=sys.stderr)
        config = fleet.config()
        _audit_and_report(
            config, config.tenants, pack, Path(args.output), formats, Severity.INFO,
            ephemeral_key=True,
        )
    print("demo: done. Open the HTML report in a browser; run `auditor --help` for "
          "the real thing.", file=sys.stderr)
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
    pack: RulePack,
    output: Path,
    formats: Sequence[ReportFormat],
    fail_on: Severity,
    *,
    ephemeral_key: bool = False,
) -> int:
    from auditor.audit import audit_sync, exit_code  # noqa: PLC0415
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415
    from auditor.progress import Progress  # noqa: PLC0415
    from auditor.store_paths import fingerprint_key_path  # noqa: PLC0415

    hasher = (
        SecretHasher.ephemeral()
        if ephemeral_key
        else SecretHasher.for_installation(fingerprint_key_path(config.store))
    )
    run = audit_sync(
        tenants, config.base_domain, pack, hasher,
        concurrency=config.concurrency, on_done=Progress(len(tenants)),
    )
    written = write_reports(run.report, formats, output)
    _print_summary(run.report, written)
    return exit_code(run.report, fail_on)


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
