"""``auditor alerts test | flush | status``: check a route, drain the outbox, list it.

The audit announces by itself after every recorded run (see :mod:`auditor.alerts`);
these commands are for the on-call engineer: is the route wired (``test``), send what a
receiver outage left behind (``flush``), what is still waiting (``status``).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TYPE_CHECKING

from auditor.cli.parser import add_config_flag
from auditor.cli.shared import load_config_arg
from auditor.errors import EXIT_COLLECTION_ERROR, EXIT_OK, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.alerts import AlertsConfig
    from auditor.cli.parser import Commands
    from auditor.config import AuditorConfig
    from auditor.store import Store

EXIT_NOT_DELIVERED = EXIT_COLLECTION_ERROR  # 3: "something could not be done", as for audit

_TEST_HELP = """\
exit codes:
  0  the route's destination accepted the message
  3  it did not (the reason is on stderr; nothing is kept for later)
  2  no such route, or a bad config

example:
  auditor alerts test --config auditor.yaml --route security-oncall
"""

_FLUSH_HELP = """\
exit codes:
  0  the outbox is empty afterwards
  3  events are still undelivered (one line per route on stderr says why);
     they stay in the outbox for the next run or the next flush
  2  bad usage or config

example (after a Slack outage, or from cron):
  auditor alerts flush --config auditor.yaml
"""

_STATUS_HELP = """\
exit codes:
  0  always, once the outbox could be read (an empty list means all was delivered)
  2  bad usage or config

example:
  auditor alerts status --config auditor.yaml
"""


def _wrap(text: str) -> str:
    # The raw formatter keeps the epilogs' layout; it would not wrap descriptions either.
    return textwrap.fill(text, width=78)


def register(commands: Commands) -> None:
    """Add ``alerts`` with its ``test``, ``flush`` and ``status`` subcommands."""
    alerts = commands.add_parser(
        "alerts",
        help="check alert routes, send what is still undelivered, list it",
        description=(
            "Every recorded audit tells the config's alert routes (alerts: in the config) "
            "what changed for them. These commands check a route, deliver what an outage "
            "left in the outbox, and list what is still waiting."
        ),
        epilog=(
            "examples:\n"
            "  auditor alerts test --config auditor.yaml --route security-oncall\n"
            "  auditor alerts status --config auditor.yaml\n"
            "  auditor alerts flush --config auditor.yaml\n"
            "A run made with `auditor audit --no-alerts` (AUDITOR_NO_ALERTS=1) tells\n"
            "nobody; the next run without it announces what each route missed."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)

    test = _action(
        actions, "test", test_command,
        help="send one test message to a route",
        description=(
            "Post one message containing the word \"test\" to the route's Slack webhook "
            "or signed webhook, with the same timeouts and retries as real alerts. "
            "Nothing is recorded in the store."
        ),
        epilog=_TEST_HELP,
    )
    test.add_argument("--route", metavar="NAME", required=True, help="a route name from alerts:")
    _action(
        actions, "flush", flush_command,
        help="deliver the events still in the outbox",
        description=(
            "Deliver every event a route has not received yet (a receiver was down, "
            "answered 5xx, or the audit was stopped), oldest first, each exactly once."
        ),
        epilog=_FLUSH_HELP,
    )
    _action(
        actions, "status", status_command,
        help="list the undelivered events per route",
        description=(
            "For every route: how many events are undelivered, then one line per event "
            "(kind, tenant/rule, run, attempts and the last error). Sends nothing."
        ),
        epilog=_STATUS_HELP,
    )


def _action(  # noqa: PLR0913 - the parser's own keywords
    actions: Commands,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    help: str,  # noqa: A002 - argparse's name for it
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """One ``alerts`` action: its help, its exit-code epilog, ``--config``, its handler."""
    action = actions.add_parser(
        name,
        help=help,
        description=_wrap(description),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_flag(action)
    action.set_defaults(handler=handler)
    return action


def _alerts_of(config: AuditorConfig) -> AlertsConfig:
    if config.alerts is None:
        raise UsageError(
            "the config has no alerts: block; add one with at least one route "
            '(see the README section "Alerts")'
        )
    return config.alerts


def test_command(args: argparse.Namespace) -> int:
    """Send the route a test message: exit 0 when accepted, 3 when not."""
    from auditor.alerts import send_test_reason  # noqa: PLC0415 - keep --help fast

    config, _ = load_config_arg(args.config)
    alerts = _alerts_of(config)
    route = alerts.route(args.route)
    if route is None:
        known = ", ".join(r.name for r in alerts.routes)
        raise UsageError(f"unknown route {args.route!r} (configured: {known})")
    reason = send_test_reason(route)
    if reason is None:
        print(f"alerts: test message delivered to route {route.name} ({route.kind})")
        return EXIT_OK
    print(f"auditor: alerts: test message NOT delivered to route {route.name} ({route.kind}): "
          f"{reason}", file=sys.stderr)
    return EXIT_NOT_DELIVERED


def flush_command(args: argparse.Namespace) -> int:
    """Deliver the outbox: exit 0 when it is empty afterwards, 3 when not."""
    from auditor.alerts import flush, pending, status_lines  # noqa: PLC0415 - keep --help fast

    config, _ = load_config_arg(args.config)
    store = _open(config)
    if store is None:
        return EXIT_NOT_DELIVERED
    try:
        delivered = 0
        if config.alerts is not None:
            result = flush(store, config.alerts)
            delivered = result.delivered
            for line in result.lines():
                print(f"auditor: {line}", file=sys.stderr)
        left = pending(store, config.alerts)
    finally:
        store.close()
    print(f"alerts: {delivered} event(s) delivered")
    configured = {r.name for r in config.alerts.routes} if config.alerts else set()
    orphans = {route: entries for route, entries in left.items()
               if entries and route not in configured}
    if orphans:
        # Nowhere to send them until the route is configured again: say so, they stay.
        print(f"auditor: alerts: route(s) no longer configured still hold events: "
              f"{', '.join(sorted(orphans))}", file=sys.stderr)
        for line in status_lines(orphans):
            print(f"auditor:   {line}", file=sys.stderr)
    return EXIT_OK if not any(left.values()) else EXIT_NOT_DELIVERED


def status_command(args: argparse.Namespace) -> int:
    """List the undelivered events per route (exit 0)."""
    from auditor.alerts import pending, status_lines  # noqa: PLC0415 - keep --help fast

    config, _ = load_config_arg(args.config)
    store = _open(config)
    if store is None:
        return EXIT_NOT_DELIVERED
    try:
        by_route = pending(store, config.alerts)
    finally:
        store.close()
    if not by_route:
        print("alerts: no routes configured and nothing undelivered")
    for line in status_lines(by_route):
        print(line)
    return EXIT_OK


def _open(config: AuditorConfig) -> Store | None:
    """The config's store, or None after saying on stderr why it could not be opened."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - keep --help fast

    from auditor.redact import redact_url  # noqa: PLC0415
    from auditor.store import StoreError, open_store  # noqa: PLC0415

    try:
        return open_store(config.store)
    except (SQLAlchemyError, StoreError, OSError) as exc:
        print(f"auditor: could not open the store {redact_url(config.store)} "
              f"({type(exc).__name__})", file=sys.stderr)
        return None
