"""``report.json``: the machine-readable report (CONTRACT section 4) and its JSON Schema.

The document is the :class:`~auditor.results.RunReport` model itself, dumped in field
order, so every key is always present (``null`` where nothing applies). The output is
deterministic: tenants in the order given, keys in a fixed order, UTF-8, one trailing
newline, so two renders of the same report are byte-identical and diff cleanly.

:func:`json_chunks` writes it as a stream: the report's head, then one tenant at a time,
then its tail. Only one tenant's dump is in memory at once (a fleet's report is about
17 kB a tenant), and the bytes are exactly those of ``json.dumps(document, indent=2)``:
a value nested ``d`` levels deep is that value's own ``indent=2`` dump with ``2 * d``
spaces after each newline (JSON strings hold no raw newline, so this is exact).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import Iterator

    from auditor.results import RunReport, RunView

SCHEMA_RESOURCE = "report.schema.json"
TENANTS_KEY = "tenants"
# A tenant's dump is small; chunks of about this many bytes keep writes few and large.
CHUNK_BYTES = 1 << 16


def report_document(report: RunReport) -> dict[str, Any]:
    """The report as plain JSON data (dicts, lists, strings, numbers, null).

    The whole run at once: for a large fleet use :func:`json_chunks`, which never holds it.
    """
    return report.model_dump(mode="json")


def render_json(report: RunView) -> bytes:
    """The bytes of ``report.json`` (all of them: :func:`json_chunks` streams them)."""
    return b"".join(json_chunks(report))


def _dumps(value: Any, depth: int) -> str:  # noqa: ANN401 - any JSON value
    text = json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)
    return text.replace("\n", "\n" + "  " * depth) if depth else text


def json_chunks(report: RunView) -> Iterator[bytes]:
    """``report.json`` as UTF-8 chunks, one tenant dumped at a time.

    The concatenation equals ``json.dumps(report_document(report), ensure_ascii=False,
    indent=2, allow_nan=False)`` plus a newline, encoded in UTF-8, byte for byte.
    """
    keys = list(_report_model().model_fields)  # a streamed report has the model's fields
    pending: list[str] = ["{"]
    size = 1
    for index, key in enumerate(keys):
        comma = "," if index < len(keys) - 1 else ""
        pending.append(f"\n  {json.dumps(key, ensure_ascii=False)}: ")
        if key != TENANTS_KEY:
            pending.append(_dumps(_plain(getattr(report, key)), 1) + comma)
            continue
        tenants = report.tenants
        if not tenants:
            pending.append("[]" + comma)
            continue
        pending.append("[")
        for position, tenant in enumerate(tenants):
            text = _dumps(tenant.model_dump(mode="json"), 2)
            pending.append(f"\n    {text}" + ("," if position < len(tenants) - 1 else ""))
            size += len(text)
            if size >= CHUNK_BYTES:
                yield "".join(pending).encode("utf-8")
                pending, size = [], 0
        pending.append("\n  ]" + comma)
    pending.append("\n}\n")
    yield "".join(pending).encode("utf-8")


def _plain(value: Any) -> Any:  # noqa: ANN401 - a report field: a model, a list of them, text
    """A report field as JSON data, as ``RunReport.model_dump(mode="json")`` has it."""
    from pydantic import BaseModel  # noqa: PLC0415 - loaded by the report's models anyway

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _report_model() -> type[RunReport]:
    from auditor.results import RunReport  # noqa: PLC0415 - the module loads without pydantic

    return RunReport


@cache
def _schema_text() -> str:
    return resources.files("auditor.report").joinpath(SCHEMA_RESOURCE).read_text("utf-8")


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every ``report.json`` validates against."""
    return cast("dict[str, Any]", json.loads(_schema_text()))
