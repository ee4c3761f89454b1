"""What evaluating a condition yields: a four-valued verdict, a sentence and the evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.results import ResultStatus


@dataclass(frozen=True)
class Evidence:
    """One checked value: what the rule wanted and what the snapshot holds (JSON-able)."""

    key: str
    expected: object
    actual: object
    op: str = ""


@dataclass(frozen=True)
class Outcome:
    """A condition's verdict with its explanation.

    ``message`` says what was found whatever the verdict ("status is ACTIVE" when it
    holds, "status is INACTIVE, not ACTIVE" when not), so ``not`` can reuse it.
    """

    status: ResultStatus
    message: str
    evidence: tuple[Evidence, ...] = ()  # the checks that decided the verdict
    seen: tuple[Evidence, ...] = ()  # every check evaluated (for per-item views)


@dataclass(frozen=True)
class Verdict:
    """What an operator returns; the engine adds the key and the expected value."""

    status: ResultStatus
    message: str
    actual: object = None
