"""A fleet's run report, built tenant by tenant and kept out of the heap (issue 9 item 2).

A tenant's verdicts as pydantic objects take about 40 kB; as compressed JSON, 2 to 3 kB.
:class:`TenantReports` keeps each finished tenant's :class:`~auditor.results.TenantReport`
as zlib-compressed JSON in a spooled temporary file (in memory while small, then on
disk) and reads one back when asked, so a run holds a few bytes of index per tenant
however large the fleet. :class:`StreamedReport` is the run report around it: what the
reports, alerts, metrics, the store and the exit code read (:class:`~auditor.results.RunView`),
as :class:`~auditor.results.RunReport` is for a run held whole.

The tenants are read in the order given when the report was started (the config's),
whatever order they finished in, so a streamed run's ``report.json`` is the one a whole
run would have written.
"""

from __future__ import annotations

import tempfile
import threading
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from auditor.errors import UnavailableError
from auditor.results import (
    REPORT_SCHEMA_VERSION,
    RunInfo,
    RunReport,
    Summary,
    TenantReport,
    TenantStatus,
    WaiverIssue,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

# Spooled in memory up to this many bytes of compressed tenants (about 1,500), then on disk.
SPOOL_BYTES = 4 << 20
_COMPRESSION = 6  # zlib's default: 11 kB of a tenant's JSON to about 2.5 kB, ~0.1 ms


def check_spool_folder() -> None:
    """Prove a temporary file can be written, where a run spools its tenants past 4 MB.

    Raises :class:`~auditor.errors.UnavailableError` (exit 3) saying what to set.
    """
    try:
        with tempfile.TemporaryFile() as probe:
            probe.write(b"spool")
    except OSError as exc:
        where = tempfile.tempdir or "$TMPDIR, /tmp, /var/tmp or the working folder"
        raise UnavailableError(
            f"cannot write a temporary file in {where} ({exc.strerror or type(exc).__name__}): "
            "a run keeps its finished tenants there until the reports are written; "
            "set TMPDIR to a writable folder (in a container, mount one on /tmp)"
        ) from None


class TenantReports(Sequence[TenantReport]):
    """Finished tenants' reports, compressed and spooled; each read back when asked for.

    ``order`` lists the run's tenant ids in the order the report shows them; a tenant not
    in it goes after them, in the order it was added. Safe to read from several threads;
    add from one.
    """

    def __init__(self, order: Iterable[str] = ()) -> None:
        self._rank = {tenant_id: rank for rank, tenant_id in enumerate(order)}
        self._spool: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - lives as long as the report
        self._lock = threading.Lock()
        # Per tenant, in the order added: its id, and its offset and length in the spool.
        self._ids: dict[str, None] = {}
        self._offsets = array("q")
        self._lengths = array("q")
        self._order: list[int] | None = []  # positions in report order; None: to sort again

    def add(self, tenant: TenantReport) -> None:
        """Keep ``tenant``'s report; the object itself can be dropped once this returns."""
        if self.holds(tenant.tenant_id):
            raise ValueError(f"tenant {tenant.tenant_id} added twice to one run")
        data = zlib.compress(tenant.model_dump_json().encode("utf-8"), _COMPRESSION)
        with self._lock:
            self._spool.seek(0, 2)
            offset = self._spool.tell()
            self._spool.write(data)
            self._offsets.append(offset)
            self._lengths.append(len(data))
            self._ids[tenant.tenant_id] = None
            self._order = None

    def holds(self, tenant_id: str) -> bool:
        """True when ``tenant_id``'s report has been added (without reading any back)."""
        return tenant_id in self._ids

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> TenantReport: ...
    @overload
    def __getitem__(self, index: slice) -> list[TenantReport]: ...
    def __getitem__(self, index: int | slice) -> TenantReport | list[TenantReport]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        position = self._ordered()[index]
        with self._lock:
            self._spool.seek(self._offsets[position])
            data = self._spool.read(self._lengths[position])
        return TenantReport.model_validate_json(zlib.decompress(data))

    def __iter__(self) -> Iterator[TenantReport]:
        for index in range(len(self)):
            yield self[index]

    def _ordered(self) -> list[int]:
        with self._lock:
            if self._order is None:
                # A tenant outside ``order`` ranks after it, by when it was added.
                after = len(self._rank)
                ranks = [self._rank.get(t, after + p) for p, t in enumerate(self._ids)]
                self._order = sorted(range(len(ranks)), key=ranks.__getitem__)
            return self._order

    def close(self) -> None:
        """Drop the spool now rather than when the report is collected."""
        self._spool.close()


def summarize(tenants: Iterable[TenantReport]) -> Summary:
    """Tenant counts by verdict, and the waived results."""
    counts = dict.fromkeys(TenantStatus, 0)
    waived = total = 0
    for tenant in tenants:
        total += 1
        counts[tenant.status] += 1
        waived += sum(r.waiver is not None for r in tenant.results)
    return Summary(
        tenants=total, passed=counts[TenantStatus.PASS], failed=counts[TenantStatus.FAIL],
        errored=counts[TenantStatus.ERROR], waived=waived,
    )


@dataclass(frozen=True, slots=True)
class StreamedReport:
    """The run report of a streamed run: :class:`RunReport`'s fields, tenants spooled."""

    run: RunInfo
    summary: Summary
    tenants: TenantReports
    waivers: list[WaiverIssue] = field(default_factory=list)
    schema_version: str = REPORT_SCHEMA_VERSION

    def to_model(self) -> RunReport:
        """The whole report as one :class:`RunReport` (every tenant in memory: small runs)."""
        return RunReport(
            schema_version=self.schema_version, run=self.run, summary=self.summary,
            tenants=list(self.tenants), waivers=list(self.waivers),
        )
