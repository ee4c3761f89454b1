"""Loading a rule pack: read, validate, compile. Every mistake is an InputError with a line.

Order of checks, all before any API call:

1. YAML syntax (:func:`auditor.yamlsource.load_yaml`);
2. shape, with pydantic and ``extra="forbid"`` (:mod:`auditor.rules.schema`);
3. meaning: the id equals the file name, every operator exists and gets the operand and
   options it needs, every key path exists in the snapshot models, every regex compiles,
   every ``{placeholder}`` is known;
4. the pack: ``pack.yaml`` lists exactly the rule files present, parameters have the
   declared types, and the config's overrides name known parameters and rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from auditor.errors import InputError
from auditor.rules.engine import AllOf, AnyOf, Condition, Leaf, NotOf, Rule, RulePack, Text
from auditor.rules.operators import OPERATORS, Operator
from auditor.rules.paths import (
    KeyPath,
    TypeInfo,
    crosses_section,
    entry_type,
    is_section_type,
    item_type,
    type_at,
)
from auditor.rules.schema import (
    AllSpec,
    AnySpec,
    CheckSpec,
    ConditionSpec,
    NotSpec,
    OverridesSpec,
    PackSpec,
    ParamSpec,
    RuleSpec,
)
from auditor.rules.values import (
    BUILTIN_VARS,
    ListOperand,
    LiteralOperand,
    MapOperand,
    OperandSpec,
    RefOperand,
    Template,
    TemplateOperand,
)
from auditor.snapshot import TenantSnapshot
from auditor.yamlsource import LineIndex, Loc, explain, load_yaml

if TYPE_CHECKING:
    from auditor.results import Severity

PACK_FILE = "pack.yaml"
_M = TypeVar("_M", bound=BaseModel)

_PARAM_TYPES: dict[str, TypeAdapter[Any]] = {
    "string_list": TypeAdapter(list[str]),
    "string_map": TypeAdapter(dict[str, str]),
    "string": TypeAdapter(str),
}
_PARAM_KIND = {"string_list": "list", "string_map": "map", "string": "scalar"}


def default_rules_dir() -> Path:
    """The packaged rules: ``auditor/_data/rules`` in a wheel, else ``<repo>/rules``."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_data" / "rules"
    if installed.is_dir():
        return installed
    return package.parent / "rules"


# ------------------------------------------------------------------------ validation


def _validate(model: type[_M], data: object, index: LineIndex, base: Loc = ()) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise index.invalid(exc, model, base) from None


class _Compiler:
    """Turns one validated rule file into engine objects, checking what pydantic cannot."""

    def __init__(self, index: LineIndex, params: Mapping[str, ParamSpec]) -> None:
        self.index = index
        self.params = params

    def fail(self, loc: Loc, message: str) -> InputError:
        return self.index.error(loc, message)

    # ---- paths and placeholders

    def path(self, text: str, root: TypeInfo, loc: Loc) -> tuple[KeyPath, TypeInfo]:
        try:
            path = KeyPath.parse(text)
            return path, type_at(root, path)
        except ValueError as exc:
            raise self.fail(loc, str(exc)) from None

    def template(self, text: str, loc: Loc, *, in_text: bool = False) -> Template | None:
        try:
            template = Template.parse(text)
        except ValueError as exc:
            raise self.fail(loc, str(exc)) from None
        if template is None:
            return None
        for var in template.vars:
            if var.name in BUILTIN_VARS:
                continue
            if var.name.startswith("params."):
                param = var.name.removeprefix("params.")
                if param not in self.params:
                    known = ", ".join(sorted(self.params)) or "none"
                    raise self.fail(loc, f"unknown parameter {{{var.name}}} (known: {known})")
                continue
            path, _ = self.path(var.name, TenantSnapshot, loc)
            if in_text and crosses_section(TenantSnapshot, path):
                raise self.fail(
                    loc,
                    f"{{{var.name}}} reads a collected section; texts may only use tenant, "
                    "base_domain, params and configured values (okta.org_url, cognito.*_id...)",
                )
        return template

    def text(self, text: str, loc: Loc) -> Text:
        return self.template(text, loc, in_text=True) or text

    # ---- operands

    def operand(self, value: object, loc: Loc) -> OperandSpec:
        if isinstance(value, str):
            template = self.template(value, loc)
            return TemplateOperand(template) if template else LiteralOperand(value)
        if isinstance(value, dict) and "ref" in value:
            if set(value) != {"ref"} or not isinstance(value["ref"], str):
                raise self.fail(loc, "a reference is written {ref: a.key.path} and nothing else")
            path, _ = self.path(value["ref"], TenantSnapshot, (*loc, "ref"))
            return RefOperand(path)
        if isinstance(value, list):
            return ListOperand(tuple(self.operand(v, (*loc, i)) for i, v in enumerate(value)))
        if isinstance(value, dict):
            return MapOperand(tuple((k, self.operand(v, (*loc, k))) for k, v in value.items()))
        return LiteralOperand(value)

    def operand_kind(self, op: Operator, value: object, loc: Loc) -> None:
        """Check a literal operand (or a whole-parameter one) has the operator's shape."""
        kind = self._kind_of(value)
        if kind is None:  # a reference or a template: known only per tenant
            return
        allowed = {
            "any": {"scalar", "list", "map", "null"},
            "scalar": {"scalar"},
            "list": {"list"},
            "map": {"map"},
            "text": {"scalar"},
            "text_or_list": {"scalar", "list"},
        }[op.operand]
        if kind not in allowed:
            wanted = {"text": "a string", "text_or_list": "a string or a list"}.get(
                op.operand, f"a {op.operand}"
            )
            raise self.fail(loc, f"{op.name} needs {wanted} as value, not a {kind}")

    def _kind_of(self, value: object) -> str | None:
        """The operand's shape (null, list, map, scalar); None when known only per tenant."""
        if isinstance(value, dict):
            return None if "ref" in value else "map"
        if not isinstance(value, str):
            return {type(None): "null", list: "list"}.get(type(value), "scalar")
        template = Template.parse(value)
        if template is None:
            return "scalar"
        if not template.is_single_var:
            return "scalar"
        name = template.vars[0].name
        param = (
            self.params.get(name.removeprefix("params.")) if name.startswith("params.") else None
        )
        return _PARAM_KIND[param.type] if param else None

    # ---- conditions

    def condition(self, spec: ConditionSpec, root: TypeInfo, loc: Loc) -> Condition:
        if isinstance(spec, AllSpec):
            return AllOf(self._parts(spec.all_, root, (*loc, "all")))
        if isinstance(spec, AnySpec):
            return AnyOf(self._parts(spec.any_, root, (*loc, "any")))
        if isinstance(spec, NotSpec):
            return NotOf(self.condition(spec.not_, root, (*loc, "not")))
        return self.check(spec, root, loc)

    def _parts(self, specs: list[ConditionSpec], root: TypeInfo, loc: Loc) -> tuple[Condition, ...]:
        return tuple(self.condition(spec, root, (*loc, i)) for i, spec in enumerate(specs))

    def check(self, spec: CheckSpec, root: TypeInfo, loc: Loc) -> Leaf:
        op = OPERATORS.get(spec.op)
        if op is None:
            known = ", ".join(sorted(OPERATORS))
            raise self.fail((*loc, "op"), f"unknown operator {spec.op!r} (known: {known})")
        key, key_type = self.path(spec.key, root, (*loc, "key"))
        self._check_options(op, spec, loc)
        pattern = self._pattern(op, spec, loc)
        operand: OperandSpec | None = None
        if op.operand not in ("none", "regex"):
            if "value" not in spec.model_fields_set:
                raise self.fail((*loc, "op"), f"{op.name} needs a value:")
            self.operand_kind(op, spec.value, (*loc, "value"))
            operand = self.operand(spec.value, (*loc, "value"))
        elif op.operand == "none" and "value" in spec.model_fields_set:
            raise self.fail((*loc, "value"), f"{op.name} takes no value:")
        where: Condition | None = None
        if spec.where is not None:
            where = self.condition(spec.where, item_type(key_type), (*loc, "where"))
        elements = item_type(key_type)
        return Leaf(
            key=key,
            op=op,
            operand=operand,
            pattern=pattern,
            name=self.text(spec.name, (*loc, "name")) if spec.name else None,
            hint=spec.hint,
            normalize=tuple(spec.normalize),
            where=where,
            item=spec.item,
            label=self.path(spec.label, elements, (*loc, "label"))[0] if spec.label else None,
            by=self.path(spec.by, elements, (*loc, "by"))[0] if spec.by else None,
            at=self.path(spec.at, entry_type(key_type), (*loc, "at"))[0] if spec.at else None,
        )

    def _check_options(self, op: Operator, spec: CheckSpec, loc: Loc) -> None:
        if op.nested and spec.where is None and not op.where_optional:
            raise self.fail((*loc, "op"), f"{op.name} needs a where: condition for each item")
        if not op.nested and spec.where is not None:
            raise self.fail((*loc, "where"), f"{op.name} takes no where: (only item operators)")
        for option in ("item", "label", "by", "at"):
            if getattr(spec, option) is not None and option not in op.extras:
                raise self.fail((*loc, option), f"{op.name} takes no {option}:")
        if op.name == "covers" and spec.by is None:
            raise self.fail((*loc, "op"), "covers needs by: (the item field to match)")

    def _pattern(self, op: Operator, spec: CheckSpec, loc: Loc) -> re.Pattern[str] | None:
        if op.operand != "regex":
            return None
        if not isinstance(spec.value, str):
            raise self.fail(
                (*loc, "value") if spec.value is not None else (*loc, "op"),
                f"{op.name} needs a regular expression (a string) as value",
            )
        try:
            return re.compile(spec.value)
        except re.error as exc:
            raise self.fail((*loc, "value"), f"invalid regular expression: {exc}") from None

    def requires(self, texts: list[str]) -> tuple[KeyPath, ...]:
        paths = []
        for i, text in enumerate(texts):
            path, tp = self.path(text, TenantSnapshot, ("requires", i))
            if not is_section_type(tp):
                raise self.fail(
                    ("requires", i), f"{text!r} is not a section (okta.app, cognito.idp...)"
                )
            paths.append(path)
        return tuple(paths)


def parse_condition(
    data: object, *, params: Mapping[str, ParamSpec] | None = None, source: Path | None = None
) -> Condition:
    """Validate and compile one condition given as plain data (tests, tools).

    Errors are :class:`InputError` naming ``source`` (no line: the data has none).
    """
    index = LineIndex(source or Path("<condition>"))
    wrapper = _validate(_ConditionHolder, {"condition": data}, index)
    return _Compiler(index, params or {}).condition(
        wrapper.condition, TenantSnapshot, ("condition",)
    )


class _ConditionHolder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    condition: ConditionSpec


def _load_rule(path: Path, params: Mapping[str, ParamSpec]) -> Rule:
    data, index = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError(path, 1, "a rule file must be a mapping with id, title, condition...")
    spec = _validate(RuleSpec, data, index)
    if spec.id != path.stem:
        raise index.error(("id",), f"id {spec.id!r} must equal the file name {path.stem!r}")
    compiler = _Compiler(index, params)
    condition = compiler.condition(spec.condition, TenantSnapshot, ("condition",))
    remediation = compiler.text(spec.remediation.strip(), ("remediation",))
    return Rule(
        id=spec.id,
        title=spec.title,
        severity=spec.severity,
        default_severity=spec.severity,
        rationale=spec.rationale.strip(),
        remediation=spec.remediation.strip(),
        references=tuple(spec.references),
        requires=compiler.requires(spec.requires),
        condition=condition,
        source=path,
        remediation_template=remediation if isinstance(remediation, Template) else None,
    )


# ------------------------------------------------------------------------- overrides


def _override_error(lines: LineIndex | None, base: Loc, loc: Loc, message: str) -> InputError:
    full = (*base, *loc)
    where = ".".join(str(part) for part in full)
    if lines is None:
        return InputError(None, None, f"{where}: {message}")
    return lines.error(full, f"{where}: {message}")


def _apply_overrides(
    params: dict[str, object],
    specs: Mapping[str, ParamSpec],
    overrides: Mapping[str, object],
    lines: LineIndex | None,
    base: Loc,
) -> dict[str, Severity]:
    """Check ``overrides``; update ``params``; return the severity overrides."""
    if not isinstance(overrides, Mapping):
        raise _override_error(lines, base, (), "must be a mapping with params: and severity:")
    try:
        spec = OverridesSpec.model_validate(overrides)
    except ValidationError as exc:
        loc, message = explain(exc, OverridesSpec, base)
        if lines is None:
            raise InputError(None, None, message) from None
        raise lines.error(loc, message) from None
    for name, value in spec.params.items():
        if name not in specs:
            known = ", ".join(sorted(specs))
            raise _override_error(
                lines, base, ("params", name), f"unknown parameter (known: {known})"
            )
        try:
            params[name] = _PARAM_TYPES[specs[name].type].validate_python(value)
        except ValidationError:
            wanted = {
                "string_list": "a list of strings",
                "string_map": "a mapping of strings",
                "string": "a string",
            }[specs[name].type]
            raise _override_error(lines, base, ("params", name), f"must be {wanted}") from None
    return dict(spec.severity)


# ------------------------------------------------------------------------------ pack


def _pack_dir(path: Path | None) -> Path:
    root = default_rules_dir() if path is None else Path(path)
    if root.is_file() and root.name == PACK_FILE:
        root = root.parent
    if not root.is_dir():
        raise InputError(root, None, "rule pack directory not found")
    if not (root / PACK_FILE).is_file():
        raise InputError(root / PACK_FILE, None, "a rule pack needs a pack.yaml (file not found)")
    return root


def load_rule_pack(
    path: Path | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    overrides_lines: LineIndex | None = None,
    overrides_loc: Loc = ("rules",),
) -> RulePack:
    """Load and validate the rule pack in directory ``path`` (default: the packaged one).

    ``overrides`` is the config's ``rules:`` mapping (``params:`` and ``severity:``).
    Every problem raises :class:`InputError`: a rule file's names that file and line; an
    override's names the config file and line when ``overrides_lines`` (the config's
    :class:`LineIndex`) is given, with ``overrides_loc`` the path of ``rules:`` in it,
    and otherwise has no file (``path is None``) and a message starting ``rules.params.x:``
    that the caller can wrap.
    """
    root = _pack_dir(path)
    pack_path = root / PACK_FILE
    data, index = load_yaml(pack_path)
    if not isinstance(data, dict):
        raise InputError(pack_path, 1, "pack.yaml must be a mapping with name, version, rules")
    pack = _validate(PackSpec, data, index)
    params: dict[str, object] = {}
    for name, spec in pack.params.items():
        try:
            params[name] = _PARAM_TYPES[spec.type].validate_python(spec.default)
        except ValidationError:
            raise index.error(
                ("params", name, "default"), f"default does not match type {spec.type}"
            ) from None
    severities = _apply_overrides(
        params, pack.params, overrides or {}, overrides_lines, overrides_loc
    )
    _check_listing(root, pack, index)
    rules = [_load_rule(root / f"{rule_id}.yaml", pack.params) for rule_id in pack.rules]
    for rule_id in severities:
        if rule_id not in pack.rules:
            raise _override_error(
                overrides_lines, overrides_loc, ("severity", rule_id), "unknown rule id"
            )
    rules = [
        _with_severity(rule, severities[rule.id]) if rule.id in severities else rule
        for rule in rules
    ]
    return RulePack(
        name=pack.name,
        version=pack.version,
        path=root,
        rules=tuple(rules),
        params=MappingProxyType(params),
        description=pack.description,
    )


def _with_severity(rule: Rule, severity: Severity) -> Rule:
    fields = {name: getattr(rule, name) for name in rule.__dataclass_fields__}
    fields["severity"] = severity
    return Rule(**fields)


def _check_listing(root: Path, pack: PackSpec, index: LineIndex) -> None:
    """pack.yaml lists each rule file exactly once, and every rule file is listed."""
    seen: set[str] = set()
    for i, rule_id in enumerate(pack.rules):
        if rule_id in seen:
            raise index.error(("rules", i), f"rule {rule_id!r} is listed twice")
        seen.add(rule_id)
        if not (root / f"{rule_id}.yaml").is_file():
            raise index.error(("rules", i), f"rule {rule_id!r} has no file {rule_id}.yaml")
    for file in sorted(root.iterdir()):
        if file.name == PACK_FILE or file.name.startswith("."):
            continue
        if file.suffix == ".yml":
            raise InputError(file, None, "rule files end in .yaml")
        if file.suffix == ".yaml" and file.stem not in seen:
            raise InputError(file, 1, f"rule file is not listed in {PACK_FILE} rules:")
