"""How operators put values into sentences, and into a result's expected/actual data.

Rules carry no code, so every message is made generically from the values it is about.
Secrets never appear: a :class:`SecretRef` is shown as a placeholder, never its digest.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING

from pydantic import BaseModel

from auditor.rules.urls import diagnose
from auditor.snapshot import SecretRef, Section

if TYPE_CHECKING:
    from auditor.rules.values import Operand

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
        return value if _PLAIN.fullmatch(value) else json.dumps(value, ensure_ascii=False)
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


def plural(noun: str, count: int) -> str:
    """``noun``, with an s unless there is exactly one."""
    return noun if count == 1 else f"{noun}s"


def join(values: list[object]) -> str:
    """Values for a sentence, comma-separated."""
    return ", ".join(fmt(value) for value in values)


def nearest(candidates: list[object], want: object, operand: Operand | None) -> str:
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
