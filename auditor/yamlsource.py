"""YAML loading that remembers where every value came from.

Config files and rule files are written by people, so their errors must point at a line.
PyYAML's composer keeps each node's position; we turn the node tree into plain Python
data and keep a map from each value's path (``("tenants", 0, "okta", "org_url")``) to
its line, so a pydantic error location can be translated into ``file:line``
(:meth:`LineIndex.invalid`, the one translator for config, rule and waiver files).
"""

from __future__ import annotations

import difflib
import os
import re
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeGuard, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag

from auditor.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import ValidationError
    from pydantic.fields import FieldInfo

Loc = tuple[str | int, ...]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class LineIndex:
    """Lines of a YAML document's values, by path."""

    path: Path
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest ancestor that has one (1-based)."""
        probe = tuple(loc)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def error(self, loc: Loc, message: str) -> InputError:
        """An error pointing at the line of ``loc``."""
        return InputError(self.path, self.line_of(loc), message)

    def invalid(
        self, exc: ValidationError, model: type[BaseModel], base: Loc = ()
    ) -> InputError:
        """The error for a failed ``model.model_validate`` of the data at ``base``."""
        loc, message = explain(exc, model, base)
        return self.error(loc, message)


# ------------------------------------------------------------- pydantic errors


def explain(exc: ValidationError, model: type[BaseModel], base: Loc = ()) -> tuple[Loc, str]:
    """The first problem of a validation of ``model``: its YAML path and what to fix.

    A misspelt key also makes the right key "missing", so an unknown key is reported
    first, with the closest known key and the keys allowed there. ``base`` is where the
    validated data sits in its file. The message starts with the dotted path.
    """
    errors = exc.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    raw = tuple(first["loc"])
    loc = (*base, *clean_loc(raw))
    name = loc[-1] if loc else ""
    kind, ctx = first["type"], first.get("ctx", {})
    if kind == "extra_forbidden":
        message = f"unknown key {name!r}" + _known_keys(str(name), _type_at(model, raw[:-1]))
    elif kind == "missing":
        message = f"{name!r} is required here"
        described = _field_at(model, raw)
        if described is not None and described.description:
            message += f" ({described.description.rstrip('.')})"
    elif kind == "string_too_short" and ctx.get("min_length") == 1:
        message = f"{name!r} must not be empty"
    elif kind == "literal_error":
        message = f"{name!r} must be {ctx['expected']}"
    else:
        message = first["msg"].removeprefix("Value error, ")
    where = ".".join(str(part) for part in loc) or "(top level)"
    count = exc.error_count()
    more = f" (and {count - 1} more problem(s))" if count > 1 else ""
    return loc, f"{where}: {message}{more}"


def clean_loc(loc: tuple[str | int, ...]) -> Loc:
    """A pydantic error location as a YAML path: union tags (``<check>``) removed."""
    return tuple(part for part in loc if not (isinstance(part, str) and part.startswith("<")))


def _known_keys(name: str, where: object) -> str:
    keys = list(_fields(where))
    if not keys:
        return " (check its spelling)"
    close = difflib.get_close_matches(name, keys, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"{guess} (known here: {', '.join(keys)})"


def _is_model(annotation: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _fields(model: object) -> dict[str, FieldInfo]:
    """A model's fields by the key a file uses for them (the alias, if any)."""
    if not _is_model(model):
        return {}
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _field_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> FieldInfo | None:
    if not loc:
        return None
    parent = _type_at(model, loc[:-1])
    return _fields(parent).get(str(loc[-1]))


def _type_at(model: object, loc: tuple[str | int, ...]) -> object:
    """The type of the value at a pydantic location inside ``model``; None if unknown."""
    current: object = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return _bare(current)


def _bare(annotation: object) -> object:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _step(annotation: object, part: str | int) -> object:
    annotation = _bare(annotation)
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        members = [m for m in get_args(annotation) if m is not type(None)]
        if len(members) == 1:  # X | None
            return _step(members[0], part)
        # A discriminated union's location names the member by its tag (``<check>``).
        return next((m for m in members if _tag(m) == part), None)
    if isinstance(part, int) and origin in (list, tuple):
        return get_args(annotation)[0]
    if isinstance(part, str) and origin is dict:
        return get_args(annotation)[1]
    info = _fields(annotation).get(str(part))
    return info.annotation if info is not None else None


def _tag(annotation: object) -> str | None:
    metadata = getattr(annotation, "__metadata__", ()) if get_origin(annotation) else ()
    return next((meta.tag for meta in metadata if isinstance(meta, Tag)), None)


def load_yaml(path: Path, *, substitute_env: bool = False) -> tuple[Any, LineIndex]:
    """Read ``path`` as YAML; return its data and the lines of its values.

    With ``substitute_env``, every ``${NAME}`` in a string value is replaced from the
    environment; an unset variable is an error naming it and its line.
    """
    index = LineIndex(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"cannot read the file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InputError(path, line, f"not valid YAML: {exc.problem}") from None
    if node is None:
        return None, index
    return _to_python(node, (), index, substitute_env=substitute_env), index


def _to_python(node: yaml.Node, loc: Loc, index: LineIndex, *, substitute_env: bool) -> Any:  # noqa: ANN401 - YAML is untyped
    index.lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key, str) or not isinstance(key_node, yaml.ScalarNode):
                raise index.error(loc, "mapping keys must be plain strings")
            if key in out:
                raise InputError(
                    index.path, key_node.start_mark.line + 1, f"duplicate key {key!r}"
                )
            out[key] = _to_python(value_node, (*loc, key), index, substitute_env=substitute_env)
            # A value's line is its key's line: ``okta:`` rather than its first child.
            index.lines[(*loc, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(item, (*loc, i), index, substitute_env=substitute_env)
            for i, item in enumerate(node.value)
        ]
    # A scalar: let PyYAML's resolver give it its type (int, bool, null, str...).
    try:
        value = yaml.SafeLoader("").construct_object(node, deep=True)
    except (ValueError, yaml.constructor.ConstructorError) as exc:
        # An impossible date (2026-02-30) or a bad tag: say so at its line.
        hint = ": write dates YYYY-MM-DD" if node.tag.endswith(":timestamp") else ""
        raise InputError(
            index.path, node.start_mark.line + 1, f"not a valid value {node.value!r} ({exc}){hint}"
        ) from None
    if substitute_env and isinstance(value, str):
        value = _substitute(value, index.path, node.start_mark.line + 1)
    return value


def _substitute(value: str, path: Path, line: int) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise InputError(
                path,
                line,
                f"environment variable {name} is not set "
                f"(export {name}=... before running, or put the value in the file)",
            )
        return os.environ[name]

    return _ENV_REF.sub(replace, value)
