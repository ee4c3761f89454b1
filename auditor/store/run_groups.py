"""Run groups (CONTRACT section 7): the shards of one fleet run, recorded under one id.

``auditor audit --shard I/N --run-group ID`` records its run as usual, then
:meth:`RunGroups.record_shard` files that run as shard ``I`` of ``N`` of the group:
a shard recorded again replaces its earlier entry. ``auditor report --run-group ID``
reads :meth:`RunGroups.shards` and reports the whole run once every shard is there.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import select

from auditor.results import RunReport, RunView
from auditor.store.engine import transaction
from auditor.store.errors import StoreError, UnknownRun
from auditor.store.schema import RunGroupShardRow, RunRow

if TYPE_CHECKING:
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


@dataclass(frozen=True, slots=True)
class GroupShard:
    """One recorded shard of a run group: its place, its run, and its report."""

    index: int
    count: int
    run_id: str
    recorded_at: datetime
    _report: bytes

    def report(self) -> RunReport:
        """The shard's final report, as its ``audit`` wrote it."""
        return RunReport.model_validate_json(zlib.decompress(self._report))


def _compressed_json(report: RunView) -> bytes:
    """``report.json``'s bytes, compressed as they are rendered (never whole in memory)."""
    from auditor.report.json_report import json_chunks  # noqa: PLC0415 - a shard's run only

    packer = zlib.compressobj(6)
    parts = [packer.compress(chunk) for chunk in json_chunks(report)]
    parts.append(packer.flush())
    return b"".join(parts)


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
        blob = _compressed_json(report)
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

    def shards(self, group_id: str) -> list[GroupShard]:
        """The group's recorded shards, by index (empty for a group never recorded)."""
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
