"""``report.html``: the report for people, one self-contained file.

The page is rendered by Jinja2 with autoescaping on, because almost everything in it
comes from customers' tenants (app labels, redirect URIs, mapping expressions, error
text): all of it is escaped, none of it is evaluated. The page carries its own CSS and a
small script (no external asset, works offline); a Content-Security-Policy that allows
only those two, by hash, backs the escaping up. With scripts disabled the page still
reads: the filters are hidden and every tenant remains expandable.

This module only prepares what the template shows (sorting, counting, formatting values
for reading); verdicts come from the :class:`~auditor.results.RunReport` as they are.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import auditor
from auditor.results import ResultStatus, Severity, TenantStatus

if TYPE_CHECKING:
    from auditor.results import DriftEntry, RuleResult, RunReport, TenantError, TenantReport

TEMPLATE_NAME = "report.html.j2"
CSS_NAME = "report.css"
JS_NAME = "report.js"

SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))
TOP_RULES = 10
ROTATED = "rotated"


def templates_dir() -> Path:
    """Where the report template lives: inside the installed wheel, else in the checkout."""
    package = Path(auditor.__file__).resolve().parent
    installed = package / "_data" / "reports"
    if installed.is_dir():
        return installed
    return package.parent / "reports"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        # Every template is escaped, whatever its name; `.html.j2` is named for clarity.
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class _Asset:
    """An inline stylesheet or script, with the CSP hash that allows exactly it."""

    text: str
    csp: str


@cache
def _asset(name: str) -> _Asset:
    # Our own files, shipped next to the template: trusted, inserted verbatim (`|safe`).
    text = (templates_dir() / name).read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return _Asset(text=text, csp=f"'sha256-{digest}'")


# --- formatting values for reading -------------------------------------------------------


def _needs_quotes(text: str, *, in_list: bool) -> bool:
    # Whitespace at the edges is often the finding itself ("https:// auth..."), so it
    # must be visible; inside a one-item-per-line list a newline would split the item.
    return text == "" or text != text.strip() or (in_list and "\n" in text)


def _item(value: Any, *, in_list: bool = True) -> str:  # noqa: ANN401 - any JSON value
    if isinstance(value, str):
        return (
            json.dumps(value, ensure_ascii=False)
            if _needs_quotes(value, in_list=in_list)
            else value
        )
    return json.dumps(value, ensure_ascii=False)


def format_value(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """A JSON value as plain text for people: lists one item per line, objects one key per line."""
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "\n".join(_item(item) for item in value) if value else "(empty list)"
    if isinstance(value, dict):
        if not value:
            return "(empty)"
        return "\n".join(f"{key}: {_item(item)}" for key, item in value.items())
    return _item(value, in_list=False)


def _key(value: Any) -> str:  # noqa: ANN401 - any JSON value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class DriftLine:
    """One line of a drift entry: ``kind`` is ``add``, ``del``, ``mod`` or ``rot``."""

    kind: str
    text: str


def drift_lines(entry: DriftEntry) -> list[DriftLine]:
    """A drift entry as change lines, e.g. ``redirect_uris: + https://evil.example.com/cb``."""
    leaf = entry.path.rsplit(".", 1)[-1]
    before, after = entry.before, entry.after
    if ROTATED in (before, after):
        return [DriftLine("rot", f"{leaf}: rotated")]
    if isinstance(before, list) or isinstance(after, list):
        old = before if isinstance(before, list) else ([] if before is None else [before])
        new = after if isinstance(after, list) else ([] if after is None else [after])
        old_keys = {_key(item) for item in old}
        new_keys = {_key(item) for item in new}
        lines = [DriftLine("del", f"{leaf}: - {_item(i)}") for i in old if _key(i) not in new_keys]
        lines += [DriftLine("add", f"{leaf}: + {_item(i)}") for i in new if _key(i) not in old_keys]
        return lines or [DriftLine("mod", f"{leaf}: reordered")]
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in dict.fromkeys([*before, *after]):
            if key in before and key in after and _key(before[key]) == _key(after[key]):
                continue
            if key in before:
                lines.append(DriftLine("del", f"{leaf}.{key}: - {_item(before[key])}"))
            if key in after:
                lines.append(DriftLine("add", f"{leaf}.{key}: + {_item(after[key])}"))
        return lines or [DriftLine("mod", f"{leaf}: reordered")]
    lines = []
    if before is not None:
        lines.append(DriftLine("del", f"{leaf}: - {_item(before)}"))
    if after is not None:
        lines.append(DriftLine("add", f"{leaf}: + {_item(after)}"))
    return lines or [DriftLine("mod", f"{leaf}: changed")]


# --- the view the template shows ----------------------------------------------------------


@dataclass(frozen=True)
class ResultView:
    """One non-passing result, ready to show."""

    rule_id: str
    title: str
    status: str
    severity: str
    message: str
    expected: str | None
    actual: str | None
    remediation: str | None


@dataclass(frozen=True)
class DriftView:
    """One drift entry as change lines."""

    path: str
    against: str
    lines: list[DriftLine]


@dataclass
class TenantView:
    """One tenant, with its results grouped for reading."""

    tenant_id: str
    status: str
    worst: str | None
    failing: list[ResultView] = field(default_factory=list)
    unresolved: list[ResultView] = field(default_factory=list)  # error and not_evaluated
    passed: list[str] = field(default_factory=list)
    drift: list[DriftView] = field(default_factory=list)
    errors: list[TenantError] = field(default_factory=list)
    severity_counts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def problem_rules(self) -> str:
        """Space-separated ids of the rules that did not pass (the rule filter reads it)."""
        return " ".join([r.rule_id for r in self.failing] + [r.rule_id for r in self.unresolved])


@dataclass(frozen=True)
class RuleCount:
    """How many tenants fail one rule."""

    rule_id: str
    title: str
    severity: str
    tenants: int


def _result_view(result: RuleResult) -> ResultView:
    show_values = result.expected is not None or result.actual is not None
    return ResultView(
        rule_id=result.rule_id,
        title=result.title or "",
        status=result.status.value,
        severity=result.severity.value,
        message=result.message or "",
        expected=format_value(result.expected) if show_values else None,
        actual=format_value(result.actual) if show_values else None,
        remediation=(result.remediation or "").strip("\n") or None,
    )


def _by_severity(result: RuleResult) -> int:
    return -result.severity.rank


def _tenant_view(tenant: TenantReport) -> TenantView:
    failing = sorted((r for r in tenant.results if r.status is ResultStatus.FAIL), key=_by_severity)
    unresolved = sorted(
        (r for r in tenant.results if r.status in {ResultStatus.ERROR, ResultStatus.NOT_EVALUATED}),
        # Errors before not-evaluated: an error is what made the others unknowable.
        key=lambda r: (r.status is not ResultStatus.ERROR, -r.severity.rank),
    )
    # A rule that errored hides a verdict of its own severity, so it counts as that bad.
    ranked = [
        r.severity for r in tenant.results if r.status in {ResultStatus.FAIL, ResultStatus.ERROR}
    ]
    worst = max(ranked, key=lambda s: s.rank) if ranked else None
    counts = Counter(r.severity for r in failing)
    return TenantView(
        tenant_id=tenant.tenant_id,
        status=tenant.status.value,
        worst=worst.value if worst else None,
        failing=[_result_view(r) for r in failing],
        unresolved=[_result_view(r) for r in unresolved],
        passed=[r.rule_id for r in tenant.results if r.status is ResultStatus.PASS],
        drift=[DriftView(d.path, d.against, drift_lines(d)) for d in tenant.drift],
        errors=list(tenant.errors),
        severity_counts=[(s.value, counts[s]) for s in SEVERITIES if counts[s]],
    )


_STATUS_ORDER = {
    TenantStatus.ERROR.value: 0,
    TenantStatus.FAIL.value: 1,
    TenantStatus.PASS.value: 2,
}


def _tenant_order(view: TenantView) -> tuple[int, int, int, int]:
    worst = Severity(view.worst).rank if view.worst else -1
    return (
        view.status == TenantStatus.PASS.value,
        -worst,
        _STATUS_ORDER[view.status],
        -len(view.failing),
    )


def _context(report: RunReport) -> dict[str, Any]:
    # Stable sort: tenants that compare equal keep the order the report gives them.
    tenants = sorted((_tenant_view(t) for t in report.tenants), key=_tenant_order)
    failing_by_severity: Counter[Severity] = Counter()
    unresolved = Counter[str]()
    rule_tenants: Counter[str] = Counter()
    problem_tenants: Counter[str] = Counter()
    rule_info: dict[str, tuple[str, str]] = {}
    for tenant in report.tenants:
        for result in tenant.results:
            rule_info.setdefault(result.rule_id, (result.title or "", result.severity.value))
            if result.status is ResultStatus.FAIL:
                failing_by_severity[result.severity] += 1
                rule_tenants[result.rule_id] += 1
            elif result.status is not ResultStatus.PASS:
                unresolved[result.status.value] += 1
            if result.status is not ResultStatus.PASS:
                problem_tenants[result.rule_id] += 1
    top = [
        RuleCount(rule_id, *rule_info[rule_id], tenants=count)
        for rule_id, count in sorted(rule_tenants.items(), key=lambda kv: (-kv[1], kv[0]))[
            :TOP_RULES
        ]
    ]
    css, js = _asset(CSS_NAME), _asset(JS_NAME)
    csp = (
        f"default-src 'none'; style-src {css.csp}; script-src {js.csp}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return {
        "report": report,
        "tenants": tenants,
        "failing_by_severity": [(s.value, failing_by_severity[s]) for s in SEVERITIES],
        "failing_results": sum(failing_by_severity.values()),
        "errored_results": unresolved[ResultStatus.ERROR.value],
        "not_evaluated_results": unresolved[ResultStatus.NOT_EVALUATED.value],
        "drifted_tenants": sum(1 for t in report.tenants if t.drift),
        "top_rules": top,
        "rule_options": [(rule_id, problem_tenants[rule_id]) for rule_id in sorted(rule_info)],
        "css": css.text,
        "js": js.text,
        "csp": csp,
    }


def render_html(report: RunReport) -> bytes:
    """The bytes of ``report.html``."""
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(_context(report)).encode("utf-8")
