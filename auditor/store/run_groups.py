"""Run groups (CONTRACT section 7): the shards of one fleet run, recorded under one id.

``auditor audit --shard I/N --run-group ID`` records its run as usual, then
:meth:`RunGroups.record_shard` files that run as shard ``I`` of ``N`` of the group:
a shard recorded again replaces its earlier entry. ``auditor report --run-group ID``
reads :meth:`RunGroups.shards` and reports the whole run once every shard is there.

A shard's final report is kept as zlib-compressed JSON Lines: a line with the report's
head (:class:`ReportHead`), then one :class:`~auditor.results.TenantReport` a line,
written as it is rendered and read back one tenant at a time, so neither recording a
shard nor combining a fleet's shards holds a whole report (issue 9). Rows recorded before
that hold the whole ``report.json`` compressed; they are still read, whole.
"""

from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from pydantic import Field
from sqlalchemy import select

from auditor.results import (
    REPORT_SCHEMA_VERSION,
    Frozen,
    RunInfo,
    RunReport,
    RunView,
    Summary,
    TenantReport,
    WaiverIssue,
)
from auditor.store.engine import transaction
from auditor.store.errors import StoreError, UnknownRun
from auditor.store.schema import RunGroupShardRow, RunRow

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from auditor.store.store import Store

# Names a Kubernetes label value or a file name could carry as they are.
RUN_GROUP_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RunGroupMismatch(StoreError, ValueError):  # noqa: N818 - reads as the situation it names
    """A shard was recorded with another shard count than the group's other shards."""


def check_run_group(group_id: str) -> str:
    """``group_id`` when it is a valid run group id, else ValueError saying what is allowed."""
    if not RUN_GROUP_PATTERN.match(group_id):
        raise ValueError(
            f"run group {group_id!r} must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. nightly-20261127)"
        )
    return group_id


# A shard report in JSON Lines starts with these bytes, then its zlib stream. A row
# recorded before holds a bare zlib stream, whose first byte (CMF: method 8, deflate) is
# never an "A": the two formats cannot be mistaken for each other.
LINES_FORMAT: Final = b"AUDITOR-JSONL/1\n"
_COMPRESSION = 6  # zlib's default
# Compressed bytes fed to the decompressor at a time, and the most it may give back at
# once (JSON Lines of a fleet compress up to 30 times): a few tenants' text at a time.
_READ_BYTES = 1 << 14
_PIECE_BYTES = 1 << 16


class ReportHead(Frozen):
    """A stored shard report's first line: everything in it but its tenants."""

    schema_version: str = REPORT_SCHEMA_VERSION
    run: RunInfo
    summary: Summary
    waivers: list[WaiverIssue] = Field(default_factory=list)


class DamagedShardReport(StoreError, ValueError):  # noqa: N818 - reads as the situation it names
    """A shard's stored report cannot be read back whole (truncated or corrupted)."""


@dataclass(frozen=True, slots=True)
class ShardEntry:
    """A recorded shard's place and run, without its report: cheap to poll for."""

    index: int
    count: int
    run_id: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class GroupShard:
    """One recorded shard of a run group: its place, its run, and its report.

    The report is read on demand: :meth:`head` then :meth:`tenants`, one at a time.
    """

    index: int
    count: int
    run_id: str
    recorded_at: datetime
    _report: bytes

    def head(self) -> ReportHead:
        """The shard report's run, summary and waivers, without reading its tenants."""
        if not self._report.startswith(LINES_FORMAT):
            return _head_of(self._whole())
        return ReportHead.model_validate_json(next(self._lines(), b""))

    def tenants(self) -> Iterator[TenantReport]:
        """The shard's tenants in its report's order, each read when it is asked for.

        Raises :class:`DamagedShardReport` when the stored report ends too early.
        """
        if not self._report.startswith(LINES_FORMAT):
            yield from self._whole().tenants
            return
        lines = self._lines()
        next(lines, None)  # the head
        for line in lines:
            yield TenantReport.model_validate_json(line)

    def report(self) -> RunReport:
        """The shard's final report, as its ``audit`` wrote it, whole (small shards, tests)."""
        head = self.head()
        return RunReport(
            schema_version=head.schema_version, run=head.run, summary=head.summary,
            tenants=list(self.tenants()), waivers=head.waivers,
        )

    def _whole(self) -> RunReport:
        # A row recorded before the JSON Lines format: report.json, compressed whole.
        try:
            data = zlib.decompress(self._report)
        except zlib.error as exc:
            raise self._damaged(exc) from None
        return RunReport.model_validate_json(data)

    def _lines(self) -> Iterator[bytes]:
        """The report's lines, decompressed a slice of the row at a time."""
        try:
            yield from _split_lines(_inflated(memoryview(self._report)[len(LINES_FORMAT):]))
        except (zlib.error, EOFError) as exc:
            raise self._damaged(exc) from None

    def _damaged(self, why: object) -> DamagedShardReport:
        return DamagedShardReport(
            f"shard {self.index}/{self.count}'s stored report (run {self.run_id}) cannot be "
            f"read ({why}): run the shard again"
        )


def _inflated(data: memoryview) -> Iterator[bytes]:
    """``data``'s zlib stream, decompressed in pieces of at most :data:`_PIECE_BYTES`."""
    unpacker = zlib.decompressobj()
    for start in range(0, len(data), _READ_BYTES):
        chunk: bytes | memoryview = data[start:start + _READ_BYTES]
        while chunk:
            yield unpacker.decompress(chunk, _PIECE_BYTES)
            chunk = unpacker.unconsumed_tail
    yield unpacker.flush()
    if not unpacker.eof or unpacker.unused_data:
        raise EOFError("the stored report is cut short or has bytes after its end")


def _split_lines(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The newline-ended lines of the text ``pieces`` make, each as soon as it is whole."""
    pending = bytearray()
    for piece in pieces:
        begin, scan = 0, len(pending)  # what was pending holds no newline: it was searched
        pending += piece
        while (end := pending.find(b"\n", scan)) >= 0:
            yield bytes(pending[begin:end])
            begin = scan = end + 1
        del pending[:begin]
    if pending:
        raise EOFError("the stored report ends inside a line")


def _head_of(report: RunView) -> ReportHead:
    return ReportHead(
        schema_version=report.schema_version, run=report.run, summary=report.summary,
        waivers=list(report.waivers),
    )


def compressed_lines(report: RunView) -> bytes:
    """``report`` as a shard's row keeps it, compressed tenant by tenant as it is dumped.

    :data:`LINES_FORMAT`, then a zlib stream of JSON Lines: the head, then each tenant.
    """
    packer = zlib.compressobj(_COMPRESSION)
    # model_dump_json never writes a raw newline (JSON escapes it): one value, one line.
    lines = (
        packer.compress(value.model_dump_json().encode("utf-8") + b"\n")
        for value in itertools.chain([_head_of(report)], report.tenants)
    )
    return b"".join([LINES_FORMAT, *lines, packer.flush()])


class RunGroups:
    """The run-group table of one store."""

    def __init__(self, store: Store) -> None:
        self._engine = store.engine

    def record_shard(self, group_id: str, index: int, count: int, report: RunView) -> None:
        """File the (already saved) run of ``report`` as shard ``index`` of ``count``.

        Replaces the shard's earlier entry. Raises :class:`UnknownRun` when the run is
        not saved, :class:`RunGroupMismatch` when the group's other shards were recorded
        with another ``count``.
        """
        check_run_group(group_id)
        if not 0 <= index < count:
            raise ValueError(f"shard {index}/{count}: the index must be below the count")
        blob = compressed_lines(report)
        with transaction(self._engine, write=True) as session:
            if session.scalar(select(RunRow.seq).where(RunRow.id == report.run.id)) is None:
                raise UnknownRun(report.run.id)
            counts = set(
                session.scalars(
                    select(RunGroupShardRow.shard_count).where(
                        RunGroupShardRow.group_id == group_id,
                        RunGroupShardRow.shard_index != index,
                    )
                )
            )
            if counts - {count}:
                raise RunGroupMismatch(
                    f"run group {group_id!r} was recorded with {min(counts)} shards, "
                    f"not {count}: give every shard of a run the same --shard I/N count, "
                    "or use a new --run-group"
                )
            row = session.get(RunGroupShardRow, (group_id, index))
            if row is None:
                row = RunGroupShardRow(group_id=group_id, shard_index=index)
                session.add(row)
            row.shard_count = count
            row.run_id = report.run.id
            row.recorded_at = datetime.now(UTC)
            row.report = blob

    def entries(self, group_id: str) -> list[ShardEntry]:
        """Which shards of the group are recorded, by index, without reading their reports.

        What ``report --run-group --wait`` polls, and a shard checks its count against:
        a fleet's shard reports are megabytes each, read once by :meth:`shards`.
        """
        with transaction(self._engine, write=False) as session:
            rows = session.execute(
                select(
                    RunGroupShardRow.shard_index, RunGroupShardRow.shard_count,
                    RunGroupShardRow.run_id, RunGroupShardRow.recorded_at,
                )
                .where(RunGroupShardRow.group_id == group_id)
                .order_by(RunGroupShardRow.shard_index)
            )
            return [ShardEntry(*row) for row in rows]

    def shards(self, group_id: str) -> list[GroupShard]:
        """The group's recorded shards with their reports, by index (empty: never recorded)."""
        with transaction(self._engine, write=False) as session:
            rows = session.scalars(
                select(RunGroupShardRow)
                .where(RunGroupShardRow.group_id == group_id)
                .order_by(RunGroupShardRow.shard_index)
            )
            return [
                GroupShard(r.shard_index, r.shard_count, r.run_id, r.recorded_at, r.report)
                for r in rows
            ]
