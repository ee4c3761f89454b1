"""Operators on one value: equality, membership, lists as sets, regex, presence."""

from __future__ import annotations

from auditor.rules.messages import fmt, join, nearest
from auditor.rules.operators.base import (
    ERROR,
    FAIL,
    NOT_EVALUATED,
    PASS,
    Check,
    as_given,
    constant,
    register,
    typed,
    wrapped,
)
from auditor.rules.outcome import Verdict
from auditor.rules.urls import diagnose
from auditor.snapshot import Section, SectionStatus


@register("equals", expected=as_given, operand="any")
def _equals(check: Check) -> Verdict:
    """The value equals the operand."""
    got, want = check.actual, check.want
    if got == want and type(got) is type(want):
        return Verdict(PASS, f"{check.lead}is {fmt(got)}", got)
    message = f"{check.lead}is {fmt(got)}, not {fmt(want)}"
    if check.operand is not None and check.operand.source:
        message += f" from {check.operand.source}"
    if isinstance(got, str) and isinstance(want, str):
        operand = check.operand
        notes = diagnose(
            got,
            want,
            operand.template if operand else None,
            operand.template_values if operand else (),
        )
        if notes:
            message += f": {'; '.join(notes)}"
    return Verdict(FAIL, message, got)


@register("not_equals", expected=wrapped("not"), operand="any")
def _not_equals(check: Check) -> Verdict:
    """The value differs from the operand."""
    got = check.actual
    if got == check.want:
        return Verdict(FAIL, f"{check.lead}is {fmt(got)}", got)
    return Verdict(PASS, f"{check.lead}is {fmt(got)}, not {fmt(check.want)}", got)


@register("in", expected=wrapped("one of"), operand="list")
def _in(check: Check) -> Verdict:
    """The value is one of the operand's."""
    got, allowed = check.actual, check.want
    if isinstance(allowed, list) and got in allowed:
        return Verdict(PASS, f"{check.lead}is {fmt(got)}", got)
    return Verdict(FAIL, f"{check.lead}is {fmt(got)}, not one of {fmt(allowed)}", got)


@register("contains", expected=as_given, operand="scalar")
def _contains(check: Check) -> Verdict:
    """The list has the operand (a string: has it as a substring)."""
    text, want = check.actual, check.want
    if isinstance(text, str) and isinstance(want, str):
        found = want in text
        verb = "contains" if found else "does not contain"
        return Verdict(PASS if found else FAIL, f"{check.lead}{verb} {fmt(want)}", text)
    got = typed(check, list, "a list")
    if isinstance(got, Verdict):
        return got
    if want in got:
        return Verdict(PASS, f"{check.lead}has {fmt(want)}", got)
    if not got:
        return Verdict(FAIL, f"{check.lead}is empty; it must have {fmt(want)}", got)
    message = f"{check.lead}lacks {fmt(want)}{nearest(got, want, check.operand)}"
    return Verdict(FAIL, message, got)


@register("not_contains", expected=wrapped("not"), operand="scalar")
def _not_contains(check: Check) -> Verdict:
    """The list (or string) lacks the operand."""
    got, want = check.actual, check.want
    if isinstance(got, list | str) and isinstance(want, str) and want in got:
        return Verdict(FAIL, f"{check.lead}has {fmt(want)}", got)
    if isinstance(got, list) and want in got:
        return Verdict(FAIL, f"{check.lead}has {fmt(want)}", got)
    return Verdict(PASS, f"{check.lead}does not have {fmt(want)}", got)


# ------------------------------------------------------------------ lists as sets


def _collections(check: Check) -> tuple[list[object], list[object]] | Verdict:
    got = typed(check, list, "a list")
    if isinstance(got, Verdict):
        return got
    want = check.want
    if not isinstance(want, list):
        return Verdict(ERROR, f"the rule's operand {fmt(want)} is not a list", check.actual)
    return got, want


def _unique(values: list[object]) -> list[object]:
    out: list[object] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


@register("subset", expected=wrapped("only"), operand="list")
def _subset(check: Check) -> Verdict:
    """Every value is in the operand."""
    pair = _collections(check)
    if isinstance(pair, Verdict):
        return pair
    got, allowed = pair
    extra = _unique([value for value in got if value not in allowed])
    if extra:
        message = f"{check.lead}has {join(extra)}, beyond the allowed {fmt(allowed)}"
        return Verdict(FAIL, message, got)
    return Verdict(PASS, f"{check.lead}has only allowed values {fmt(got)}", got)


@register("superset", expected=as_given, operand="list")
def _superset(check: Check) -> Verdict:
    """The value has every operand value."""
    pair = _collections(check)
    if isinstance(pair, Verdict):
        return pair
    got, required = pair
    missing = _unique([value for value in required if value not in got])
    if missing:
        hints = "".join(nearest(got, value, None) for value in missing)
        return Verdict(FAIL, f"{check.lead}lacks {join(missing)}{hints}", got)
    return Verdict(PASS, f"{check.lead}has all of {fmt(required)}", got)


@register("disjoint", expected=wrapped("none of"), operand="list")
def _disjoint(check: Check) -> Verdict:
    """No value is in the operand."""
    pair = _collections(check)
    if isinstance(pair, Verdict):
        return pair
    got, banned = pair
    common = _unique([value for value in got if value in banned])
    if common:
        return Verdict(FAIL, f"{check.lead}has {join(common)}", got)
    return Verdict(PASS, f"{check.lead}has none of {fmt(banned)}", got)


# ------------------------------------------------------------------------- regex


def _pattern_view(check: Check) -> object:
    return f"matches /{check.pattern.pattern}/" if check.pattern is not None else None


@register("matches", expected=_pattern_view, operand="regex")
def _matches(check: Check) -> Verdict:
    """The string matches the regex (search)."""
    text = typed(check, str, "a string")
    if isinstance(text, Verdict):
        return text
    if check.pattern is None:  # compiled at load for this operator: cannot happen
        return Verdict(ERROR, "the rule has no regular expression", text)
    shown = f"/{check.pattern.pattern}/"
    if check.pattern.search(text):
        return Verdict(PASS, f"{check.lead}{fmt(text)} matches {shown}", text)
    return Verdict(FAIL, f"{check.lead}{fmt(text)} does not match {shown}", text)


# ---------------------------------------------------------------------- presence


def _section_verdict(check: Check, section: Section[object], *, want_present: bool) -> Verdict:
    """For exists / absent on a section: absence is a fact here, not a reason to skip."""
    status = section.status
    reason = f" ({section.reason})" if section.reason else ""
    if status is SectionStatus.ERROR:
        return Verdict(ERROR, f"{check.lead}could not be collected{reason}", "error")
    if status is SectionStatus.SKIPPED:
        return Verdict(NOT_EVALUATED, f"{check.lead}was not collected{reason}", "not collected")
    if status is SectionStatus.ABSENT:
        verdict = FAIL if want_present else PASS
        return Verdict(verdict, f"{check.lead}not found{'' if want_present else reason}", "absent")
    return Verdict(PASS if want_present else FAIL, f"{check.lead}exists", "present")


def _presence(check: Check, *, want_present: bool) -> Verdict:
    if isinstance(check.actual, Section):
        return _section_verdict(check, check.actual, want_present=want_present)
    present = check.actual is not None
    status = PASS if present == want_present else FAIL
    if not present:
        return Verdict(status, f"{check.lead}is missing", "missing")
    return Verdict(status, f"{check.lead}is {fmt(check.actual)}", check.actual)


@register("exists", expected=constant("present"), operand="none", sees_absence=True)
def _exists(check: Check) -> Verdict:
    """The value is present; on a section: it was found (absent fails)."""
    return _presence(check, want_present=True)


@register("absent", expected=constant("absent"), operand="none", sees_absence=True)
def _absent(check: Check) -> Verdict:
    """The value is missing; on a section: it was looked for and not found."""
    return _presence(check, want_present=False)


@register("not_empty", expected=constant("not empty"), operand="none")
def _not_empty(check: Check) -> Verdict:
    """A non-empty list or map."""
    got = check.actual
    if got is None:
        return Verdict(FAIL, f"{check.lead}is missing", None)
    if not isinstance(got, list | dict | str):
        return Verdict(FAIL, f"{check.lead}is {fmt(got)}, not a list", got)
    if got:
        return Verdict(PASS, f"{check.lead}has {fmt(got)}", got)
    return Verdict(FAIL, f"{check.lead}is empty", got)


@register("empty", expected=constant("empty"), operand="none")
def _empty(check: Check) -> Verdict:
    """Missing, or an empty list."""
    got = check.actual
    if got is None or (isinstance(got, list | dict | str) and not got):
        return Verdict(PASS, f"{check.lead}is empty", got)
    return Verdict(FAIL, f"{check.lead}has {fmt(got)}", got)
