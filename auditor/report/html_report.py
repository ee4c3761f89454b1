"""``report.html``: the report for people, one self-contained file.

The page is rendered by Jinja2 with autoescaping on, because almost everything in it
comes from customers' tenants (app labels, redirect URIs, mapping expressions, error
text): all of it is escaped, none of it is evaluated. The page carries its own CSS and a
small script (no external asset, works offline); a Content-Security-Policy that allows
only those two, by hash, backs the escaping up. With scripts disabled the page still
reads: the filters are hidden and every tenant remains expandable.

With a store, the page also shows what the run remembers: a lifecycle badge on each
failing result (new, persisting since its first-seen date, regressed), the findings
resolved since the last run, drift as ``+`` / ``-`` lines since the previous run and since
the baseline, and waivers. A waived failure is set apart and greyed, never counted as
failing (tenant line, severity counts, top rules, sort order); waivers needing attention
(expired, expiring, stale) are listed once for the fleet.

This module only prepares what the template shows (sorting, counting, formatting values
for reading); verdicts come from the :class:`~auditor.results.RunReport` as they are.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import auditor
from auditor.results import ResultStatus, Severity, TenantStatus
from auditor.waivers import ANY_TENANT, SOON_DAYS

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from auditor.results import (
        DriftEntry,
        RuleResult,
        RunView,
        TenantError,
        TenantReport,
        WaiverIssue,
    )
    from auditor.store.trend import TrendPoint

TEMPLATE_NAME = "report.html.j2"
CSS_NAME = "report.css"
JS_NAME = "report.js"

SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))
TOP_RULES = 10
# Template output is gathered into chunks of about this many characters before writing.
CHUNK_CHARS = 1 << 16
ROTATED = "rotated"


def templates_dir() -> Path:
    """Where the report template lives: inside the installed wheel, else in the checkout."""
    package = Path(auditor.__file__).resolve().parent
    installed = package / "_data" / "reports"
    if installed.is_dir():
        return installed
    return package.parent / "reports"


# Characters that change how text around them reads, or do not show at all: controls (NUL,
# ESC, CR...), format characters (the bidi overrides U+202E and U+2066-2069, zero-width
# spaces and joiners), lone surrogates, and line/paragraph separators. Escaping HTML does
# not touch them; a tenant could use them to make a value read as something else.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_KEPT = frozenset("\n\t")  # layout in <pre> blocks; a newline inside a list item is quoted


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: str) -> str:
    r"""``text`` with every hidden or reordering character shown as ``\uXXXX``.

    ``"pay\N{RIGHT-TO-LEFT OVERRIDE}evil"`` reads ``pay\u202eevil`` on the page instead
    of a reversed tail; a NUL reads ``\u0000``. Newlines and tabs are kept.
    """
    if text.isprintable():  # the common case: nothing to do (and fast)
        return text
    return "".join(
        _escape_char(c)
        if c not in _KEPT and unicodedata.category(c) in _HIDDEN_CATEGORIES
        else c
        for c in text
    )


def _finalize(value: Any) -> Any:  # noqa: ANN401 - whatever a template expression yields
    # Every `{{ ... }}` passes here before autoescaping: no tenant string can reach the
    # page with a bidi override or a NUL in it, wherever the template shows it. Our own
    # CSS and JS arrive as Markup (`|safe`) and are left as they are.
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        finalize=_finalize,
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
    # must be visible; inside a one-item-per-line list a newline would split the item. A
    # hidden character is shown as \uXXXX: quoted as JSON, a literal backslash in the
    # same value reads \\, so the two can never be confused.
    return (
        text == ""
        or text != text.strip()
        or (in_list and "\n" in text)
        or visible(text) != text
    )


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


def _list_lines(leaf: str, before: Any, after: Any) -> list[DriftLine]:  # noqa: ANN401
    old = before if isinstance(before, list) else ([] if before is None else [before])
    new = after if isinstance(after, list) else ([] if after is None else [after])
    old_keys = {_key(item) for item in old}
    new_keys = {_key(item) for item in new}
    lines = [DriftLine("del", f"{leaf}: - {_item(i)}") for i in old if _key(i) not in new_keys]
    lines += [DriftLine("add", f"{leaf}: + {_item(i)}") for i in new if _key(i) not in old_keys]
    return lines or [DriftLine("mod", f"{leaf}: reordered")]


def _object_lines(leaf: str, before: dict[str, Any], after: dict[str, Any]) -> list[DriftLine]:
    lines = []
    for key in dict.fromkeys([*before, *after]):
        if key in before and key in after and _key(before[key]) == _key(after[key]):
            continue
        if key in before:
            lines.append(DriftLine("del", f"{leaf}.{key}: - {_item(before[key])}"))
        if key in after:
            lines.append(DriftLine("add", f"{leaf}.{key}: + {_item(after[key])}"))
    return lines or [DriftLine("mod", f"{leaf}: reordered")]


def drift_lines(entry: DriftEntry) -> list[DriftLine]:
    """A drift entry as change lines, e.g. ``redirect_uris: + https://evil.example.com/cb``.

    A changed secret (``"rotated"`` on both sides) reads ``rotated``, never a value. A
    list diffed as a set says what was removed (``-``) and added (``+``): from the entry's
    ``added`` / ``removed`` when the differ gave them, else by comparing the two sides.
    """
    leaf = entry.path.rsplit(".", 1)[-1]
    before, after = entry.before, entry.after
    if before == ROTATED and after == ROTATED:
        return [DriftLine("rot", f"{leaf}: rotated")]
    if entry.added or entry.removed:
        lines = [DriftLine("del", f"{leaf}: - {_item(i)}") for i in entry.removed or []]
        lines += [DriftLine("add", f"{leaf}: + {_item(i)}") for i in entry.added or []]
        return lines
    if isinstance(before, list) or isinstance(after, list):
        return _list_lines(leaf, before, after)
    if isinstance(before, dict) and isinstance(after, dict):
        return _object_lines(leaf, before, after)
    lines = []
    if before is not None:
        lines.append(DriftLine("del", f"{leaf}: - {_item(before)}"))
    if after is not None:
        lines.append(DriftLine("add", f"{leaf}: + {_item(after)}"))
    return lines or [DriftLine("mod", f"{leaf}: changed")]


# --- the view the template shows ----------------------------------------------------------


def _day(timestamp: str | None) -> str | None:
    """The date part of an RFC 3339 timestamp (``2025-01-01``), for reading."""
    return timestamp[:10] if timestamp else None


@dataclass(frozen=True)
class LifecycleView:
    """A failing result's lifecycle badge: ``kind`` for the style, ``text`` to read.

    ``hint`` (shown on hover) is only set where the text leaves something out: when a
    regressed finding was first seen. Failing results are always last seen in this run.
    """

    kind: str
    text: str
    hint: str | None = None


def _lifecycle_view(result: RuleResult) -> LifecycleView | None:
    first = _day(result.first_seen)
    match result.lifecycle:
        case "persisting" if first:
            return LifecycleView("persisting", f"persisting since {first}")
        case "regressed" if first:
            return LifecycleView("regressed", "regressed", f"failing again; first seen {first}")
        case "new" | "persisting" | "regressed":
            return LifecycleView(result.lifecycle, result.lifecycle)
        case _:
            return None  # none, or resolved: a passing result, listed apart


@dataclass(frozen=True)
class WaiverView:
    """The waiver that covers a failing result, ready to show."""

    reason: str
    owner: str
    expires: str
    soon: bool


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
    lifecycle: LifecycleView | None = None
    waiver: WaiverView | None = None


@dataclass(frozen=True)
class ResolvedView:
    """A finding that failed in an earlier run and passes in this one."""

    rule_id: str
    title: str
    severity: str
    failed: str | None  # when it failed, for reading: "from 2024-12-01 to 2024-12-31"


def _failed_span(result: RuleResult) -> str | None:
    first, last = _day(result.first_seen), _day(result.last_seen)
    if first and last and first != last:
        return f"failed from {first} to {last}"
    if first or last:
        return f"failed on {first or last}"
    return None


@dataclass(frozen=True)
class DriftView:
    """One drift entry as change lines."""

    path: str
    against: str
    lines: list[DriftLine]


DRIFT_BASES: tuple[tuple[str, str], ...] = (
    ("previous", "since previous run"),
    ("baseline", "since baseline"),
)


@dataclass(frozen=True)
class DriftGroup:
    """A tenant's drift entries against one basis (previous run or approved baseline)."""

    against: str
    label: str
    entries: list[DriftView]


TREND_SLOTS = 30  # as many runs as the store's trend query returns by default
# A run is a vertical stroke (its width, colour and the strip's size and background are
# in report.css): "M8 9v7" per run keeps the strip under 400 bytes a tenant.
_STEP, _HEIGHT, _PASS_HEIGHT = 6, 16, 7
_TREND_ORDER = ("pass", "fail", "error")


@dataclass(frozen=True)
class TrendView:
    """A tenant's last runs as an inline SVG strip: one bar a run, newest on the right.

    ``paths`` holds one SVG path per status (``pass`` short, ``fail`` and ``error``
    full height); ``label`` says it in words (the SVG's title, for hover and readers).
    """

    width: int
    height: int
    paths: list[tuple[str, str]]
    label: str


def trend_view(points: Sequence[TrendPoint], slots: int = TREND_SLOTS) -> TrendView | None:
    """The strip for ``points`` (oldest first; only the last ``slots`` show), or None."""
    shown = list(points)[-slots:]
    if not shown:
        return None
    bars: dict[str, list[str]] = {}
    for i, point in enumerate(shown):
        status = TenantStatus(point.status).value
        x = (slots - len(shown) + i) * _STEP + 2  # the stroke's centre line
        height = _PASS_HEIGHT if status == "pass" else _HEIGHT
        bars.setdefault(status, []).append(f"M{x} {_HEIGHT - height}v{height}")
    tally = ", ".join(f"{len(bars[s])} {s}" for s in _TREND_ORDER if s in bars)
    first, last = shown[0].started_at, shown[-1].started_at
    runs = "run" if len(shown) == 1 else f"{len(shown)} runs"
    span = f"{first:%Y-%m-%d}"
    if first.date() != last.date():
        span += f" to {last:%Y-%m-%d}"
    return TrendView(
        width=slots * _STEP - 2,
        height=_HEIGHT,
        paths=[(s, "".join(bars[s])) for s in _TREND_ORDER if s in bars],
        label=f"Last {runs} ({span}, newest on the right): {tally}",
    )


@dataclass
class TenantView:
    """One tenant, with its results grouped for reading."""

    tenant_id: str
    status: str
    worst: str | None
    failing: list[ResultView] = field(default_factory=list)  # fail, not waived: they count
    waived: list[ResultView] = field(default_factory=list)  # fail, covered by a waiver
    unresolved: list[ResultView] = field(default_factory=list)  # error and not_evaluated
    passed: list[str] = field(default_factory=list)
    resolved: list[ResolvedView] = field(default_factory=list)
    drift: list[DriftGroup] = field(default_factory=list)
    drifted: int = 0  # changed fields, each counted once whatever it is compared against
    errors: list[TenantError] = field(default_factory=list)
    severity_counts: list[tuple[str, int]] = field(default_factory=list)
    trend: TrendView | None = None

    @property
    def problem_rules(self) -> str:
        """Space-separated ids of the rules that did not pass (the rule filter reads it)."""
        ids = [r.rule_id for r in (*self.failing, *self.waived, *self.unresolved)]
        return " ".join(ids)


@dataclass(frozen=True)
class RuleCount:
    """How many tenants fail one rule."""

    rule_id: str
    title: str
    severity: str
    tenants: int


ISSUE_ORDER = {"expired": 0, "expiring": 1, "stale": 2}
ISSUE_TEXT = {
    "expired": "no longer applies: the failures it covered count again",
    "expiring": f"expires within {SOON_DAYS} days: renew it or fix the finding",
    "stale": "matches no failing result: remove it",
}


@dataclass(frozen=True)
class IssueView:
    """A waiver that needs attention, ready to show."""

    problem: str
    tenant: str
    rule: str
    subject: str | None
    owner: str
    expires: str


def _issue_view(issue: WaiverIssue) -> IssueView:
    return IssueView(
        problem=issue.problem,
        tenant="all tenants" if issue.tenant == ANY_TENANT else issue.tenant,
        rule=issue.rule,
        subject=issue.subject,
        owner=issue.owner,
        expires=issue.expires,
    )


def _result_view(result: RuleResult) -> ResultView:
    show_values = result.expected is not None or result.actual is not None
    note = result.waiver
    return ResultView(
        rule_id=result.rule_id,
        title=result.title or "",
        status=result.status.value,
        severity=result.severity.value,
        message=result.message or "",
        expected=format_value(result.expected) if show_values else None,
        actual=format_value(result.actual) if show_values else None,
        remediation=(result.remediation or "").strip("\n") or None,
        lifecycle=_lifecycle_view(result),
        waiver=(
            WaiverView(note.reason, note.owner, note.expires, note.expiring_soon)
            if note is not None
            else None
        ),
    )


def _by_severity(result: RuleResult) -> int:
    return -result.severity.rank


def _drift_groups(entries: list[DriftEntry]) -> list[DriftGroup]:
    groups = []
    for against, label in DRIFT_BASES:
        views = [
            DriftView(d.path, d.against, drift_lines(d)) for d in entries if d.against == against
        ]
        if views:
            groups.append(DriftGroup(against, label, views))
    return groups


def _tenant_view(tenant: TenantReport, trend: Sequence[TrendPoint] = ()) -> TenantView:
    fails = sorted((r for r in tenant.results if r.status is ResultStatus.FAIL), key=_by_severity)
    failing = [r for r in fails if r.counts]
    waived = [r for r in fails if not r.counts]
    unresolved = sorted(
        (r for r in tenant.results if r.status in {ResultStatus.ERROR, ResultStatus.NOT_EVALUATED}),
        # Errors before not-evaluated: an error is what made the others unknowable.
        key=lambda r: (r.status is not ResultStatus.ERROR, -r.severity.rank),
    )
    # A rule that errored hides a verdict of its own severity, so it counts as that bad;
    # a waived failure is an accepted risk and does not make the tenant look worse.
    ranked = [r.severity for r in failing] + [
        r.severity for r in unresolved if r.status is ResultStatus.ERROR
    ]
    worst = max(ranked, key=lambda s: s.rank) if ranked else None
    counts = Counter(r.severity for r in failing)
    passed = [r for r in tenant.results if r.status is ResultStatus.PASS]
    return TenantView(
        tenant_id=tenant.tenant_id,
        status=tenant.status.value,
        worst=worst.value if worst else None,
        failing=[_result_view(r) for r in failing],
        waived=[_result_view(r) for r in waived],
        unresolved=[_result_view(r) for r in unresolved],
        passed=[r.rule_id for r in passed],
        resolved=[
            ResolvedView(r.rule_id, r.title or "", r.severity.value, _failed_span(r))
            for r in sorted(passed, key=_by_severity)
            if r.lifecycle == "resolved"
        ],
        drift=_drift_groups(tenant.drift),
        # A change shows against the previous run and again against the baseline: it is
        # one changed field, counted once (issue 11 item 2).
        drifted=len({d.path for d in tenant.drift}),
        errors=list(tenant.errors),
        severity_counts=[(s.value, counts[s]) for s in SEVERITIES if counts[s]],
        trend=trend_view(trend),
    )


_STATUS_ORDER = {
    TenantStatus.ERROR.value: 0,
    TenantStatus.FAIL.value: 1,
    TenantStatus.PASS.value: 2,
}


def _report_order(tenant: TenantReport) -> tuple[int, int, int, int]:
    """Where the tenant goes on the page: passing last, then by its worst problem.

    Worst problem: the highest severity among its failures that count and its rules
    that errored (an error hides a verdict of its own severity); then error before
    fail, then more failures first. Computed from the report, not from the tenant's
    view, so the views can be built one at a time as the template reaches them.
    """
    failing = [r for r in tenant.results if r.counts]
    ranked = [r.severity.rank for r in failing] + [
        r.severity.rank for r in tenant.results if r.status is ResultStatus.ERROR
    ]
    return (
        tenant.status is TenantStatus.PASS,
        -max(ranked, default=-1),
        _STATUS_ORDER[tenant.status.value],
        -len(failing),
    )


def _tenant_views(
    report: RunView, trends: Mapping[str, Sequence[TrendPoint]]
) -> Iterator[TenantView]:
    """The tenants' views, worst first, each built when the template asks for it."""
    # Stable sort: tenants that compare equal keep the order the report gives them.
    order = sorted(range(len(report.tenants)), key=lambda i: _report_order(report.tenants[i]))
    for index in order:
        tenant = report.tenants[index]
        yield _tenant_view(tenant, trends.get(tenant.tenant_id, ()))


def _seconds_between(started_at: str, finished_at: str) -> float | None:
    try:
        return (
            datetime.fromisoformat(finished_at) - datetime.fromisoformat(started_at)
        ).total_seconds()
    except (ValueError, TypeError):
        return None  # an unreadable or zone-less time: show the two times only


def run_duration(started_at: str, finished_at: str) -> str | None:
    """How long the run took, for reading: ``0.42 s``, ``12 s``, ``4 min 3 s``, ``1 h 2 min``."""
    seconds = _seconds_between(started_at, finished_at)
    if seconds is None or seconds < 0:
        return None
    if seconds < 10:
        return f"{seconds:.3g} s"  # 0.42 s, 9 s, 1.23 s
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


TRIGGER_LABELS = {"manual": "manual run", "schedule": "scheduled run", "demo": "demo run"}


def _context(
    report: RunView, trends: Mapping[str, Sequence[TrendPoint]] | None = None
) -> dict[str, Any]:
    trends = trends or {}
    tenants = _tenant_views(report, trends)
    failing_by_severity: Counter[Severity] = Counter()
    unresolved = Counter[str]()
    lifecycles = Counter[str]()
    waived_results = 0
    rule_tenants: Counter[str] = Counter()
    problem_tenants: Counter[str] = Counter()
    rule_info: dict[str, tuple[str, str]] = {}
    for tenant in report.tenants:
        for result in tenant.results:
            rule_info.setdefault(result.rule_id, (result.title or "", result.severity.value))
            if result.lifecycle is not None:
                lifecycles[result.lifecycle] += 1
            if result.counts:
                failing_by_severity[result.severity] += 1
                rule_tenants[result.rule_id] += 1
            elif result.status is ResultStatus.FAIL:
                waived_results += 1
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
    issues = sorted((_issue_view(i) for i in report.waivers), key=lambda i: ISSUE_ORDER[i.problem])
    issue_counts = Counter(i.problem for i in issues)
    css, js = _asset(CSS_NAME), _asset(JS_NAME)
    csp = (
        f"default-src 'none'; style-src {css.csp}; script-src {js.csp}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return {
        "report": report,
        "trigger": TRIGGER_LABELS.get(report.run.trigger, f"{report.run.trigger} run"),
        "took": run_duration(report.run.started_at, report.run.finished_at),
        "tenants": tenants,
        "failing_by_severity": [(s.value, failing_by_severity[s]) for s in SEVERITIES],
        "failing_results": sum(failing_by_severity.values()),
        "waived_results": waived_results,
        "errored_results": unresolved[ResultStatus.ERROR.value],
        "not_evaluated_results": unresolved[ResultStatus.NOT_EVALUATED.value],
        "drifted_tenants": sum(1 for t in report.tenants if t.drift),
        "lifecycle_counts": [(k, lifecycles[k]) for k in ("new", "regressed", "resolved")],
        "tracked": bool(lifecycles),
        "top_rules": top,
        "rule_options": [(rule_id, problem_tenants[rule_id]) for rule_id in sorted(rule_info)],
        "waiver_issues": issues,
        "issue_counts": [
            (p, issue_counts[p], ISSUE_TEXT[p]) for p in ISSUE_ORDER if issue_counts[p]
        ],
        "css": css.text,
        "js": js.text,
        "csp": csp,
    }


def render_html(
    report: RunView, *, trends: Mapping[str, Sequence[TrendPoint]] | None = None
) -> bytes:
    """The bytes of ``report.html``.

    ``trends`` (from :func:`auditor.store.tenant_trends`) maps tenant ids to their last
    runs, oldest first; each tenant with a trend shows it as a strip. Without it (no
    store) the page renders as before.
    """
    return b"".join(html_chunks(report, trends=trends))


def html_chunks(
    report: RunView, *, trends: Mapping[str, Sequence[TrendPoint]] | None = None
) -> Iterator[bytes]:
    """``report.html`` as UTF-8 chunks, rendered as they are read (Jinja's ``generate``).

    Each tenant's view is built when the template reaches it and dropped after, so the
    page is never held whole; the bytes are those of :func:`render_html`.
    """
    template = _environment().get_template(TEMPLATE_NAME)
    pending: list[str] = []
    size = 0
    for piece in template.generate(_context(report, trends)):
        pending.append(piece)
        size += len(piece)
        if size >= CHUNK_CHARS:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    yield "".join(pending).encode("utf-8")
