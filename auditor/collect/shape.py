"""Raw API JSON into models, and the one error every collector gives for a wrong shape.

Each payload is validated by a pydantic model, strictly (a string where the API
documents a boolean is wrong, not "truthy") and ignoring keys we do not read. Where a
snapshot model has the payload's own shape (Okta's app, grants, profile mapping), that
model is the wire model; elsewhere a small wire model sits beside its collector.

"Tolerant input, strict output" still holds: enumerations are plain strings, so a grant
type Okta adds next year is data for a rule, and a field the source left out stays
``None``. What is refused is a value of the wrong *type*, which would otherwise become
a guess: the section is then an error whose reason names the field and what is wrong
with it (``credentials.oauthClient.pkce_required: bool_type``), never the value, which
may be a secret.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

T = TypeVar("T")

# Field names come from the payload (a profile mapping's attribute names, say), so an
# odd one is quoted and cut short: the reason stays one readable line.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_:$-]{1,64}$")
_MAX_NAME = 40
_MAX_PROBLEMS = 3


class Wire(BaseModel):
    """Base for wire models: immutable, strict types, unknown keys ignored."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")


class ShapeError(ValueError):
    """A payload that does not have the shape its API documents.

    ``str()`` is one line: what was asked, then each wrong field and pydantic's error
    type for it.
    """

    def __init__(self, what: str, problems: str) -> None:
        self.message = f"{what} returned a response of an unexpected shape ({problems})"
        super().__init__(self.message)


def parse(kind: type[T], raw: object, what: str) -> T:
    """``raw`` as ``kind`` (a model, or ``list[Model]``...); :class:`ShapeError` if not.

    ``what`` names the request in the error (``GET /api/v1/apps/0oa1``).
    """
    try:
        return _adapter(kind).validate_python(raw, strict=True, extra="ignore")
    except ValidationError as exc:
        raise ShapeError(what, field_problems(exc)) from None


# Building a TypeAdapter costs a schema build; there are a handful of kinds, made once.
# (A race only builds one twice.)
_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def field_problems(exc: ValidationError) -> str:
    """``a.b[0].c: type; ...`` for the first few errors; values are never included."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    shown = [f"{_location(e['loc'])}: {e['type']}" for e in errors[:_MAX_PROBLEMS]]
    if len(errors) > _MAX_PROBLEMS:
        shown.append(f"{len(errors) - _MAX_PROBLEMS} more")
    return "; ".join(shown)


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = str(part)
        if not _PLAIN_NAME.fullmatch(name):
            name = repr(name[:_MAX_NAME] + ("..." if len(name) > _MAX_NAME else ""))
        text += f".{name}" if text else name
    return text or "the whole body"
