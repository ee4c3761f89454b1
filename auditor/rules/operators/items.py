"""Operators over the items of a list or the entries of a mapping, with a nested ``where:``.

Each item is judged by the rule's nested condition; the verdict lists the items that
decided it, named by ``label`` (or by themselves when they are plain values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.rules.messages import fmt, plural
from auditor.rules.operators.base import (
    ERROR,
    FAIL,
    NOT_EVALUATED,
    PASS,
    Check,
    View,
    as_given,
    register,
    typed,
)
from auditor.rules.outcome import Evidence, Outcome, Verdict
from auditor.rules.paths import KeyPath, resolve

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.results import ResultStatus

_ITEMS = frozenset({"item", "label"})

Judged = list[tuple[str, Outcome]]  # each item's label and its outcome under where:


def _items(check: Check) -> list[object] | Verdict:
    return typed(check, list, "a list")


def _label(check: Check, item: object, index: int) -> str:
    if check.label is not None:
        name = fmt(resolve(item, check.label))
    elif isinstance(item, str | int | float | bool):
        name = fmt(item)
    else:
        name = f"#{index + 1}"
    return f"{check.noun} {name}"


def _evidence_view(evidence: tuple[Evidence, ...], *, expected: bool) -> object:
    if len(evidence) == 1 and evidence[0].key == "@":
        return evidence[0].expected if expected else evidence[0].actual
    return {item.key: item.expected if expected else item.actual for item in evidence}


def _judge_items(check: Check) -> tuple[Judged, object] | Verdict:
    items = _items(check)
    if isinstance(items, Verdict):
        return items
    if check.where is None:  # required at load for these operators: cannot happen
        return Verdict(ERROR, "the rule has no where: condition", None)
    judged = []
    actual: dict[str, object] = {}
    for index, item in enumerate(items):
        outcome = check.where(item)
        label = _label(check, item, index)
        judged.append((label, outcome))
        actual[label] = _evidence_view(outcome.seen, expected=False)
    if check.label is None and all(isinstance(item, str | int | float) for item in items):
        return judged, list(items)  # the items name themselves: show them as they are
    return judged, actual


def _listing(judged: Judged, status: ResultStatus) -> str:
    return "; ".join(f"{label}: {o.message}" for label, o in judged if o.status is status)


def _undecided(judged: Judged, actual: object) -> Verdict | None:
    """ERROR when an item errored, else NOT_EVALUATED when one could not be judged."""
    for status in (ERROR, NOT_EVALUATED):
        if any(outcome.status is status for _, outcome in judged):
            return Verdict(status, _listing(judged, status), actual)
    return None


def _quantified(
    check: Check,
    *,
    decisive: ResultStatus,
    then: ResultStatus,
    otherwise: Callable[[Judged], str],
) -> Verdict:
    """The verdict of a quantifier over the items (all / any / none).

    ``then``, listing the items whose outcome is ``decisive``, if any; else why an item
    could not be judged, if one could not; else the opposite verdict, saying ``otherwise``.
    """
    result = _judge_items(check)
    if isinstance(result, Verdict):
        return result
    judged, actual = result
    deciding = _listing(judged, decisive)
    if deciding:
        return Verdict(then, deciding, actual)
    undecided = _undecided(judged, actual)
    if undecided:
        return undecided
    status = PASS if then is FAIL else FAIL  # nothing decided: the opposite verdict
    return Verdict(status, otherwise(judged), actual)


def _nested_view(word: str) -> View:
    def view(check: Check) -> object:
        return {word: check.where_expected()}

    return view


@register("all_items", expected=_nested_view("each"), operand="none", nested=True, extras=_ITEMS)
def _all_items(check: Check) -> Verdict:
    """Every item of the list passes ``where:``."""

    def passed(judged: Judged) -> str:
        if not judged:
            return f"{check.lead}is empty, nothing to check"
        return f"{len(judged)} {plural(check.noun, len(judged))} checked, all pass"

    return _quantified(check, decisive=FAIL, then=FAIL, otherwise=passed)


@register("any_item", expected=_nested_view("any"), operand="none", nested=True, extras=_ITEMS)
def _any_item(check: Check) -> Verdict:
    """At least one item passes ``where:``."""

    def failed(judged: Judged) -> str:
        if not judged:
            return f"{check.lead}is empty: no {check.noun} at all"
        return f"no {check.noun} passes: {_listing(judged, FAIL)}"

    return _quantified(check, decisive=PASS, then=PASS, otherwise=failed)


@register("none_item", expected=_nested_view("none"), operand="none", nested=True, extras=_ITEMS)
def _none_item(check: Check) -> Verdict:
    """No item passes ``where:``."""

    def passed(judged: Judged) -> str:
        return f"no {check.noun} matches ({len(judged)} checked)"

    return _quantified(check, decisive=PASS, then=FAIL, otherwise=passed)


def _cover_one(check: Check, items: list[object], want: object) -> tuple[Verdict | None, object]:
    """Whether one operand value is covered: None when it is, else why not; and its view."""
    by = check.by or KeyPath("@", ())  # by: is required for covers at load
    matches = [item for item in items if check.normalize(resolve(item, by)) == want]
    if not matches:
        return Verdict(FAIL, f"no {check.noun} for {fmt(want)}"), None
    if check.where is None:
        return None, "present"
    outcomes = [check.where(item) for item in matches]
    views = [_evidence_view(outcome.seen, expected=False) for outcome in outcomes]
    view = views[0] if len(views) == 1 else views
    if any(outcome.status is PASS for outcome in outcomes):
        return None, view
    judged = [(f"{check.noun} {fmt(want)}", outcome) for outcome in outcomes]
    if any(outcome.status is FAIL for outcome in outcomes):
        return Verdict(FAIL, _listing(judged, FAIL)), view
    return _undecided(judged, None), view


def _covers_view(check: Check) -> object:
    wanted = check.want if isinstance(check.want, list) else []
    if check.where is None:
        return wanted
    inner = check.where_expected()
    return {str(want): inner for want in wanted}


@register(
    "covers",
    expected=_covers_view,
    operand="list",
    nested=True,
    where_optional=True,  # without where:, an item for each operand value is enough
    extras=frozenset({"item", "by"}),
)
def _covers(check: Check) -> Verdict:
    """Each operand value has an item whose ``by`` field equals it and that passes ``where:``."""
    items = _items(check)
    if isinstance(items, Verdict):
        return items
    wanted = check.want
    if not isinstance(wanted, list):
        return Verdict(ERROR, f"the rule's operand {fmt(wanted)} is not a list", None)
    problems: list[Verdict] = []
    actual: dict[str, object] = {}
    for want in wanted:
        problem, actual[str(want)] = _cover_one(check, items, want)
        if problem is not None:
            problems.append(problem)
    for status in (FAIL, ERROR, NOT_EVALUATED):
        found = [problem.message for problem in problems if problem.status is status]
        if found:
            return Verdict(status, "; ".join(found), actual)
    return Verdict(PASS, f"{check.lead}covers {fmt(wanted)}", actual)


@register("has_entries", expected=as_given, operand="map", extras=frozenset({"item", "at"}))
def _has_entries(check: Check) -> Verdict:
    """The mapping has each operand key with the operand's value (at ``at`` in the entry)."""
    got = typed(check, dict, "a mapping")
    if isinstance(got, Verdict):
        return got
    wanted = check.want
    if not isinstance(wanted, dict):
        return Verdict(ERROR, f"the rule's operand {fmt(wanted)} is not a mapping", None)
    field_name = f"{check.at.text} " if check.at is not None else ""
    failures: list[str] = []
    actual: dict[str, object] = {}
    for key, want in wanted.items():
        if key not in got:
            failures.append(f"no {check.noun} {fmt(key)} (expected {field_name}{fmt(want)})")
            actual[key] = None
            continue
        value = got[key]
        value = check.normalize(resolve(value, check.at) if check.at is not None else value)
        actual[key] = value
        if value != want:
            failures.append(
                f"{check.noun} {fmt(key)}: {field_name}is {fmt(value)}, not {fmt(want)}"
            )
    if failures:
        return Verdict(FAIL, "; ".join(failures), actual)
    return Verdict(PASS, f"{check.lead}has {fmt(wanted)}", actual)
