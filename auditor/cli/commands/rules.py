"""``auditor rules list`` and ``auditor rules validate``: the rule pack without an audit."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import EXIT_OK

if TYPE_CHECKING:
    import argparse

    from auditor.cli.parser import Commands


def register(commands: Commands) -> None:
    """Add ``rules`` with its two actions."""
    rules = commands.add_parser(
        "rules",
        help="list or validate a rule pack",
        description="Show the rule catalog, or check a rule pack without auditing anything.",
    )
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    rules_list = actions.add_parser(
        "list", help="the rules: id, severity, title", description="List the rule catalog."
    )
    rules_list.add_argument("--rules", metavar="DIR", help="a rule pack directory")
    rules_list.add_argument("--verbose", "-v", action="store_true",
                            help="also print each rule's rationale and references")
    rules_list.set_defaults(handler=list_command)

    rules_validate = actions.add_parser(
        "validate",
        help="check a rule pack; exit 2 naming file and line on the first problem",
        description="Load and validate every rule file; nothing is audited.",
    )
    rules_validate.add_argument(
        "path", nargs="?", metavar="PATH", help="rule pack directory (default: the built-in)"
    )
    rules_validate.set_defaults(handler=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    """Load the pack; a problem raises InputError (exit 2 with file and line)."""
    from auditor.rules import load_rule_pack  # noqa: PLC0415 - keep --help fast

    pack = load_rule_pack(Path(args.path) if args.path else None)
    print(f"{pack.path}: rule pack {pack.name!r} v{pack.version} is valid "
          f"({len(pack.rules)} rules)")
    return EXIT_OK


def list_command(args: argparse.Namespace) -> int:
    """The catalog: id, severity and title per rule (with --verbose, why and where from)."""
    from auditor.report.text import terminal_safe as safe  # noqa: PLC0415
    from auditor.rules import default_rules_dir, load_rule_pack  # noqa: PLC0415

    pack = load_rule_pack(Path(args.rules) if args.rules else None)
    width = max(len(rule.id) for rule in pack.rules)
    source = "built-in" if pack.path == default_rules_dir() else safe(pack.path)
    print(f"{safe(pack.name)} v{pack.version} ({source}), {len(pack.rules)} rules:")
    for rule in pack.rules:
        print(f"  {rule.id:<{width}}  {rule.severity.value:<8}  {safe(rule.title)}")
        if args.verbose:
            print(textwrap.indent(textwrap.fill(safe(rule.rationale), 88), " " * 6))
            for ref in rule.references:
                print(f"      - {safe(ref)}")
    return EXIT_OK
