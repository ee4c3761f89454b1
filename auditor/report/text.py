r"""Text output for a terminal: the run's short verdict and drift as lines.

Beside the JSON and HTML reporters, and like them it only renders: it returns strings
and the CLI decides where they go (the verdict to stderr, drift to stdout).

Tenant data is hostile, and a terminal obeys what it prints: an Okta ``errorSummary``
of ``"\x1b[2K\rFAKE LINE: all good"`` would erase the real line and print a lie. Every
piece of untrusted text passes through :func:`terminal_safe` before it is printed;
JSON reports keep the raw values.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from auditor.results import ResultStatus, TenantStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auditor.results import DriftEntry, RunView

ELLIPSIS = "…"
MAX_VALUE = 120  # a drift value wider than this hides the rest of the line

_STATUS_LABEL = {TenantStatus.PASS: "pass", TenantStatus.FAIL: "FAIL", TenantStatus.ERROR: "ERROR"}
_MAX_LISTED = 3


# C0 controls (newline and tab included: a value is one line), DEL, C1 controls, and the
# bidi embeddings, overrides and isolates that reorder what follows them on screen.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: object) -> str:
    """``text`` with every control or bidi character written as a visible escape."""
    return _UNSAFE.sub(_escape, str(text))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def short_value(value: object, limit: int = MAX_VALUE) -> str:
    """A value on one line: strings as they are, anything else as compact sorted JSON."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return terminal_safe(truncate(text, limit))


def format_drift(entry: DriftEntry) -> str:
    """One drift entry as a line: ``path: + added - removed`` or ``path: before -> after``."""
    if entry.added or entry.removed:
        parts = [f"+ {short_value(v)}" for v in entry.added or []]
        parts += [f"- {short_value(v)}" for v in entry.removed or []]
        return f"{terminal_safe(entry.path)}: {', '.join(parts)}"
    path = terminal_safe(entry.path)
    return f"{path}: {short_value(entry.before)} -> {short_value(entry.after)}"


def format_summary(report: RunView, written: Sequence[str]) -> str:
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
        parts = [f"{terminal_safe(r.rule_id)} ({r.severity.value})" for r in failing[:_MAX_LISTED]]
        if len(failing) > _MAX_LISTED:
            parts.append(f"+{len(failing) - _MAX_LISTED} more")
        if tenant.errors:
            first = terminal_safe(tenant.errors[0].message)
            parts.insert(0, f"{len(tenant.errors)} collection error(s): {first}")
        label, who = _STATUS_LABEL[tenant.status], terminal_safe(tenant.tenant_id)
        lines.append(f"  {label:<5} {who}: {'; '.join(parts)}")
    lines += [f"wrote {terminal_safe(path)}" for path in written]
    return "\n".join(lines)
