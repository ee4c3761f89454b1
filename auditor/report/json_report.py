"""``report.json``: the machine-readable report (CONTRACT section 4) and its JSON Schema.

The document is the :class:`~auditor.results.RunReport` model itself, dumped in field
order, so every key is always present (``null`` where nothing applies). The output is
deterministic: tenants in the order given, keys in a fixed order, UTF-8, one trailing
newline, so two renders of the same report are byte-identical and diff cleanly.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from auditor.results import RunReport

SCHEMA_RESOURCE = "report.schema.json"


def report_document(report: RunReport) -> dict[str, Any]:
    """The report as plain JSON data (dicts, lists, strings, numbers, null)."""
    return report.model_dump(mode="json")


def render_json(report: RunReport) -> bytes:
    """The bytes of ``report.json``."""
    text = json.dumps(report_document(report), ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


@cache
def _schema_text() -> str:
    return resources.files("auditor.report").joinpath(SCHEMA_RESOURCE).read_text("utf-8")


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every ``report.json`` validates against."""
    return cast("dict[str, Any]", json.loads(_schema_text()))
