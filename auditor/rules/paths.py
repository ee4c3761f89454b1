"""Key paths into the snapshot: parsed and type-checked at load, resolved at evaluation.

A key path is dotted, like Custodian's ``key:`` but simpler than JMESPath:
``okta.app.settings.oauthClient.redirect_uris``. Each segment is a model field, a dict key,
a list index, or ``*`` (apply the rest of the path to every list item). ``@`` alone means
"the value itself" (the current item inside ``where:``).

Paths are checked against the snapshot models when a rule file is loaded, so a typo
(``redirect_uri``) is an error with its line, not a rule that silently reads ``None``.

At evaluation, :class:`Section` wrappers are unwrapped on the way; every section the path
crosses that was not collected (``absent``, ``skipped``, ``error``) is recorded in a
:class:`Touches`, which the engine turns into ``not_evaluated`` or ``error``.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from auditor.snapshot import Section, SectionStatus

_SEGMENT = re.compile(r"^(?:[A-Za-z0-9_:-]+|\*)$")

# ``TypeInfo`` is whatever typing object describes a value (a class, ``list[str]``...).
TypeInfo = object


@dataclass(frozen=True)
class KeyPath:
    """A parsed key path."""

    text: str
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> KeyPath:
        """Parse ``text``; raises ValueError saying what is wrong with it."""
        if text == "@":
            return cls(text, ())
        if not text or text != text.strip():
            raise ValueError(f"key path {text!r} is empty or has surrounding spaces")
        segments = tuple(text.split("."))
        for segment in segments:
            if not _SEGMENT.fullmatch(segment):
                raise ValueError(
                    f"key path {text!r}: segment {segment!r} must be a field name, a dict key, "
                    "a list index or *"
                )
        return cls(text, segments)

    @property
    def is_self(self) -> bool:
        """True for ``@``: the value the path is applied to."""
        return not self.segments

    def __str__(self) -> str:
        return self.text


# ------------------------------------------------------------------ load-time checking


def _strip_optional(tp: TypeInfo) -> TypeInfo:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    return tp


def is_section_type(tp: TypeInfo) -> bool:
    """True when ``tp`` is a :class:`Section` (parametrized or not)."""
    tp = _strip_optional(tp)
    return isinstance(tp, type) and issubclass(tp, Section)


def _unwrap_section(tp: TypeInfo) -> TypeInfo:
    tp = _strip_optional(tp)
    if isinstance(tp, type) and issubclass(tp, Section):
        return _strip_optional(tp.model_fields["value"].annotation)
    return tp


def _is_dynamic(tp: TypeInfo) -> bool:
    return tp is Any or tp is object or isinstance(tp, typing.TypeVar)


def _type_name(tp: TypeInfo) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp)


def _step(tp: TypeInfo, segment: str, path: KeyPath) -> TypeInfo:
    """The type reached from ``tp`` through ``segment``."""
    tp = _unwrap_section(tp)
    if _is_dynamic(tp):
        return Any
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = tp.model_fields
        if segment not in fields:
            known = ", ".join(sorted(fields))
            raise ValueError(
                f"key path {path.text!r}: {_type_name(tp)} has no field {segment!r} "
                f"(known: {known})"
            )
        return fields[segment].annotation
    if origin is list:
        if segment == "*" or segment.isdigit():
            return get_args(tp)[0]
        raise ValueError(
            f"key path {path.text!r}: {segment!r} follows a list; use an index or * "
            "(or all_items / any_item to check each item)"
        )
    if origin is dict:
        return get_args(tp)[1]
    raise ValueError(f"key path {path.text!r}: cannot go into {_type_name(tp)} with {segment!r}")


def type_at(root: TypeInfo, path: KeyPath) -> TypeInfo:
    """The type ``path`` reaches from ``root``; raises ValueError for an impossible path.

    A ``*`` projection makes the result a list of what follows it.
    """
    tp = root
    projected = 0
    for segment in path.segments:
        tp = _step(tp, segment, path)
        if segment == "*":
            projected += 1
    for _ in range(projected):
        tp = list[tp]  # type: ignore[valid-type]
    return tp


def item_type(tp: TypeInfo) -> TypeInfo:
    """The element type of a list type (sections and Optional unwrapped), else ``Any``."""
    tp = _unwrap_section(tp)
    if get_origin(tp) is list:
        return _strip_optional(get_args(tp)[0])
    return Any


def entry_type(tp: TypeInfo) -> TypeInfo:
    """The value type of a dict type (sections and Optional unwrapped), else ``Any``."""
    tp = _unwrap_section(tp)
    if get_origin(tp) is dict:
        return _strip_optional(get_args(tp)[1])
    return Any


def crosses_section(root: TypeInfo, path: KeyPath) -> bool:
    """True when resolving ``path`` from ``root`` goes through (or ends at) a Section."""
    tp = root
    for segment in path.segments:
        if is_section_type(tp):
            return True
        tp = _step(tp, segment, path)
    return is_section_type(tp)


# -------------------------------------------------------------------- evaluation time


@dataclass(frozen=True)
class Touch:
    """A section, not collected, that a rule needed."""

    path: str
    status: SectionStatus
    reason: str | None


@dataclass
class Touches:
    """The uncollected sections met while resolving the paths of one check."""

    found: list[Touch] = field(default_factory=list)

    def add(self, path: str, section: Section[Any]) -> None:
        """Record ``section`` (at ``path``) unless it was collected."""
        if section.status is not SectionStatus.OK:
            touch = Touch(path, section.status, section.reason)
            if touch not in self.found:
                self.found.append(touch)


def resolve(
    root: object,
    path: KeyPath,
    touches: Touches | None = None,
    *,
    keep_section: bool = False,
    prefix: str = "",
) -> object:
    """The value at ``path`` under ``root``; ``None`` when any step is missing.

    Sections are unwrapped; one that was not collected stops the walk (its value is
    ``None``) and is recorded in ``touches``. With ``keep_section``, a Section at the very
    end of the path is returned as is, so an operator can look at its status (``exists``).
    """
    current = root
    walked = prefix
    for index, segment in enumerate(path.segments):
        current = _unwrap(current, walked, touches)
        if current is None:
            return None
        if segment == "*":
            if not isinstance(current, list):
                return None
            rest = KeyPath(path.text, path.segments[index + 1 :])
            return [resolve(item, rest, touches, prefix=walked) for item in current]
        current = _child(current, segment)
        walked = f"{walked}.{segment}" if walked else segment
    if isinstance(current, Section) and keep_section:
        return current
    return _unwrap(current, walked, touches)


def _unwrap(value: object, walked: str, touches: Touches | None) -> object:
    if isinstance(value, Section):
        if touches is not None:
            touches.add(walked, value)
        return value.value if value.status is SectionStatus.OK else None
    return value


def _child(value: object, segment: str) -> object:
    if isinstance(value, BaseModel):
        # Only declared fields: a path must never reach a method or a private attribute.
        return getattr(value, segment) if segment in type(value).model_fields else None
    if isinstance(value, dict):
        return value.get(segment)
    if isinstance(value, list) and segment.isdigit():
        position = int(segment)
        return value[position] if position < len(value) else None
    return None
