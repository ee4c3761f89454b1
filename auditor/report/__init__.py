"""Report writers: a :class:`~auditor.results.RunReport` as ``report.json`` and ``report.html``.

Reporters only render: they return bytes and never touch the file system; a
:class:`Destination` (``--output``: a folder or ``s3://bucket/prefix/``) writes them.
Formats plug in through :class:`ReportFormat`; :func:`render` is the one place that maps
each format to its writer.
"""

from auditor.report.destination import Destination, ReportWriteError
from auditor.report.formats import ReportFormat, parse_formats, render, render_files
from auditor.report.html_report import render_html
from auditor.report.json_report import load_schema, render_json, report_document

__all__ = [
    "Destination",
    "ReportFormat",
    "ReportWriteError",
    "load_schema",
    "parse_formats",
    "render",
    "render_files",
    "render_html",
    "render_json",
    "report_document",
]
