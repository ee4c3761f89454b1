"""The report formats the CLI can write, and the single mapping from format to writer."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, assert_never

from auditor.report.html_report import html_chunks
from auditor.report.json_report import json_chunks

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from auditor.results import RunView
    from auditor.store.trend import TrendPoint


class ReportFormat(StrEnum):
    """A report the CLI can write; the value is what ``--format`` accepts."""

    JSON = "json"
    HTML = "html"

    @property
    def filename(self) -> str:
        """The file this format is written to inside ``--output``."""
        match self:
            case ReportFormat.JSON:
                return "report.json"
            case ReportFormat.HTML:
                return "report.html"
            case _:
                assert_never(self)


def _choices() -> str:
    return ", ".join(fmt.value for fmt in ReportFormat)


def parse_formats(text: str) -> list[ReportFormat]:
    """The formats named in a comma-separated list such as ``"json,html"``.

    Names are case-insensitive and may carry spaces; a repeated name counts once and the
    order given is kept. Raises :class:`ValueError` naming the bad name and the choices.
    """
    formats: list[ReportFormat] = []
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        try:
            fmt = ReportFormat(name)
        except ValueError:
            raise ValueError(
                f"unknown report format {raw.strip()!r}: choose from {_choices()} "
                f"(comma-separated, e.g. --format json,html)"
            ) from None
        if fmt not in formats:
            formats.append(fmt)
    if not formats:
        raise ValueError(
            f"no report format given: choose one or more of {_choices()} "
            f"(comma-separated, e.g. --format json,html)"
        )
    return formats


def render(
    fmt: ReportFormat,
    report: RunView,
    *,
    trends: Mapping[str, Sequence[TrendPoint]] | None = None,
) -> bytes:
    """The report in format ``fmt``, as the bytes of its file.

    ``trends`` (each tenant's last runs, from :func:`auditor.store.tenant_trends`) is
    shown by the HTML report; the JSON report is the run alone.
    """
    return b"".join(render_stream(fmt, report, trends=trends))


def render_stream(
    fmt: ReportFormat,
    report: RunView,
    *,
    trends: Mapping[str, Sequence[TrendPoint]] | None = None,
) -> Iterator[bytes]:
    """The report in format ``fmt`` as byte chunks, rendered only as they are read.

    Nothing is rendered until the first chunk is asked for, and no chunk is kept: a
    large fleet's report goes to its file without ever being whole in memory.
    """
    match fmt:
        case ReportFormat.JSON:
            yield from json_chunks(report)
        case ReportFormat.HTML:
            yield from html_chunks(report, trends=trends)
        case _:
            assert_never(fmt)


def render_files(
    formats: Sequence[ReportFormat],
    report: RunView,
    *,
    trends: Mapping[str, Sequence[TrendPoint]] | None = None,
) -> dict[str, Iterator[bytes]]:
    """Each format's file name and its content as a stream, for :meth:`Destination.write`.

    ``Destination.parse(output).write(report.run.id, report.run.started_at,
    render_files(formats, report, trends=trends))`` is the whole of writing a run. Each
    stream is lazy and read once: the destination renders one file at a time as it
    writes it, so the two formats are never held at once.
    """
    return {fmt.filename: render_stream(fmt, report, trends=trends) for fmt in formats}
