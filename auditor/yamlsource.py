"""YAML loading that remembers where every value came from.

Config files and rule files are written by people, so their errors must point at a line.
PyYAML's composer keeps each node's position; we turn the node tree into plain Python
data and keep a map from each value's path (``("tenants", 0, "okta", "org_url")``) to
its line, so a pydantic error location can be translated into ``file:line``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from auditor.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

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
