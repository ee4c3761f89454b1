"""YAML loading that remembers where every value came from.

Config files and rule files are written by people, so their errors must point at a line.
PyYAML's composer keeps each node's position; we turn the node tree into plain Python
data and keep a map from each value's path (``("tenants", 0, "okta", "org_url")``) to
its line, so a pydantic error location can be translated into ``file:line``
(:meth:`LineIndex.invalid`, the one translator for config, rule and waiver files).

These files may be hostile (a shared config repository, a planted waivers file), so
the loader reads only bounded regular files and refuses documents that nest too deep,
expand too far through aliases or refer to themselves, before building any object.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeGuard, Union, cast, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag

from auditor.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import ValidationError
    from pydantic.fields import FieldInfo

Loc = tuple[str | int, ...]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Limits on what a config, rule or waiver file may make the loader do (see load_yaml).
MAX_BYTES = 4 * 1024 * 1024  # a 10,000-tenant config is about 3 MB
MAX_DEPTH = 64  # the deepest real file (a rule condition) nests about 12 levels
MAX_NODES = 400_000  # about 30 per tenant: room for 10,000 tenants
MAX_PROBLEMS = 10  # validation problems shown at once
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
# What YAML forbids in a file (PyYAML's Reader.NON_PRINTABLE): C0 controls but tab and
# newlines, DEL, C1 controls but NEL, surrogates, U+FFFE/U+FFFF.
_NOT_PRINTABLE = re.compile(
    r"[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]"
)
# libyaml's parser when PyYAML was built with it (about 10 times faster), else PyYAML's.
_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
        """The error for a failed ``model.model_validate`` of the data at ``base``.

        Every problem is shown (up to :data:`MAX_PROBLEMS`), each at its own line, so a
        file with three mistakes is fixed in one round instead of three.
        """
        found = [(self.line_of(loc), message) for loc, message in problems(exc, model, base)]
        # The first (a typo, when there is one) leads; the rest follow in file order.
        return InputProblemsError(self.path, found[:1] + sorted(found[1:], key=lambda f: f[0]))


class InputProblemsError(InputError):
    """Several problems of one file: the first is the error's line and message."""

    def __init__(self, path: Path, found: list[tuple[int, str]]) -> None:
        # Set before InputError.__init__, which renders str(self).
        self.others = found[1:MAX_PROBLEMS]
        self.hidden = max(0, len(found) - MAX_PROBLEMS)
        line, message = found[0]
        super().__init__(path, line, message)

    def __str__(self) -> str:
        rendered = [super().__str__()]
        rendered += [f"  {InputError(self.path, line, text)}" for line, text in self.others]
        if self.hidden:
            rendered.append(f"  (and {self.hidden} more problem(s) after these)")
        return "\n".join(rendered)


# ------------------------------------------------------------- pydantic errors


def problems(exc: ValidationError, model: type[BaseModel], base: Loc = ()) -> list[tuple[Loc, str]]:
    """Every problem of a validation of ``model``: its YAML path and what to fix.

    Unknown keys come first, each with the closest known key and the keys allowed
    there. A misspelt key also makes the right key "missing": that echo is dropped.
    ``base`` is where the validated data sits in its file. Each message starts with
    the dotted path.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    out: list[tuple[Loc, str]] = []
    guessed: set[Loc] = set()  # where a typo's suggestion points
    for error in errors:
        raw = tuple(error["loc"])
        loc = (*base, *clean_loc(raw))
        name = loc[-1] if loc else ""
        kind, ctx = error["type"], error.get("ctx", {})
        if kind == "extra_forbidden":
            allowed = _type_at(model, raw[:-1])
            message = f"unknown key {name!r}" + _known_keys(str(name), allowed)
            close = difflib.get_close_matches(str(name), list(_fields(allowed)), n=1)
            guessed.update((*loc[:-1], guess) for guess in close)
        elif kind == "missing":
            if loc in guessed:
                continue
            message = f"{name!r} is required here"
            described = _field_at(model, raw)
            if described is not None and described.description:
                message += f" ({described.description.rstrip('.')})"
        elif kind == "string_too_short" and ctx.get("min_length") == 1:
            message = f"{name!r} must not be empty"
        elif kind == "literal_error":
            message = f"{name!r} must be {ctx['expected']}"
        else:
            message = error["msg"].removeprefix("Value error, ")
        where = dotted(loc)
        if (loc, f"{where}: {message}") not in out:
            out.append((loc, f"{where}: {message}"))
    return out


def dotted(loc: Loc) -> str:
    """A YAML path as ``tenants.0.okta``; a key that is not a plain word is quoted.

    Keys come from the file: one holding a newline or an escape sequence must not break
    the message into lines or reach a terminal raw.
    """
    parts = [
        str(part) if isinstance(part, int) or _PLAIN_KEY.fullmatch(part) else repr(part)
        for part in loc
    ]
    return ".".join(parts) or "(top level)"


def explain(exc: ValidationError, model: type[BaseModel], base: Loc = ()) -> tuple[Loc, str]:
    """The first problem of a validation of ``model`` (see :func:`problems`), naming the rest.

    For callers with one line to give (a rule override without a file); the others are
    appended with their paths, so none is hidden behind a count.
    """
    found = problems(exc, model, base)
    loc, message = found[0]
    rest = [text for _, text in found[1:MAX_PROBLEMS]]
    if rest:
        message += " (also: " + "; ".join(rest) + ")"
    if len(found) > MAX_PROBLEMS:
        message += f" (and {len(found) - MAX_PROBLEMS} more problem(s))"
    return loc, message


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


def load_yaml(
    path: Path, *, substitute_env: bool = False, max_bytes: int = MAX_BYTES
) -> tuple[Any, LineIndex]:
    """Read ``path`` as YAML; return its data and the lines of its values.

    With ``substitute_env``, every ``${NAME}`` in a string value is replaced from the
    environment; an unset variable is an error naming it and its line.

    The file is hostile until proven otherwise: only a regular file of at most
    ``max_bytes`` is read, and the document may nest at most :data:`MAX_DEPTH` levels and
    hold at most :data:`MAX_NODES` values, each alias counted as the values it repeats.
    Those limits are checked while the node tree is composed, before any Python object is
    built, so a 400-byte alias bomb costs microseconds instead of gigabytes. Every problem
    is an :class:`InputError` with the line where it is.
    """
    index = LineIndex(path)
    text = _decode(path, read_regular_file(path, max_bytes))
    try:
        node = _Composer(path, text).single_document()
    except _Refused as exc:
        raise InputError(path, exc.line, exc.problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "cannot parse it"
        raise InputError(path, line, f"not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:  # a ReaderError: bytes the checks above did not expect
        raise InputError(path, None, f"not valid YAML: {exc}") from None
    if node is None:
        return None, index
    constructor = yaml.SafeLoader("")
    return _to_python(node, (), index, constructor, substitute_env=substitute_env), index


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``: a regular file of at most ``max_bytes``, else InputError.

    A FIFO would block ``open`` until a writer comes (forever), ``/dev/zero`` never ends
    and a directory has no content, so the kind of file is checked before it is opened,
    the open cannot block (``O_NONBLOCK``), the kind is checked again on the open file
    (it may have been swapped in between), and at most ``max_bytes + 1`` bytes are read.
    """
    try:
        kind = _kind(path.stat().st_mode)
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputError(path, None, f"cannot read the file: {_reason(exc)}") from None
    if kind is not None:
        raise InputError(path, None, f"is {kind}, not a regular file: name a file")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file: {_reason(exc)}") from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise InputError(path, None, f"is {kind}, not a regular file: name a file")
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file: {_reason(exc)}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise InputError(
            path, None, f"is larger than {max_bytes:,} bytes: is it the right file? "
            "(split it, or remove what it does not need)"
        )
    return data


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 text without control characters, or an error at the offending line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            path, line, f"is not UTF-8 text (byte 0x{data[exc.start]:02x}): save it as UTF-8"
        ) from None
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise InputError(
            path, line, f"control character U+{ord(bad.group()):04X} at column {column} is "
            "not allowed in YAML: remove it"
        )
    return text


class _Refused(yaml.MarkedYAMLError):
    """A document the composer will not build (too deep, too big, a recursive alias)."""

    def __init__(self, event: yaml.Event, problem: str) -> None:
        mark = _mark(event)
        super().__init__(problem=problem, problem_mark=mark)
        self.problem: str = problem
        self.line = mark.line + 1 if mark is not None else None


def _mark(event: yaml.Event, *, end: bool = False) -> yaml.Mark | None:
    """An event's mark; libyaml's events carry its own Mark type, alike in every use."""
    return cast("yaml.Mark | None", event.end_mark if end else event.start_mark)


class _Composer:
    """PyYAML's composer, rebuilt over the parser's events with limits.

    PyYAML's own composer recurses once per nesting level (50,000 ``[`` is a
    RecursionError) and lets an alias point at the node that contains it (a cycle that
    never ends when walked). This one refuses both, and counts each node's expanded
    size (its values, an alias counting as everything it repeats) and height, so the
    limits hold for the data :func:`_to_python` will build, not just for the text.
    """

    def __init__(self, path: Path, text: str) -> None:
        self._path = path
        self._events = iter(yaml.parse(text, Loader=_LOADER))
        self._peeked: yaml.Event | None = None
        self._resolver = yaml.resolver.Resolver()
        self._anchors: dict[str, yaml.Node] = {}
        self._open: set[str] = set()  # anchors of the nodes being composed
        self._shape: dict[int, tuple[int, int]] = {}  # id(node) -> (size, height)
        self._total = 0

    def _next(self) -> yaml.Event:
        if self._peeked is not None:
            event, self._peeked = self._peeked, None
            return event
        return next(self._events)

    def _peek(self) -> yaml.Event:
        if self._peeked is None:
            self._peeked = next(self._events)
        return self._peeked

    def single_document(self) -> yaml.Node | None:
        """The file's one document (None when empty)."""
        self._next()  # StreamStartEvent
        if isinstance(self._peek(), yaml.StreamEndEvent):
            return None
        self._next()  # DocumentStartEvent
        root = self._node(1)
        self._next()  # DocumentEndEvent
        extra = self._next()
        if not isinstance(extra, yaml.StreamEndEvent):
            raise _Refused(extra, "a second YAML document (after ---): keep one per file")
        return root

    def _count(self, size: int, event: yaml.Event) -> None:
        self._total += size
        if self._total > MAX_NODES:
            raise _Refused(
                event, f"the file holds more than {MAX_NODES:,} values (an alias counts as "
                "every value it repeats): write it out plainly, or split it"
            )

    def _node(self, depth: int) -> yaml.Node:
        event = self._next()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, depth)
        if depth > MAX_DEPTH:
            raise _Refused(event, f"nested more than {MAX_DEPTH} levels deep: flatten it")
        before = self._total
        self._count(1, event)
        anchor = event.anchor  # type: ignore[attr-defined]
        if anchor is not None:
            if anchor in self._anchors or anchor in self._open:
                raise _Refused(event, f"anchor &{anchor} is defined twice: rename one")
            self._open.add(anchor)
        node, height = self._compose(event, depth)
        if anchor is not None:
            self._open.discard(anchor)
            self._anchors[anchor] = node
        self._shape[id(node)] = (self._total - before, height)
        return node

    def _alias(self, event: yaml.AliasEvent, depth: int) -> yaml.Node:
        anchor = event.anchor or ""
        if anchor in self._open:
            raise _Refused(
                event, f"alias *{anchor} is inside the value it names (a recursive alias): "
                "remove it"
            )
        target = self._anchors.get(anchor)
        if target is None:
            raise _Refused(event, f"alias *{anchor} names no anchor &{anchor} above it")
        size, height = self._shape[id(target)]
        if depth - 1 + height > MAX_DEPTH:
            raise _Refused(
                event, f"alias *{anchor} makes the data nest more than {MAX_DEPTH} levels deep"
            )
        self._count(size, event)
        return target

    def _compose(self, event: yaml.Event, depth: int) -> tuple[yaml.Node, int]:
        if isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = self._resolver.resolve(  # type: ignore[no-untyped-call]
                    yaml.ScalarNode, event.value, event.implicit
                )
            node = yaml.ScalarNode(
                tag, event.value, _mark(event), _mark(event, end=True), style=event.style
            )
            return node, 1
        children: list[yaml.Node] = []
        end: type[yaml.Event]
        # Collection tags (!!set, !!omap) are ignored: _to_python builds lists and dicts.
        if isinstance(event, yaml.SequenceStartEvent):
            collection: yaml.Node = yaml.SequenceNode(
                "tag:yaml.org,2002:seq", children, _mark(event), None
            )
            end = yaml.SequenceEndEvent
        else:
            collection = yaml.MappingNode("tag:yaml.org,2002:map", [], _mark(event), None)
            end = yaml.MappingEndEvent
        while not isinstance(self._peek(), end):
            children.append(self._node(depth + 1))
        collection.end_mark = _mark(self._next(), end=True)
        if isinstance(collection, yaml.MappingNode):
            collection.value = list(zip(children[::2], children[1::2], strict=True))
        height = 1 + max((self._shape[id(c)][1] for c in children), default=0)
        return collection, height


def _to_python(
    node: yaml.Node,
    loc: Loc,
    index: LineIndex,
    constructor: yaml.SafeLoader,
    *,
    substitute_env: bool,
) -> Any:  # noqa: ANN401 - YAML is untyped
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
            out[key] = _to_python(
                value_node, (*loc, key), index, constructor, substitute_env=substitute_env
            )
            # A value's line is its key's line: ``okta:`` rather than its first child.
            index.lines[(*loc, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(item, (*loc, i), index, constructor, substitute_env=substitute_env)
            for i, item in enumerate(node.value)
        ]
    # A scalar: let PyYAML's resolver give it its type (int, bool, null, str...).
    try:
        value = constructor.construct_object(node, deep=True)
    except (ValueError, yaml.constructor.ConstructorError) as exc:
        # An impossible date (2026-02-30), a 5,000-digit number or a bad tag: say so at
        # its line. The value is cut: it may be megabytes long.
        hint = ": write dates YYYY-MM-DD" if node.tag.endswith(":timestamp") else ""
        shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
        raise InputError(
            index.path, node.start_mark.line + 1,
            f"not a valid value {shown!r} ({_first_line(exc)}){hint}",
        ) from None
    if substitute_env and isinstance(value, str):
        value = _substitute(value, index.path, node.start_mark.line + 1)
    return value


def _first_line(exc: BaseException) -> str:
    """The gist of a constructor's complaint: its first line, up to a ``;``."""
    text = str(exc).strip()
    return text.splitlines()[0].split(";")[0] if text else type(exc).__name__


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
