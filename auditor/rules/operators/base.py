"""What every operator shares: the check it looks at, its table entry, and ``register``.

An operator is a function from a :class:`Check` to a :class:`Verdict`, registered beside
its definition (Cloud Custodian's ``@filters.register``), so the table cannot drift from
the functions it names.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from auditor.results import ResultStatus
from auditor.rules.messages import fmt
from auditor.rules.outcome import Outcome, Verdict

if TYPE_CHECKING:
    import re

    from auditor.rules.paths import KeyPath
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


Run = Callable[[Check], Verdict]
View = Callable[[Check], object]


@dataclass(frozen=True)
class Operator:
    """One entry of the table."""

    name: str
    run: Run
    expected: View  # the result's expected value, from the check (never a secret)
    operand: OperandKind
    doc: str
    nested: bool = False  # takes a ``where:`` condition applied to each item
    sees_absence: bool = False  # may look at an uncollected section at the end of its key
    extras: frozenset[str] = field(default_factory=frozenset)  # by / at / label / item
    where_optional: bool = False  # nested, but ``where:`` may be left out


OPERATORS: dict[str, Operator] = {}


def register(  # noqa: PLR0913 - one keyword per field of the table entry
    name: str,
    *,
    expected: View,
    operand: OperandKind,
    nested: bool = False,
    sees_absence: bool = False,
    extras: frozenset[str] = frozenset(),
    where_optional: bool = False,
) -> Callable[[Run], Run]:
    """Enter the decorated function in :data:`OPERATORS` under ``name``.

    Its docstring is the operator's description (``Operator.doc``), as Custodian takes a
    filter's from its class.
    """

    def add(run: Run) -> Run:
        doc = inspect.getdoc(run)
        if name in OPERATORS or not doc:
            raise ValueError(f"operator {name!r} is registered twice or has no docstring")
        OPERATORS[name] = Operator(
            name,
            run,
            expected,
            operand,
            doc,
            nested=nested,
            sees_absence=sees_absence,
            extras=extras,
            where_optional=where_optional,
        )
        return run

    return add


def typed(check: Check, kind: type[_T], what: str) -> _T | Verdict:
    """The value at the key if it is a ``kind``, else the failing verdict saying so."""
    if check.actual is None:
        return Verdict(FAIL, f"{check.lead}is missing", None)
    if not isinstance(check.actual, kind):
        return Verdict(FAIL, f"{check.lead}is {fmt(check.actual)}, not {what}", check.actual)
    return check.actual


# Expected views shared by several operators.


def as_given(check: Check) -> object:
    """The operand as it is."""
    return check.want


def wrapped(word: str) -> View:
    """The operand under a word: ``{"not": ...}``."""

    def view(check: Check) -> object:
        return {word: check.want}

    return view


def constant(text: str) -> View:
    """Always ``text``: for operators without an operand."""

    def view(check: Check) -> object:  # noqa: ARG001 - every view takes the check
        return text

    return view
