"""The command groups, one module each; a module registers its subcommands and handlers.

Each module has ``register(commands)``, which adds its subparsers and sets each one's
``handler`` beside it. Adding a group (``alerts``, ``report``) is a new module here and
one line in :data:`COMMAND_GROUPS`; ``--help`` lists the groups in this order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.cli.commands import alerts, audit, demo, memory, report, rules, schedule

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.cli.parser import Commands

COMMAND_GROUPS: tuple[Callable[[Commands], None], ...] = (
    audit.register,  # snapshot, audit
    report.register,  # report --run-group
    rules.register,  # rules list, rules validate
    memory.register,  # baseline, history, diff
    schedule.register,
    alerts.register,  # alerts test, alerts flush, alerts status
    demo.register,
)
