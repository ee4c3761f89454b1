"""The rule-file format, as pydantic models: validated before any API call.

Every model forbids unknown keys, so ``opp: equals`` or ``severty: high`` is an error
with its file and line, not a silently ignored setting. This module checks the *shape*;
:mod:`auditor.rules.loader` then checks the meaning (operators, key paths, regexes,
placeholders) and compiles the condition.

A rule file (``rules/<id>.yaml``)::

    id: okta_app_active                # == the file name
    title: ...
    severity: critical                 # the default; the config may override it
    rationale: ...                     # what breaks, or what risk opens
    remediation: ...                   # steps to fix it; {tenant}, {base_domain} filled in
    references: [https://...]
    requires: [okta.app]               # optional: sections that must have been collected
    condition: {key: okta.app.status, op: equals, value: ACTIVE}

A condition is a check (``key`` / ``op`` / ``value`` and the operator's options) or a
combinator: ``all: [...]``, ``any: [...]``, ``not: {...}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from auditor.results import Severity

RULE_ID_PATTERN = r"^[a-z][a-z0-9_]{2,63}$"
Normalizer = Literal["trim", "lower", "split"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CheckSpec(_Strict):
    """One check: the value at ``key``, tested by ``op`` against ``value``."""

    key: str = Field(description="Key path into the snapshot (or into the item, in where:).")
    op: str = Field(description="An operator name from the table (auditor rules ops).")
    value: Any = Field(default=None, description="The operand: literal, template or {ref:}.")
    name: str | None = Field(default=None, description="How messages name the value.")
    hint: str | None = Field(default=None, description="Appended to the failure message.")
    normalize: list[Normalizer] = Field(
        default_factory=list, description="Applied to both sides first: trim, lower, split."
    )
    where: ConditionSpec | None = Field(
        default=None, description="Item operators: the condition each item is checked with."
    )
    item: str | None = Field(default=None, description="What an item is called (grant).")
    label: str | None = Field(default=None, description="Item field that names it (scopeId).")
    by: str | None = Field(default=None, description="covers: the item field to match.")
    at: str | None = Field(default=None, description="has_entries: the field in each entry.")


class AllSpec(_Strict):
    """Every sub-condition holds."""

    all_: list[ConditionSpec] = Field(alias="all", min_length=1)


class AnySpec(_Strict):
    """At least one sub-condition holds."""

    any_: list[ConditionSpec] = Field(alias="any", min_length=1)


class NotSpec(_Strict):
    """The sub-condition does not hold."""

    not_: ConditionSpec = Field(alias="not")


def _condition_kind(data: object) -> str | None:
    if isinstance(data, dict):
        for word in ("all", "any", "not"):
            if word in data:
                return f"<{word}>"
        return "<check>"
    if isinstance(data, BaseModel):
        kinds = {AllSpec: "<all>", AnySpec: "<any>", NotSpec: "<not>", CheckSpec: "<check>"}
        return kinds.get(type(data))
    return None


# Tags are written <like this> so the loader can drop them from error locations.
ConditionSpec = Annotated[
    Annotated[CheckSpec, Tag("<check>")]
    | Annotated[AllSpec, Tag("<all>")]
    | Annotated[AnySpec, Tag("<any>")]
    | Annotated[NotSpec, Tag("<not>")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message=(
            "a condition must be a mapping: key/op/value, or all: [...], any: [...], not: {...}"
        ),
    ),
]


class RuleSpec(_Strict):
    """A whole rule file."""

    id: str = Field(pattern=RULE_ID_PATTERN)
    title: str = Field(min_length=1)
    severity: Severity
    rationale: str = Field(min_length=1)
    remediation: str = Field(min_length=1)
    references: list[Annotated[str, Field(pattern=r"^https?://\S+$")]] = Field(min_length=1)
    requires: list[str] = Field(default_factory=list)
    condition: ConditionSpec


ParamType = Literal["string_list", "string_map", "string"]


class ParamSpec(_Strict):
    """A pack parameter that rules read as ``{params.<name>}``."""

    description: str = Field(min_length=1)
    type: ParamType
    default: Any


class PackSpec(_Strict):
    """``pack.yaml``: the pack's name, the catalog order and the parameters."""

    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    description: str | None = None
    rules: list[Annotated[str, Field(pattern=RULE_ID_PATTERN)]] = Field(min_length=1)
    params: dict[str, ParamSpec] = Field(default_factory=dict)


class OverridesSpec(_Strict):
    """The config's ``rules:`` mapping."""

    params: dict[str, Any] = Field(default_factory=dict)
    severity: dict[str, Severity] = Field(default_factory=dict)


for _model in (CheckSpec, AllSpec, AnySpec, NotSpec, RuleSpec):
    _model.model_rebuild()
