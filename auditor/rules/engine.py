"""The rule engine: compiled conditions, evaluated against one TenantSnapshot.

Evaluation is a pure function of the snapshot and the pack's parameters. It uses a
four-valued logic so that a rule can never pass on data that was not collected:

* a check whose key (or operand) crosses a section that was not collected is ``error``
  (the section errored) or ``not_evaluated`` (it is absent, or was skipped), unless the
  operator is about that very section existing (``exists`` / ``absent``);
* ``all`` fails if any part fails; otherwise it is ``error`` / ``not_evaluated`` if any
  part is; otherwise it passes. ``any`` passes if any part passes; otherwise the same
  order applies. ``not`` swaps pass and fail and keeps the other two. (Kleene's logic,
  with "unknown" split into "could not collect" and "nothing to check".)

So ``all: [{key: okta.app, op: exists}, {key: okta.app.status, op: equals, ...}]`` fails
for a deleted app (the first part fails, the second cannot be judged), and
``cognito_idp_issuer_matches`` fails on its origin check even though discovery was
skipped for an issuer that is not on the org.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from auditor.results import ResultStatus, RuleResult, Severity
from auditor.rules.messages import jsonable
from auditor.rules.operators import Check, Operator
from auditor.rules.outcome import Evidence, Outcome
from auditor.rules.paths import KeyPath, Touches, resolve
from auditor.rules.values import Context, OperandSpec, Template
from auditor.snapshot import Section, SectionStatus, TenantSnapshot

if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Mapping
    from pathlib import Path

logger = logging.getLogger(__name__)

PASS, FAIL = ResultStatus.PASS, ResultStatus.FAIL
ERROR, NOT_EVALUATED = ResultStatus.ERROR, ResultStatus.NOT_EVALUATED

# How messages name the snapshot's sections ("Okta app not found, nothing to check").
SECTION_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "okta.app": "Okta app",
        "okta.grants": "Okta API scope grants",
        "okta.default_user_type_id": "Okta default user type",
        "okta.profile_mapping": "Okta profile mapping",
        "okta.secrets": "Okta client secrets",
        "okta.assignments": "Okta app assignments",
        "okta.discovery": "OIDC discovery document",
        "cognito.idp": "Cognito identity provider",
        "cognito.app_clients": "Cognito app clients",
        "cognito.domain": "Cognito user pool domain",
    }
)

Text = Template | str  # human text that may name the tenant: {tenant}, {base_domain}...


def render_text(text: Text | None, ctx: Context) -> str | None:
    """Fill a human text's placeholders for one tenant."""
    if text is None or isinstance(text, str):
        return text
    return text.render_text(ctx)


# ------------------------------------------------------------------ compiled conditions


@dataclass(frozen=True)
class Leaf:
    """One compiled check."""

    key: KeyPath
    op: Operator
    operand: OperandSpec | None = None
    pattern: re.Pattern[str] | None = None
    name: Text | None = None
    hint: str | None = None
    normalize: tuple[str, ...] = ()
    where: Condition | None = None
    item: str | None = None
    label: KeyPath | None = None
    by: KeyPath | None = None
    at: KeyPath | None = None


@dataclass(frozen=True)
class AllOf:
    """Every part holds."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class NotOf:
    """The part does not hold."""

    part: Condition


Condition = Leaf | AllOf | AnyOf | NotOf


# ------------------------------------------------------------------------ evaluation


def _normalizer(steps: tuple[str, ...]) -> Callable[[object], object]:
    def apply(value: object, step: str) -> object:
        if isinstance(value, list):
            # A list is already split into words; trim and lower apply to each item.
            return value if step == "split" else [apply(item, step) for item in value]
        if isinstance(value, dict):
            return {key: apply(item, step) for key, item in value.items()}
        if not isinstance(value, str):
            return value
        if step == "trim":
            return value.strip()
        if step == "lower":
            return value.lower()
        return value.split()  # "split": a space-separated string becomes its words

    def normalize(value: object) -> object:
        for step in steps:
            value = apply(value, step)
        return value

    return normalize


def _section_message(touches: Touches) -> Outcome | None:
    """ERROR / NOT_EVALUATED for a check that needed uncollected sections."""
    if not touches.found:
        return None
    errors = [t for t in touches.found if t.status is SectionStatus.ERROR]
    if errors:
        parts = [
            f"{SECTION_NAMES.get(t.path, t.path)} could not be collected"
            + (f": {t.reason}" if t.reason else "")
            for t in errors
        ]
        return Outcome(ERROR, "; ".join(parts))
    parts = []
    for touch in touches.found:
        name = SECTION_NAMES.get(touch.path, touch.path)
        reason = f" ({touch.reason})" if touch.reason else ""
        if touch.status is SectionStatus.ABSENT:
            parts.append(f"{name} not found, nothing to check{reason}")
        else:
            parts.append(f"{name} was not collected{reason}")
    return Outcome(NOT_EVALUATED, "; ".join(parts))


def _check_for(leaf: Leaf, scope: object, ctx: Context, touches: Touches | None) -> Check:
    """The operator's input for ``leaf`` on ``scope`` (the snapshot, or one list item)."""
    normalize = _normalizer(leaf.normalize)
    actual = resolve(scope, leaf.key, touches, keep_section=leaf.op.sees_absence)
    operand = leaf.operand.resolve(ctx, touches) if leaf.operand is not None else None
    if operand is not None and leaf.normalize:
        operand = replace(operand, value=normalize(operand.value))
    subject = render_text(leaf.name, ctx) or ("" if leaf.key.is_self else leaf.key.text)
    where = leaf.where
    return Check(
        subject=subject,
        actual=normalize(actual) if leaf.normalize else actual,
        operand=operand,
        pattern=leaf.pattern,
        normalize=normalize,
        item=leaf.item,
        label=leaf.label,
        by=leaf.by,
        at=leaf.at,
        where=_judge(where, ctx) if where is not None else None,
        where_expected=_judge_expected(where, ctx),
    )


def _judge(where: Condition, ctx: Context) -> Callable[[object], Outcome]:
    """The nested condition as a function of one item."""

    def judge(item: object) -> Outcome:
        return evaluate(where, item, ctx, nested=True)

    return judge


def _judge_expected(where: Condition | None, ctx: Context) -> Callable[[], object]:
    """What the nested condition wants, computed only when an operator asks."""

    def view() -> object:
        return expected_view(where, ctx) if where is not None else None

    return view


def _evaluate_leaf(leaf: Leaf, scope: object, ctx: Context) -> Outcome:
    touches = Touches()
    check = _check_for(leaf, scope, ctx, touches)
    expected = leaf.op.expected(check)
    found = check.actual
    if isinstance(found, Section) and found.status is not SectionStatus.ABSENT:
        # exists / absent judge only presence; an errored or skipped section is reported
        # the same way for every check (and so only once per rule).
        touches.add(leaf.key.text, found)
    uncollected = _section_message(touches)
    if uncollected is not None:
        evidence = (Evidence(leaf.key.text, expected, None, leaf.op.name),)
        return Outcome(uncollected.status, uncollected.message, evidence, evidence)
    verdict = leaf.op.run(check)
    message = verdict.message
    if verdict.status is FAIL and leaf.hint:
        message = f"{message}: {leaf.hint}"
    evidence = (Evidence(leaf.key.text, expected, verdict.actual, leaf.op.name),)
    return Outcome(verdict.status, message, evidence, evidence)


def _combine(outcomes: list[Outcome], *, any_: bool, nested: bool) -> Outcome:
    joiner = ", " if nested else "; "
    decisive = PASS if any_ else FAIL
    order = (decisive, ERROR, NOT_EVALUATED)
    for status in order:
        chosen = [o for o in outcomes if o.status is status]
        if chosen:
            break
    else:
        status = FAIL if any_ else PASS
        chosen = outcomes
    message = joiner.join(dict.fromkeys(o.message for o in chosen if o.message))
    evidence = tuple(e for o in chosen for e in o.evidence)
    seen = tuple(e for o in outcomes for e in o.seen)
    return Outcome(status, message, evidence, seen)


def evaluate(condition: Condition, scope: object, ctx: Context, *, nested: bool = False) -> Outcome:
    """The outcome of ``condition`` on ``scope`` (the snapshot, or an item).

    Keys resolve against ``scope``; references always against the snapshot.
    """
    if isinstance(condition, Leaf):
        return _evaluate_leaf(condition, scope, ctx)
    if isinstance(condition, NotOf):
        inner = evaluate(condition.part, scope, ctx, nested=nested)
        flipped = {PASS: FAIL, FAIL: PASS}.get(inner.status, inner.status)
        evidence = tuple(
            Evidence(e.key, {"not": e.expected}, e.actual, e.op) for e in inner.evidence
        )
        return Outcome(flipped, inner.message, evidence, inner.seen)
    outcomes = [evaluate(part, scope, ctx, nested=nested) for part in condition.parts]
    return _combine(outcomes, any_=isinstance(condition, AnyOf), nested=nested)


def expected_view(condition: Condition, ctx: Context) -> object:
    """What ``condition`` wants, as JSON-able data, without looking at any item."""
    if isinstance(condition, Leaf):
        view = condition.op.expected(_check_for(condition, None, ctx, None))
        return view if condition.key.is_self else {condition.key.text: view}
    if isinstance(condition, NotOf):
        return {"not": expected_view(condition.part, ctx)}
    views = [expected_view(part, ctx) for part in condition.parts]
    if isinstance(condition, AnyOf):
        return {"any of": views}
    merged: dict[str, object] = {}
    for view in views:
        if isinstance(view, dict):
            merged.update(view)
    return merged


def _flatten(evidence: tuple[Evidence, ...]) -> tuple[object, object]:
    if not evidence:
        return None, None
    if len(evidence) == 1:
        return jsonable(evidence[0].expected), jsonable(evidence[0].actual)
    expected: dict[str, object] = {}
    actual: dict[str, object] = {}
    for item in evidence:
        key, number = item.key, 2
        if key in expected:
            key = f"{item.key} ({item.op})"
        while key in expected:
            key, number = f"{item.key} ({item.op} #{number})", number + 1
        expected[key] = jsonable(item.expected)
        actual[key] = jsonable(item.actual)
    return expected, actual


# ----------------------------------------------------------------- rules and the pack


@dataclass(frozen=True)
class Rule:
    """One rule of the pack, ready to evaluate."""

    id: str
    title: str
    severity: Severity  # effective: the file's default, or the config's override
    default_severity: Severity
    rationale: str
    remediation: str  # as written, with {tenant} / {base_domain} placeholders
    references: tuple[str, ...]
    requires: tuple[KeyPath, ...]
    condition: Condition
    source: Path
    remediation_template: Template | None = field(default=None, repr=False)

    def remediation_for(
        self, snapshot: TenantSnapshot, params: Mapping[str, object] | None = None
    ) -> str:
        """The remediation with this tenant's values ({tenant}, {base_domain}...) filled in."""
        ctx = Context(snapshot, params or {})
        return render_text(self.remediation_template, ctx) or self.remediation

    def outcome(self, ctx: Context) -> Outcome:
        """The rule's verdict for the tenant of ``ctx``."""
        touches = Touches()
        for path in self.requires:
            resolve(ctx.snapshot, path, touches)
        uncollected = _section_message(touches)
        if uncollected is not None:
            return uncollected
        return evaluate(self.condition, ctx.snapshot, ctx)

    def evaluate(self, snapshot: TenantSnapshot, params: Mapping[str, object]) -> RuleResult:
        """The rule's result for one tenant; never raises."""
        ctx = Context(snapshot, params)
        try:
            outcome = self.outcome(ctx)
        except Exception as exc:
            # Reported as ERROR, never as a pass; the traceback goes to the log.
            logger.exception("rule %s failed on tenant %s", self.id, snapshot.tenant_id)
            outcome = Outcome(ERROR, f"the rule could not be evaluated ({type(exc).__name__})")
        expected, actual = _flatten(outcome.evidence)
        return RuleResult(
            rule_id=self.id,
            status=outcome.status,
            severity=self.severity,
            message=outcome.message or None,
            expected=expected,
            actual=actual,
            remediation=self.remediation_for(snapshot, params) if outcome.status is FAIL else None,
            title=self.title,
        )


@dataclass(frozen=True)
class RulePack:
    """The loaded, validated rule pack: rules in catalog order and their parameters."""

    name: str
    version: int
    path: Path
    rules: tuple[Rule, ...]
    params: Mapping[str, object]
    description: str | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """Rule ids in catalog order."""
        return tuple(rule.id for rule in self.rules)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError if there is none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def evaluate(self, snapshot: TenantSnapshot) -> list[RuleResult]:
        """Every rule exactly once, in catalog order; never raises on odd snapshot data."""
        return [rule.evaluate(snapshot, self.params) for rule in self.rules]
