"""Report writers: a :class:`~auditor.results.RunReport` as ``report.json`` and ``report.html``.

Reporters only render: they return bytes (or byte chunks, rendered as they are read:
:func:`render_stream`) and never touch the file system; a
:class:`Destination` (``--output``: a folder or ``s3://bucket/prefix/``) writes them.
Formats plug in through :class:`ReportFormat`; :func:`render` is the one place that maps
each format to its writer.

The names below are loaded on first use (PEP 562), so that a light submodule
(``auditor.report.text``, ``auditor.report.destination``) can be imported by the CLI and
the collectors without paying for Jinja2.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.report.destination import Destination, ReportWriteError
    from auditor.report.formats import (
        ReportFormat,
        parse_formats,
        render,
        render_files,
        render_stream,
    )
    from auditor.report.html_report import html_chunks, render_html
    from auditor.report.json_report import json_chunks, load_schema, render_json, report_document

_WHERE = {
    "Destination": "destination",
    "ReportWriteError": "destination",
    "ReportFormat": "formats",
    "parse_formats": "formats",
    "render": "formats",
    "render_files": "formats",
    "render_stream": "formats",
    "html_chunks": "html_report",
    "render_html": "html_report",
    "json_chunks": "json_report",
    "load_schema": "json_report",
    "render_json": "json_report",
    "report_document": "json_report",
}

__all__ = [
    "Destination",
    "ReportFormat",
    "ReportWriteError",
    "html_chunks",
    "json_chunks",
    "load_schema",
    "parse_formats",
    "render",
    "render_files",
    "render_html",
    "render_json",
    "render_stream",
    "report_document",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
