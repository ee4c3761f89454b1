"""The one table of operators (Cloud Custodian's ``OPERATORS``, with explanations).

Every check in every rule is ``key`` + ``op`` + operand. An operator gets the value at
``key`` and the resolved operand, and returns a verdict with a sentence that says what it
found: rules carry no code, so messages are made here, generically, from the values.

Operators never raise on odd data: a value of the wrong shape fails with a message that
says so. Secrets are compared only by ``digest_equals`` / ``digest_in``, which look at
``SecretRef.sha256`` and never put a digest (or anything derived from it) in a message,
an expected value or an actual value.
"""

from __future__ import annotations

import difflib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import BaseModel

from auditor.results import ResultStatus
from auditor.rules.outcome import Evidence, Outcome, Verdict
from auditor.rules.paths import KeyPath, resolve
from auditor.rules.urls import diagnose, host_within, origin, origin_difference, origin_text
from auditor.snapshot import SecretRef, Section, SectionStatus

if TYPE_CHECKING:
    from auditor.rules.values import Operand

_T = TypeVar("_T")

PASS, FAIL = ResultStatus.PASS, ResultStatus.FAIL
ERROR, NOT_EVALUATED = ResultStatus.ERROR, ResultStatus.NOT_EVALUATED

# What an operator accepts as operand (checked on literals when the rule is loaded).
OperandKind = Literal["none", "any", "scalar", "list", "map", "text", "text_or_list", "regex"]


@dataclass(frozen=True)
class Check:
    """Everything an operator may look at for one evaluation."""

    subject: str  # how messages name the value: the key path, or a rule-given name
    actual: object
    operand: Operand | None = None
    pattern: re.Pattern[str] | None = None
    normalize: Callable[[object], object] = lambda value: value
    item: str | None = None  # noun for list items and map entries ("grant")
    label: KeyPath | None = None  # names an item in messages (relative to the item)
    by: KeyPath | None = None  # covers: the item field matched against the operand
    at: KeyPath | None = None  # has_entries: the field compared inside each entry
    where: Callable[[object], Outcome] | None = None  # the nested condition, on one item
    where_expected: Callable[[], object] = lambda: None

    @property
    def want(self) -> object:
        """The operand's value."""
        return self.operand.value if self.operand is not None else None

    @property
    def lead(self) -> str:
        """The subject followed by a space, or nothing for the item itself (``@``)."""
        return f"{self.subject} " if self.subject else ""

    @property
    def noun(self) -> str:
        """What one list item or map entry is called."""
        if self.item:
            return self.item
        return f"item of {self.subject}" if self.subject else "item"


@dataclass(frozen=True)
class Operator:
    """One entry of the table."""

    name: str
    run: Callable[[Check], Verdict]
    expected: Callable[[Check], object]
    operand: OperandKind
    doc: str
    nested: bool = False  # takes a ``where:`` condition applied to each item
    sees_absence: bool = False  # may look at an uncollected section at the end of its key
    extras: frozenset[str] = field(default_factory=frozenset)  # by / at / label / item


# ----------------------------------------------------------------------- formatting

_PLAIN = re.compile(r"^[^\s\"'\[\]{},]+$")


def fmt(value: object) -> str:  # noqa: PLR0911 - one return per kind of value
    """A value inside a sentence: plain tokens bare, anything with spaces quoted."""
    if value is None:
        return "missing"
    if isinstance(value, SecretRef):
        return "<masked secret>" if value.masked else "<secret>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if _PLAIN.match(value) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(fmt(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {fmt(item)}" for key, item in value.items()) + "}"
    if isinstance(value, Section):
        return f"<{value.status.value} section>"
    if isinstance(value, BaseModel):
        return f"<{type(value).__name__}>"
    return str(value)


def jsonable(value: object) -> object:  # noqa: PLR0911 - one return per kind of value
    """JSON data for expected/actual; secrets become placeholders, never their digests."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, SecretRef):
        return "<masked secret>" if value.masked else "<secret>"
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Section):
        return {"status": value.status.value, "reason": value.reason}
    if isinstance(value, BaseModel):
        # Walk fields ourselves (not model_dump) so every nested SecretRef is replaced.
        return {name: jsonable(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return str(value)


def _plural(noun: str, count: int) -> str:
    return noun if count == 1 else f"{noun}s"


def _join(values: list[object]) -> str:
    return ", ".join(fmt(value) for value in values)


def _unique(values: list[object]) -> list[object]:
    out: list[object] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _typed(check: Check, kind: type[_T], what: str) -> _T | Verdict:
    """The value at the key if it is a ``kind``, else the failing verdict saying so."""
    if check.actual is None:
        return Verdict(FAIL, f"{check.lead}is missing", None)
    if not isinstance(check.actual, kind):
        return Verdict(FAIL, f"{check.lead}is {fmt(check.actual)}, not {what}", check.actual)
    return check.actual


def _nearest(candidates: list[object], want: object, operand: Operand | None) -> str:
    """'; closest entry X: why' for the most similar candidate a diagnosis explains."""
    if not isinstance(want, str):
        return ""
    template = operand.template if operand else None
    values = operand.template_values if operand else ()
    best: tuple[float, str, list[str]] | None = None
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        notes = diagnose(candidate, want, template, values)
        if not notes:
            continue
        score = difflib.SequenceMatcher(
            None, "".join(candidate.lower().split()), want.lower()
        ).ratio()
        if best is None or score > best[0]:
            best = (score, candidate, notes)
    if best is None:
        return ""
    return f"; closest entry {fmt(best[1])}: {'; '.join(best[2])}"


# ------------------------------------------------------------------ value operators


def _equals(check: Check) -> Verdict:
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


def _not_equals(check: Check) -> Verdict:
    got = check.actual
    if got == check.want:
        return Verdict(FAIL, f"{check.lead}is {fmt(got)}", got)
    return Verdict(PASS, f"{check.lead}is {fmt(got)}, not {fmt(check.want)}", got)


def _in(check: Check) -> Verdict:
    got, allowed = check.actual, check.want
    if isinstance(allowed, list) and got in allowed:
        return Verdict(PASS, f"{check.lead}is {fmt(got)}", got)
    return Verdict(FAIL, f"{check.lead}is {fmt(got)}, not one of {fmt(allowed)}", got)


def _contains(check: Check) -> Verdict:
    text, want = check.actual, check.want
    if isinstance(text, str) and isinstance(want, str):
        found = want in text
        verb = "contains" if found else "does not contain"
        return Verdict(PASS if found else FAIL, f"{check.lead}{verb} {fmt(want)}", text)
    got = _typed(check, list, "a list")
    if isinstance(got, Verdict):
        return got
    if want in got:
        return Verdict(PASS, f"{check.lead}has {fmt(want)}", got)
    if not got:
        return Verdict(FAIL, f"{check.lead}is empty; it must have {fmt(want)}", got)
    message = f"{check.lead}lacks {fmt(want)}{_nearest(got, want, check.operand)}"
    return Verdict(FAIL, message, got)


def _not_contains(check: Check) -> Verdict:
    got, want = check.actual, check.want
    if isinstance(got, list | str) and isinstance(want, str) and want in got:
        return Verdict(FAIL, f"{check.lead}has {fmt(want)}", got)
    if isinstance(got, list) and want in got:
        return Verdict(FAIL, f"{check.lead}has {fmt(want)}", got)
    return Verdict(PASS, f"{check.lead}does not have {fmt(want)}", got)


def _collections(check: Check) -> tuple[list[object], list[object]] | Verdict:
    got = _typed(check, list, "a list")
    if isinstance(got, Verdict):
        return got
    want = check.want
    if not isinstance(want, list):
        return Verdict(ERROR, f"the rule's operand {fmt(want)} is not a list", check.actual)
    return got, want


def _subset(check: Check) -> Verdict:
    pair = _collections(check)
    if isinstance(pair, Verdict):
        return pair
    got, allowed = pair
    extra = _unique([value for value in got if value not in allowed])
    if extra:
        message = f"{check.lead}has {_join(extra)}, beyond the allowed {fmt(allowed)}"
        return Verdict(FAIL, message, got)
    return Verdict(PASS, f"{check.lead}has only allowed values {fmt(got)}", got)


def _superset(check: Check) -> Verdict:
    pair = _collections(check)
    if isinstance(pair, Verdict):
        return pair
    got, required = pair
    missing = _unique([value for value in required if value not in got])
    if missing:
        hints = "".join(_nearest(got, value, None) for value in missing)
        return Verdict(FAIL, f"{check.lead}lacks {_join(missing)}{hints}", got)
    return Verdict(PASS, f"{check.lead}has all of {fmt(required)}", got)


def _disjoint(check: Check) -> Verdict:
    pair = _collections(check)
    if isinstance(pair, Verdict):
        return pair
    got, banned = pair
    common = _unique([value for value in got if value in banned])
    if common:
        return Verdict(FAIL, f"{check.lead}has {_join(common)}", got)
    return Verdict(PASS, f"{check.lead}has none of {fmt(banned)}", got)


def _matches(check: Check) -> Verdict:
    text = _typed(check, str, "a string")
    if isinstance(text, Verdict):
        return text
    if check.pattern is None:  # compiled at load for this operator: cannot happen
        return Verdict(ERROR, "the rule has no regular expression", text)
    shown = f"/{check.pattern.pattern}/"
    if check.pattern.search(text):
        return Verdict(PASS, f"{check.lead}{fmt(text)} matches {shown}", text)
    return Verdict(FAIL, f"{check.lead}{fmt(text)} does not match {shown}", text)


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


def _exists(check: Check) -> Verdict:
    if isinstance(check.actual, Section):
        return _section_verdict(check, check.actual, want_present=True)
    if check.actual is None:
        return Verdict(FAIL, f"{check.lead}is missing", "missing")
    return Verdict(PASS, f"{check.lead}is {fmt(check.actual)}", check.actual)


def _absent(check: Check) -> Verdict:
    if isinstance(check.actual, Section):
        return _section_verdict(check, check.actual, want_present=False)
    if check.actual is None:
        return Verdict(PASS, f"{check.lead}is missing", "missing")
    return Verdict(FAIL, f"{check.lead}is {fmt(check.actual)}", check.actual)


def _not_empty(check: Check) -> Verdict:
    got = check.actual
    if got is None:
        return Verdict(FAIL, f"{check.lead}is missing", None)
    if not isinstance(got, list | dict | str):
        return Verdict(FAIL, f"{check.lead}is {fmt(got)}, not a list", got)
    if got:
        return Verdict(PASS, f"{check.lead}has {fmt(got)}", got)
    return Verdict(FAIL, f"{check.lead}is empty", got)


def _empty(check: Check) -> Verdict:
    got = check.actual
    if got is None or (isinstance(got, list | dict | str) and not got):
        return Verdict(PASS, f"{check.lead}is empty", got)
    return Verdict(FAIL, f"{check.lead}has {fmt(got)}", got)


def _host_within(check: Check) -> Verdict:
    url = _typed(check, str, "a URL")
    if isinstance(url, Verdict):
        return url
    domain = check.want
    if not isinstance(domain, str):
        return Verdict(ERROR, f"the rule's domain {fmt(domain)} is not a string", url)
    inside, why = host_within(url, domain)
    message = f"{check.subject}: {why}" if check.subject else why
    return Verdict(PASS if inside else FAIL, message, url)


def _origins(check: Check) -> list[str]:
    want = check.want
    values = want if isinstance(want, list) else [want]
    return [value for value in values if isinstance(value, str)]


def _same_origin(check: Check) -> Verdict:
    got = _typed(check, str, "a URL")
    if isinstance(got, Verdict):
        return got
    allowed = _origins(check)
    if not allowed:
        return Verdict(NOT_EVALUATED, "no origin to compare with", got)
    got_origin = origin(got)
    for candidate in allowed:
        if got_origin is not None and got_origin == origin(candidate):
            message = f"{check.lead}{fmt(got)} is on {origin_text(candidate)}"
            return Verdict(PASS, message, got)
    shown = " or ".join(origin_text(candidate) for candidate in allowed)
    why = origin_difference(got, allowed[0])
    message = f"{check.lead}{fmt(got)} is not on {shown}" + (f": {why}" if why else "")
    return Verdict(FAIL, message, got)


# --------------------------------------------------------------- secret operators


def _digest(side: str, ref: object) -> str | Verdict:
    """The in-memory digest of a secret, or why it cannot be compared (never the digest)."""
    if ref is None:
        return Verdict(FAIL, f"{side} is missing", "missing")
    if not isinstance(ref, SecretRef):
        return Verdict(FAIL, f"{side} is not a secret", "not a secret")
    if ref.masked:
        message = (
            f"{side} is masked by Okta (only part of the secret is returned), so it cannot "
            "be compared"
        )
        return Verdict(NOT_EVALUATED, message, "masked")
    if ref.sha256 is None:
        return Verdict(NOT_EVALUATED, f"{side} was not read in this run", "not read")
    return ref.sha256


def _digest_equals(check: Check) -> Verdict:
    theirs = check.operand.source if check.operand and check.operand.source else "the secret"
    mine = check.subject or "the secret"
    my_digest = _digest(mine, check.actual)
    if isinstance(my_digest, Verdict):
        return my_digest
    their_digest = _digest(theirs, check.want)
    if isinstance(their_digest, Verdict):
        return their_digest
    if hmac.compare_digest(my_digest, their_digest):
        return Verdict(PASS, f"{mine} matches {theirs}", "same")
    return Verdict(FAIL, f"{mine} differs from {theirs}", "different")


def _digest_in(check: Check) -> Verdict:
    mine = check.subject or "the secret"
    my_digest = _digest(mine, check.actual)
    if isinstance(my_digest, Verdict):
        return my_digest
    theirs = check.operand.source if check.operand and check.operand.source else "the secrets"
    candidates = check.want if isinstance(check.want, list) else []
    if not candidates:
        return Verdict(FAIL, f"there is no secret in {theirs} to compare {mine} with", "none")
    unknown: list[Verdict] = []
    for candidate in candidates:
        their_digest = _digest(theirs, candidate)
        if isinstance(their_digest, Verdict):
            unknown.append(their_digest)
        elif hmac.compare_digest(my_digest, their_digest):
            return Verdict(PASS, f"{mine} matches one of {theirs}", "same")
    if any(verdict.status is NOT_EVALUATED for verdict in unknown):
        message = f"{mine} matches none of the readable secrets in {theirs}; some are masked"
        return Verdict(NOT_EVALUATED, message, "masked")
    count = len(candidates)
    return Verdict(FAIL, f"{mine} matches none of the {count} secrets in {theirs}", "different")


# ----------------------------------------------------------------- list operators


def _items(check: Check) -> list[object] | Verdict:
    return _typed(check, list, "a list")


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


def _judge_items(check: Check) -> tuple[list[tuple[str, Outcome]], object] | Verdict:
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


def _listing(judged: list[tuple[str, Outcome]], status: ResultStatus) -> str:
    return "; ".join(f"{label}: {o.message}" for label, o in judged if o.status is status)


def _undecided(judged: list[tuple[str, Outcome]], actual: object) -> Verdict | None:
    """ERROR when an item errored, else NOT_EVALUATED when one could not be judged."""
    for status in (ERROR, NOT_EVALUATED):
        if any(outcome.status is status for _, outcome in judged):
            return Verdict(status, _listing(judged, status), actual)
    return None


def _all_items(check: Check) -> Verdict:
    result = _judge_items(check)
    if isinstance(result, Verdict):
        return result
    judged, actual = result
    if any(outcome.status is FAIL for _, outcome in judged):
        return Verdict(FAIL, _listing(judged, FAIL), actual)
    undecided = _undecided(judged, actual)
    if undecided:
        return undecided
    count = len(judged)
    if not count:
        return Verdict(PASS, f"{check.lead}is empty, nothing to check", actual)
    return Verdict(PASS, f"{count} {_plural(check.noun, count)} checked, all pass", actual)


def _any_item(check: Check) -> Verdict:
    result = _judge_items(check)
    if isinstance(result, Verdict):
        return result
    judged, actual = result
    passing = _listing(judged, PASS)
    if passing:
        return Verdict(PASS, passing, actual)
    undecided = _undecided(judged, actual)
    if undecided:
        return undecided
    if not judged:
        return Verdict(FAIL, f"{check.lead}is empty: no {check.noun} at all", actual)
    return Verdict(FAIL, f"no {check.noun} passes: {_listing(judged, FAIL)}", actual)


def _none_item(check: Check) -> Verdict:
    result = _judge_items(check)
    if isinstance(result, Verdict):
        return result
    judged, actual = result
    matching = _listing(judged, PASS)
    if matching:
        return Verdict(FAIL, matching, actual)
    undecided = _undecided(judged, actual)
    if undecided:
        return undecided
    count = len(judged)
    return Verdict(PASS, f"no {check.noun} matches ({count} checked)", actual)


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


def _covers(check: Check) -> Verdict:
    """Each operand value has an item (``by`` equal to it) that passes ``where``."""
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


def _has_entries(check: Check) -> Verdict:
    """Each operand key is in the mapping, with the operand's value (at ``at``)."""
    got = _typed(check, dict, "a mapping")
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


# ------------------------------------------------------------------ expected views


def _want(check: Check) -> object:
    return check.want


def _wrapped(word: str) -> Callable[[Check], object]:
    def view(check: Check) -> object:
        return {word: check.want}

    return view


def _constant(text: str) -> Callable[[Check], object]:
    def view(check: Check) -> object:  # noqa: ARG001 - every view takes the check
        return text

    return view


def _pattern_view(check: Check) -> object:
    return f"matches /{check.pattern.pattern}/" if check.pattern is not None else None


def _host_view(check: Check) -> object:
    return f"host within {fmt(check.want)}"


def _origin_view(check: Check) -> object:
    origins = [origin_text(value) for value in _origins(check)]
    return origins[0] if len(origins) == 1 else origins


def _digest_view(check: Check) -> object:
    source = check.operand.source if check.operand and check.operand.source else "the operand"
    return f"the same secret as {source}"


def _nested_view(word: str) -> Callable[[Check], object]:
    def view(check: Check) -> object:
        return {word: check.where_expected()}

    return view


def _covers_view(check: Check) -> object:
    wanted = check.want if isinstance(check.want, list) else []
    if check.where is None:
        return wanted
    inner = check.where_expected()
    return {str(want): inner for want in wanted}


# ------------------------------------------------------------------------ the table

_ITEMS = frozenset({"item", "label"})

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("equals", _equals, _want, "any", "the value equals the operand"),
        Operator("not_equals", _not_equals, _wrapped("not"), "any", "the value differs from it"),
        Operator("in", _in, _wrapped("one of"), "list", "the value is one of the operand's"),
        Operator(
            "contains",
            _contains,
            _want,
            "scalar",
            "the list has the operand (a string: has it as a substring)",
        ),
        Operator(
            "not_contains",
            _not_contains,
            _wrapped("not"),
            "scalar",
            "the list (or string) lacks the operand",
        ),
        Operator("subset", _subset, _wrapped("only"), "list", "every value is in the operand"),
        Operator("superset", _superset, _want, "list", "the value has every operand value"),
        Operator("disjoint", _disjoint, _wrapped("none of"), "list", "no value is in it"),
        Operator(
            "matches", _matches, _pattern_view, "regex", "the string matches the regex (search)"
        ),
        Operator(
            "exists",
            _exists,
            _constant("present"),
            "none",
            "the value is present; on a section: it was found (absent fails)",
            sees_absence=True,
        ),
        Operator(
            "absent",
            _absent,
            _constant("absent"),
            "none",
            "the value is missing; on a section: it was looked for and not found",
            sees_absence=True,
        ),
        Operator(
            "not_empty", _not_empty, _constant("not empty"), "none", "a non-empty list or map"
        ),
        Operator("empty", _empty, _constant("empty"), "none", "missing, or an empty list"),
        Operator(
            "host_within",
            _host_within,
            _host_view,
            "text",
            "the URL's host is valid (RFC 3986) and is the domain or a subdomain of it",
        ),
        Operator(
            "same_origin",
            _same_origin,
            _origin_view,
            "text_or_list",
            "the URL has the scheme, host and port of the operand URL (or of one of them)",
        ),
        Operator(
            "digest_equals",
            _digest_equals,
            _digest_view,
            "any",
            "two secrets are equal (SHA-256 digests compared in memory, never shown)",
        ),
        Operator(
            "digest_in",
            _digest_in,
            _digest_view,
            "any",
            "the secret equals one of a list of secrets (digests, never shown)",
        ),
        Operator(
            "all_items",
            _all_items,
            _nested_view("each"),
            "none",
            "every item of the list passes where:",
            nested=True,
            extras=_ITEMS,
        ),
        Operator(
            "any_item",
            _any_item,
            _nested_view("any"),
            "none",
            "at least one item passes where:",
            nested=True,
            extras=_ITEMS,
        ),
        Operator(
            "none_item",
            _none_item,
            _nested_view("none"),
            "none",
            "no item passes where:",
            nested=True,
            extras=_ITEMS,
        ),
        Operator(
            "covers",
            _covers,
            _covers_view,
            "list",
            "each operand value has an item whose `by` field equals it and that passes where:",
            nested=True,
            extras=frozenset({"item", "by"}),
        ),
        Operator(
            "has_entries",
            _has_entries,
            _want,
            "map",
            "the mapping has each operand key with the operand's value (at `at` in the entry)",
            extras=frozenset({"item", "at"}),
        ),
    )
}

# Operators whose where: is optional (covers without where: only needs the item to exist).
OPTIONAL_WHERE = frozenset({"covers"})
