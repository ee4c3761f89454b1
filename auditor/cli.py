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
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from auditor import __version__
from auditor.config import AuditorConfig, TenantConfig, load_config
from auditor.errors import InputError, UsageError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_COLLECTION_ERROR = 3

ENV_CONFIG = "AUDITOR_CONFIG"
ENV_LOG_LEVEL = "AUDITOR_LOG_LEVEL"
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
    return parser


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
    if args.command == "snapshot":
        return _cmd_snapshot(args)
    raise UsageError(f"unknown command {args.command!r}")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # boto's and aiohttp's debug output includes request headers: never below warning.
    for noisy in ("botocore", "boto3", "urllib3", "aiohttp", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def load_config_arg(path: str | None) -> AuditorConfig:
    """The config named by --config / AUDITOR_CONFIG, or a usage error saying how."""
    if not path:
        raise UsageError(
            f"no config: pass --config PATH or set {ENV_CONFIG} "
            "(or run `auditor demo` to see the auditor work without one)"
        )
    return load_config(Path(path))


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

    config = load_config_arg(args.config)
    (tenant,) = select_tenants(config, [args.tenant], every=False)
    hasher = SecretHasher.for_installation(fingerprint_key_path(config.store))
    snapshot = asyncio.run(collect_tenant(tenant, config.base_domain, hasher))
    print(snapshot.to_json())
    return EXIT_COLLECTION_ERROR if snapshot.has_errors else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
