"""The ``auditor`` command line: a thin shell over the core (see ``auditor/__init__``).

It parses flags (each with an ``AUDITOR_*`` variable, see :mod:`auditor.cli.parser`),
hands the arguments to the command's handler (one module per command group under
:mod:`auditor.cli.commands`) and maps what happened to the exit codes of CONTRACT
section 3. The audit itself runs in :mod:`auditor.application`; text output comes
from :mod:`auditor.report.text`. Nothing heavy is imported before a command runs, so
``auditor --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from auditor.cli.parser import (
    ENV_FAIL_ON,
    ENV_LOG_FORMAT,
    ENV_LOG_LEVEL,
    LOG_FORMATS,
    LOG_LEVELS,
    build_parser,
)
from auditor.errors import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    InputError,
    UnavailableError,
    UsageError,
)
from auditor.logs import setup_logging
from auditor.results import Severity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auditor.cli.parser import Handler

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``auditor`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # argparse checks `choices` on flags, not on defaults taken from the environment.
    for dest, env, allowed in (
        ("log_level", ENV_LOG_LEVEL, LOG_LEVELS),
        ("log_format", ENV_LOG_FORMAT, LOG_FORMATS),
        ("fail_on", ENV_FAIL_ON, tuple(s.value for s in Severity)),
    ):
        value = getattr(args, dest, None)
        if value is not None and value not in allowed:
            parser.error(f"{env}={os.environ.get(env)!r} is not one of {', '.join(allowed)}")
    setup_logging(args.log_level, args.log_format)
    handler: Handler = args.handler
    try:
        code = handler(args)
        sys.stdout.flush()  # inside the try: a reader that left is seen here, not at exit
    except InputError as exc:
        print(f"auditor: {_safe_lines(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"auditor: {_safe_lines(exc)}\n(see `auditor {args.command} --help`)",
              file=sys.stderr)
        return EXIT_USAGE
    except UnavailableError as exc:
        print(f"auditor: {_safe_lines(exc)}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except BrokenPipeError:
        # `auditor history ... | head`: the reader left. Say nothing more, and keep
        # Python from printing a second error while flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


def _safe_lines(exc: Exception) -> str:
    """The message with control characters escaped, keeping its own line breaks."""
    from auditor.report.text import terminal_safe  # noqa: PLC0415 - keep --help fast

    return "\n".join(terminal_safe(line) for line in str(exc).split("\n"))

