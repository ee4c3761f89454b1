"""Operands: literals, templates and references, resolved against one tenant.

An operand in a rule file is one of:

* a literal (``ACTIVE``, ``[openid, email, profile]``, ``true``);
* a template, a string with ``{name}`` placeholders:
  ``"https://auth.{tenant}.{base_domain}/oauth2/idpresponse"``. Names are ``tenant``,
  ``base_domain``, ``params.<name>`` (the pack's parameters) or a snapshot key path
  (``okta.custom_domain``). A string that is exactly one placeholder
  (``"{params.required_scopes}"``) is that value as is (a list stays a list); otherwise a
  placeholder whose value is missing makes the whole template missing (``None``);
* a reference to a snapshot key path, ``{ref: okta.app.credentials.oauthClient.client_id}``;
* a list or mapping of the above. Missing templates and references are dropped from
  lists, which is how ``[{ref: okta.org_url}, "https://{okta.custom_domain}"]`` means "the
  org URL, and the custom domain if there is one".

A rendered template remembers each placeholder's value, so a failed comparison can say
"names tenant acme2, not acme" instead of just "differs".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.rules.paths import KeyPath, Touches, resolve

if TYPE_CHECKING:
    from collections.abc import Mapping

    from auditor.snapshot import TenantSnapshot

# Placeholders start with a letter, so regex quantifiers like {2,3} are never one.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_:*-]+)*)\}")

BUILTIN_VARS = ("tenant", "base_domain")


@dataclass(frozen=True)
class Context:
    """What operands are resolved against: one tenant's snapshot and the pack's params."""

    snapshot: TenantSnapshot
    params: Mapping[str, object]


@dataclass(frozen=True)
class Var:
    """One placeholder of a template."""

    name: str
    path: KeyPath | None  # a snapshot path; None for tenant, base_domain and params

    @property
    def label(self) -> str:
        """How messages name it: ``tenant``, ``base_domain``, a param or a field name."""
        if self.name.startswith("params."):
            return self.name.removeprefix("params.")
        return self.name.rsplit(".", 1)[-1]

    def value(self, ctx: Context, touches: Touches | None) -> object:
        """The placeholder's value for the tenant of ``ctx``."""
        if self.name == "tenant":
            return ctx.snapshot.tenant_id
        if self.name == "base_domain":
            return ctx.snapshot.base_domain
        if self.name.startswith("params."):
            return ctx.params.get(self.name.removeprefix("params."))
        return resolve(ctx.snapshot, self.path, touches) if self.path is not None else None


@dataclass(frozen=True)
class Template:
    """A string with placeholders, split into literal text and :class:`Var` parts."""

    text: str
    parts: tuple[str | Var, ...]

    @classmethod
    def parse(cls, text: str) -> Template | None:
        """The template in ``text``, or None when it has no placeholder."""
        parts: list[str | Var] = []
        position = 0
        for match in _PLACEHOLDER.finditer(text):
            if match.start() > position:
                parts.append(text[position : match.start()])
            name = match.group(1)
            is_builtin = name in BUILTIN_VARS or name.startswith("params.")
            parts.append(Var(name, None if is_builtin else KeyPath.parse(name)))
            position = match.end()
        if not any(isinstance(part, Var) for part in parts):
            return None
        if position < len(text):
            parts.append(text[position:])
        return cls(text, tuple(parts))

    @property
    def vars(self) -> tuple[Var, ...]:
        """The placeholders, in order."""
        return tuple(part for part in self.parts if isinstance(part, Var))

    @property
    def is_single_var(self) -> bool:
        """True when the whole string is one placeholder: its value is used unchanged."""
        return len(self.parts) == 1 and isinstance(self.parts[0], Var)

    def render(self, ctx: Context, touches: Touches | None) -> tuple[object, tuple[str, ...]]:
        """The value, and each placeholder's text (for diagnosing near misses)."""
        values = [var.value(ctx, touches) for var in self.vars]
        if self.is_single_var:
            return values[0], ()
        if any(value is None for value in values):
            return None, ()
        texts = tuple(as_text(value) for value in values)
        pending = iter(texts)
        rendered = [next(pending) if isinstance(part, Var) else part for part in self.parts]
        return "".join(rendered), texts

    def render_text(self, ctx: Context) -> str:
        """Human text (titles, names, remediation): a missing value shows as ``<name>``."""
        rendered: list[str] = []
        for part in self.parts:
            if isinstance(part, Var):
                value = part.value(ctx, None)
                rendered.append(f"<{part.name}>" if value is None else as_text(value))
            else:
                rendered.append(part)
        return "".join(rendered)

    def pattern(self) -> re.Pattern[str]:
        """A regex matching a string of this shape at its start; one group per placeholder.

        A placeholder stands for one piece of a URL authority or path, never a delimiter,
        so ``https://auth.acme2.rapticore.io/oauth2/idpresponse/`` still lines up with
        ``https://auth.{tenant}.{base_domain}/oauth2/idpresponse``.
        """
        regex = "".join(
            r"([^/?#:@\s]+?)" if isinstance(part, Var) else re.escape(part) for part in self.parts
        )
        if self.parts and isinstance(self.parts[-1], Var):
            # A trailing placeholder takes its whole piece, up to the next delimiter:
            # otherwise the lazy group would stop after one character.
            regex += r"(?![^/?#:@\s])"
        return re.compile(regex, re.IGNORECASE)


def as_text(value: object) -> str:
    """A value as it reads inside a sentence: lists joined, mappings as ``k <- v``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(as_text(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} <- {as_text(item)}" for key, item in value.items())
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


# ------------------------------------------------------------------------- operands


@dataclass(frozen=True)
class Operand:
    """A resolved operand: its value and where it came from."""

    value: object
    template: Template | None = None
    template_values: tuple[str, ...] = ()
    source: str | None = None  # the snapshot path of a reference, for messages


class OperandSpec:
    """An operand as written in the rule file, compiled."""

    def resolve(self, ctx: Context, touches: Touches | None) -> Operand:
        """The operand's value for one tenant."""
        raise NotImplementedError

    def is_dropped_when_missing(self) -> bool:
        """Whether a missing value disappears from an enclosing list."""
        return False


@dataclass(frozen=True)
class LiteralOperand(OperandSpec):
    """A plain value from the rule file."""

    value: object

    def resolve(self, ctx: Context, touches: Touches | None) -> Operand:  # noqa: ARG002 - one signature for all operands
        """The value itself."""
        return Operand(self.value)


@dataclass(frozen=True)
class TemplateOperand(OperandSpec):
    """A string with placeholders."""

    template: Template

    def resolve(self, ctx: Context, touches: Touches | None) -> Operand:
        """The rendered string (or the placeholder's own value)."""
        value, texts = self.template.render(ctx, touches)
        return Operand(value, self.template, texts)

    def is_dropped_when_missing(self) -> bool:
        """Templates drop out of lists when a placeholder has no value."""
        return True


@dataclass(frozen=True)
class RefOperand(OperandSpec):
    """``{ref: path}``: a value from elsewhere in the snapshot."""

    path: KeyPath

    def resolve(self, ctx: Context, touches: Touches | None) -> Operand:
        """The value at the path."""
        return Operand(resolve(ctx.snapshot, self.path, touches), source=self.path.text)

    def is_dropped_when_missing(self) -> bool:
        """References drop out of lists when the value is missing."""
        return True


@dataclass(frozen=True)
class ListOperand(OperandSpec):
    """A list of operands."""

    items: tuple[OperandSpec, ...]

    def resolve(self, ctx: Context, touches: Touches | None) -> Operand:
        """Each item resolved; missing templates and references left out."""
        values: list[object] = []
        for item in self.items:
            value = item.resolve(ctx, touches).value
            if value is None and item.is_dropped_when_missing():
                continue
            values.append(value)
        return Operand(values)


@dataclass(frozen=True)
class MapOperand(OperandSpec):
    """A mapping of operands."""

    items: tuple[tuple[str, OperandSpec], ...]

    def resolve(self, ctx: Context, touches: Touches | None) -> Operand:
        """Each value resolved."""
        return Operand({key: spec.resolve(ctx, touches).value for key, spec in self.items})
