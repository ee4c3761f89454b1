"""The argparse tree: global flags, the shared flag helpers, environment-variable defaults.

Each command group adds its own subcommands (see :mod:`auditor.cli.commands`); this
module holds only what they share, so a flag means the same thing in every command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from auditor import __version__
from auditor.errors import EXIT_USAGE

if TYPE_CHECKING:
    # argparse's own name for what ``add_subparsers`` returns (typeshed makes it generic).
    Commands = argparse._SubParsersAction["_Parser"]  # noqa: SLF001

Handler = Callable[[argparse.Namespace], int]
"""What a command runs: the parsed arguments in, the exit code out."""

ENV_CONFIG = "AUDITOR_CONFIG"
ENV_FORMAT = "AUDITOR_FORMAT"
ENV_OUTPUT = "AUDITOR_OUTPUT"
ENV_FAIL_ON = "AUDITOR_FAIL_ON"
ENV_LOG_LEVEL = "AUDITOR_LOG_LEVEL"
ENV_NO_ALERTS = "AUDITOR_NO_ALERTS"
ENV_LOG_FORMAT = "AUDITOR_LOG_FORMAT"
ENV_METRICS_FILE = "AUDITOR_METRICS_FILE"
ENV_LISTEN = "AUDITOR_LISTEN"
DEFAULT_OUTPUT = "reports-out"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "console")  # auditor.logs.LOG_FORMATS, without importing structlog

EPILOG = """\
exit codes:
  0  no failing result at or above --fail-on
  1  failing results
  2  bad usage, config, rule pack or waiver file (nothing audited)
  3  at least one tenant could not be fully audited (collection error),
     or the run could not be recorded

These flags have an environment variable: AUDITOR_CONFIG, AUDITOR_FORMAT,
AUDITOR_OUTPUT, AUDITOR_FAIL_ON, AUDITOR_LOG_LEVEL, AUDITOR_LOG_FORMAT, AUDITOR_NO_ALERTS,
AUDITOR_METRICS_FILE, AUDITOR_LISTEN, AUDITOR_SHARD, AUDITOR_RUN_GROUP.
A flag beats its variable.
Try `auditor demo` first: it audits built-in emulated tenants, no credentials needed.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with a hint to --help (argparse already does 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full command tree; every command's --help explains itself."""
    # The command modules import this module's helpers, so the registry is read here.
    from auditor.cli.commands import COMMAND_GROUPS  # noqa: PLC0415

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
        default=(env(ENV_LOG_LEVEL, "warning") or "warning").lower(),
        help=f"how much to log on stderr (env {ENV_LOG_LEVEL}; default warning)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        type=str.lower,
        default=(env(ENV_LOG_FORMAT, "auto") or "auto").lower(),
        help=(
            "log lines on stderr: json (one object a line), console (for people) or auto: "
            f"json unless stderr is a terminal (env {ENV_LOG_FORMAT}; default auto)"
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMAND_GROUPS:
        register(commands)
    _accept_common_flags_everywhere(parser)
    return parser


def _accept_common_flags_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` after the command too (``auditor audit --all --log-level debug``).

    Each (sub)command gets its own copy with ``SUPPRESS`` as default: given there, it wins;
    absent, the top-level value (flag, variable or default) stays in the namespace.
    """
    for action in parser._actions:  # noqa: SLF001 - argparse exposes no walker
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                sub.add_argument(
                    "--log-level",
                    choices=LOG_LEVELS,
                    type=str.lower,
                    default=argparse.SUPPRESS,
                    help=f"how much to log on stderr (env {ENV_LOG_LEVEL}; default warning)",
                )
                _accept_common_flags_everywhere(sub)


def env(name: str, default: str | None = None) -> str | None:
    """The variable's value; unset and empty both mean ``default``."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    """``--config PATH`` (env AUDITOR_CONFIG)."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=env(ENV_CONFIG),
        help=f"the YAML config file (env {ENV_CONFIG})",
    )


def add_tenant_flags(parser: argparse.ArgumentParser, *, allow_all: bool = True) -> None:
    """``--tenant ID`` (repeatable) or ``--all``: one of them is required."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--tenant",
        metavar="ID",
        action="append",
        help="a tenant id from the config (repeatable)",
    )
    if allow_all:
        group.add_argument("--all", action="store_true", help="every tenant in the config")


def add_fail_on_flag(parser: argparse.ArgumentParser) -> None:
    """``--fail-on SEVERITY``: the lowest severity that makes the exit code 1."""
    from auditor.results import Severity  # noqa: PLC0415 - pydantic, only when building

    parser.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        type=str.lower,
        choices=[s.value for s in Severity],
        default=(env(ENV_FAIL_ON, "low") or "low").lower(),
        help=f"lowest severity that makes the exit code 1: critical, high, medium, low, "
        f"info (env {ENV_FAIL_ON}; default low)",
    )


def add_report_flags(parser: argparse.ArgumentParser) -> None:
    """``--format LIST`` and ``--output DIR`` (env AUDITOR_FORMAT, AUDITOR_OUTPUT)."""
    parser.add_argument(
        "--format",
        metavar="LIST",
        default=env(ENV_FORMAT, "json,html"),
        help=f"reports to write, comma-separated: json, html (env {ENV_FORMAT}; default both)",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        default=env(ENV_OUTPUT, DEFAULT_OUTPUT),
        help=f"where reports go (env {ENV_OUTPUT}; default {DEFAULT_OUTPUT}/)",
    )


def add_no_alerts_flag(parser: argparse.ArgumentParser) -> None:
    """``--no-alerts`` (env AUDITOR_NO_ALERTS=1): record the run, tell no alert route.

    The variable is read by :func:`auditor.cli.shared.alerts_off` when the command runs,
    so a bad value is a usage error of that command rather than of ``--help``.
    """
    parser.add_argument(
        "--no-alerts",
        action="store_true",
        help=f"record the run but send no alert; the next run without it tells each route "
        f"what it missed (env {ENV_NO_ALERTS}=1)",
    )


ENV_SHARD = "AUDITOR_SHARD"
ENV_RUN_GROUP = "AUDITOR_RUN_GROUP"


def add_run_group_flag(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--run-group ID`` (env AUDITOR_RUN_GROUP): the fleet run a shard belongs to."""
    default = env(ENV_RUN_GROUP)
    parser.add_argument(
        "--run-group",
        metavar="ID",
        default=default,
        required=required and default is None,
        help="the sharded run this belongs to: letters, digits, '.', '_', '-', e.g. "
        f"nightly-20261127 (env {ENV_RUN_GROUP})",
    )
