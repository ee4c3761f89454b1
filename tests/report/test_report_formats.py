"""The format seam: every ReportFormat has a renderer and a file name, and --format parses."""

from __future__ import annotations

import pytest
from report_builders import small_run

from auditor.report import ReportFormat, parse_formats, render, render_files


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_format_maps_to_a_renderer(fmt: ReportFormat) -> None:
    """Each ReportFormat renders a small run to non-empty bytes and names a report.<format> file."""
    data = render(fmt, small_run())
    assert isinstance(data, bytes)
    assert data.strip()
    assert fmt.filename == f"report.{fmt.value}"


def test_formats_have_distinct_files() -> None:
    """No two formats would overwrite each other's file in --output."""
    names = [fmt.filename for fmt in ReportFormat]
    assert len(set(names)) == len(names)
    assert ReportFormat.JSON.filename == "report.json"
    assert ReportFormat.HTML.filename == "report.html"


def test_parse_formats_reads_a_comma_separated_list() -> None:
    """Names are case-insensitive, spaces and repeats are tolerated, and the order given is kept."""
    assert parse_formats("json,html") == [ReportFormat.JSON, ReportFormat.HTML]
    assert parse_formats(" HTML , json,html,") == [ReportFormat.HTML, ReportFormat.JSON]
    assert parse_formats("json") == [ReportFormat.JSON]


def test_parse_formats_names_the_unknown_format_and_the_choices() -> None:
    """An unknown name is a ValueError that quotes it and lists what is accepted."""
    with pytest.raises(ValueError, match=r"unknown report format 'pdf'.*json, html"):
        parse_formats("json,pdf")


def test_parse_formats_refuses_an_empty_list() -> None:
    """An empty --format is a ValueError that says which formats exist."""
    with pytest.raises(ValueError, match=r"no report format given.*json, html"):
        parse_formats(" , ")


def test_render_files_names_each_format_by_its_file() -> None:
    """render_files maps report.html / report.json to streams of render's bytes, in order."""
    run = small_run()
    files = render_files([ReportFormat.HTML, ReportFormat.JSON], run)
    assert list(files) == ["report.html", "report.json"]
    assert b"".join(files["report.json"]) == render(ReportFormat.JSON, run)
    assert b"".join(files["report.html"]) == render(ReportFormat.HTML, run)
