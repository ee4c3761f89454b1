"""Text output for a terminal: the run's short verdict and drift as lines.

Beside the JSON and HTML reporters, and like them it only renders: it returns strings
and the CLI decides where they go (the verdict to stderr, drift to stdout).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from auditor.results import ResultStatus, TenantStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auditor.results import DriftEntry, RunReport

ELLIPSIS = "…"
MAX_VALUE = 120  # a drift value wider than this hides the rest of the line

_STATUS_LABEL = {TenantStatus.PASS: "pass", TenantStatus.FAIL: "FAIL", TenantStatus.ERROR: "ERROR"}
_MAX_LISTED = 3


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def short_value(value: object, limit: int = MAX_VALUE) -> str:
    """A value on one line: strings as they are, anything else as compact sorted JSON."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return truncate(text, limit)


def format_drift(entry: DriftEntry) -> str:
    """One drift entry as a line: ``path: + added - removed`` or ``path: before -> after``."""
    if entry.added or entry.removed:
        parts = [f"+ {v}" for v in entry.added or []] + [f"- {v}" for v in entry.removed or []]
        return f"{entry.path}: {', '.join(parts)}"
    return f"{entry.path}: {short_value(entry.before)} -> {short_value(entry.after)}"


def format_summary(report: RunReport, written: Sequence[str]) -> str:
    """A short verdict: counts, each failing or errored tenant in a line, the files written."""
    s = report.summary
    counts = f"{s.passed} passed, {s.failed} failed, {s.errored} errored"
    lines = [f"audited {s.tenants} tenant(s): {counts}"]
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
        lines.append(f"  {_STATUS_LABEL[tenant.status]:<5} {tenant.tenant_id}: {'; '.join(parts)}")
    lines += [f"wrote {path}" for path in written]
    return "\n".join(lines)
