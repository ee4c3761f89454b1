"""What several commands need: the config and tenants they name, the rule pack, one audit.

Each turns a flag into a validated input or raises :class:`UsageError` / ``InputError``
(exit 2); :func:`audit_and_tell` runs the shared audit flow and says how it went.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.application import AuditRequest, audit_and_record
from auditor.cli.parser import ENV_CONFIG, ENV_NO_ALERTS, env
from auditor.errors import UsageError
from auditor.logs import register_config_secrets
from auditor.progress import Progress

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from auditor.config import AuditorConfig, TenantConfig
    from auditor.report import ReportFormat
    from auditor.rules import RulePack
    from auditor.waivers import Waiver
    from auditor.yamlsource import LineIndex


def load_config_arg(path: str | None) -> tuple[AuditorConfig, LineIndex]:
    """The config named by --config / AUDITOR_CONFIG, or a usage error saying how."""
    # Here, not at the top: `--help` and `rules` need no config (pydantic models of every
    # section, APScheduler, the pacing) and must start fast.
    from auditor.config import load_config_with_lines  # noqa: PLC0415
    if not path:
        raise UsageError(
            f"no config: pass --config PATH or set {ENV_CONFIG} "
            "(or run `auditor demo` to see the auditor work without one)"
        )
    config, lines = load_config_with_lines(Path(path))
    register_config_secrets(config)  # no log line may show a token, key or webhook from here on
    return config, lines


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


def pack_and_waivers(
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


def report_formats(text: str) -> list[ReportFormat]:
    """The --format list, or a usage error naming the known formats."""
    from auditor.report import parse_formats  # noqa: PLC0415 - keep --help fast

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def audit_and_tell(request: AuditRequest) -> int:
    """Run the shared audit flow with a progress bar; the verdict goes to stderr."""
    from auditor.report.text import format_summary, terminal_safe  # noqa: PLC0415

    outcome = audit_and_record(request, on_done=Progress(len(request.tenants)))
    print(format_summary(outcome.report, outcome.written), file=sys.stderr)
    if outcome.write_failure is not None:
        print(f"auditor: the reports were NOT written: {outcome.write_failure}", file=sys.stderr)
    if outcome.store_failure is not None:
        failure = terminal_safe(outcome.store_failure)
        print(f"auditor: the run was NOT recorded in the store ({failure}); "
              "drift and finding history are missing from these reports", file=sys.stderr)
    if outcome.alerts is not None:
        for line in outcome.alerts.lines():
            print(f"auditor: {line}", file=sys.stderr)
    return outcome.exit_code


_YES = {"1", "true", "yes", "on"}
_NO = {"0", "false", "no", "off"}


def alerts_off(args: argparse.Namespace) -> bool:
    """True when ``--no-alerts`` or ``AUDITOR_NO_ALERTS`` says to send nothing."""
    if getattr(args, "no_alerts", False):
        return True
    value = (env(ENV_NO_ALERTS, "0") or "0").strip().lower()
    if value not in _YES | _NO:
        raise UsageError(f"{ENV_NO_ALERTS}={value!r} is not one of 1, 0, true, false")
    return value in _YES
