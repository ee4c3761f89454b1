"""Memory: turn a fresh run into one that knows what came before, and record it.

For each tenant: drift against its previous run and its approved baseline, each result's
finding lifecycle (new, persisting, resolved, regressed), then waivers; the report is
built from that, and the whole run is saved in one transaction. Pure wiring over
:mod:`auditor.store`, :mod:`auditor.drift` and :mod:`auditor.waivers`.

:class:`RunRecorder` does it one tenant at a time, as each finishes (it is the sink of
:func:`auditor.audit.stream_audit`), so that nothing of a tenant stays in memory: drift,
lifecycle and waivers are worked out at once (reads of the store), the snapshot's JSON
goes to a spooled temporary file and the tenant's report to the run's
:class:`~auditor.streamed_report.TenantReports` (both in memory while small, then on
disk). At :meth:`RunRecorder.finish` the run is saved in one transaction that reads the
snapshots back one at a time: a run is still recorded whole or not at all, with no
schema change and no write lock held while tenants are collected. :func:`remember` is
the same for a run already held whole.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from auditor.audit import AuditRun, ReportBuilder, status_of, tenant_report
from auditor.drift import diff_snapshots
from auditor.store import StoreError, fingerprint, lifecycle_of, parse_time
from auditor.streamed_report import StreamedReport
from auditor.waivers import WaiverBook

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import date

    from auditor.results import RuleResult, RunInfo, RunReport, TenantReport
    from auditor.snapshot import TenantSnapshot
    from auditor.store import Store
    from auditor.waivers import Waiver

log = logging.getLogger(__name__)

Trigger = Literal["manual", "schedule", "demo"]
# Snapshots are spooled in memory up to this many bytes, then in a temporary file.
SPOOL_BYTES = 4 << 20
# What reading or writing the store can raise: the run is then not recorded, not lost.
STORE_FAILURES = (SQLAlchemyError, StoreError, OSError)

ReportT = TypeVar("ReportT", "RunReport", StreamedReport)


@dataclass(frozen=True)
class Remembered(Generic[ReportT]):
    """The run's report, now with drift, lifecycle and waivers, as saved in the store."""

    report: ReportT
    pruned_runs: int


def remember(  # noqa: PLR0913 - the run's whole context, passed explicitly
    run: AuditRun,
    store: Store,
    *,
    waivers: Sequence[Waiver] = (),
    today: date,
    trigger: Trigger = "manual",
    retention_days: int | None = None,
) -> Remembered[RunReport]:
    """Add memory to ``run``, save it, prune old runs; return the final report, whole."""
    recorder = RunRecorder(
        store, started_at=run.report.run.started_at, waivers=waivers, today=today,
        order=[o.snapshot.tenant_id for o in run.outcomes],
    )
    for outcome in run.outcomes:
        recorder.add(outcome.snapshot, outcome.results)
    done = recorder.finish(run.report.run, trigger=trigger, retention_days=retention_days)
    return Remembered(report=done.report.to_model(), pruned_runs=done.pruned_runs)


class RunRecorder:
    """One run's memory, added tenant by tenant as each finishes; saved whole at the end.

    ``add`` works out the tenant's drift, lifecycle and waivers, keeps its report and
    spools its snapshot's JSON; the snapshot object itself is not kept. When the store
    cannot be read, the failure is kept in ``failure`` and the tenants go on being
    reported without memory; :meth:`finish` then raises it and :meth:`without_memory`
    gives the run's report as a run with no store would have it. Not thread-safe: call
    it from one thread (:func:`~auditor.audit.stream_audit` does).
    """

    def __init__(
        self,
        store: Store,
        *,
        started_at: str,
        waivers: Sequence[Waiver] = (),
        today: date,
        order: Sequence[str] = (),
    ) -> None:
        self._store = store
        self._seen_at = parse_time(started_at)
        self._waivers = WaiverBook(waivers, today=today)
        self._reports = ReportBuilder(order)
        self._where: dict[str, tuple[int, int]] = {}  # tenant -> its snapshot in the spool
        # Binary, so that offsets are bytes; text is UTF-8 JSON, one snapshot a slice.
        self._spool: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed in finish/close
        self._closed = False
        self.failure: Exception | None = None

    def add(self, snapshot: TenantSnapshot, results: Sequence[RuleResult]) -> None:
        """Work out the tenant's drift, lifecycle and waivers now; spool its snapshot."""
        tenant_id = snapshot.tenant_id
        if self._reports.tenants.holds(tenant_id):  # refused before any of it is recorded
            raise ValueError(f"tenant {tenant_id} added twice to one run")
        report = None
        if self.failure is None:
            try:
                report = self._remembered(snapshot, results)
            except STORE_FAILURES as exc:
                log.error("could not read tenant %s's memory from the store (%s); the run "  # noqa: TRY400 - one line
                          "will not be recorded", tenant_id, type(exc).__name__)
                self.failure = exc
        self._reports.add_report(report or tenant_report(snapshot, list(results)))

    def _remembered(self, snapshot: TenantSnapshot, results: Sequence[RuleResult]) -> TenantReport:
        tenant_id = snapshot.tenant_id
        now = snapshot.to_jsonable()
        drift = diff_snapshots(self._store.latest_snapshot(tenant_id), now, "previous")
        baseline = self._store.baseline(tenant_id)
        if baseline is not None:
            drift += diff_snapshots(baseline.snapshot, now, "baseline")
        remembered = self._waivers.apply(tenant_id, self._with_lifecycle(tenant_id, results))
        data = json.dumps(now, ensure_ascii=False, allow_nan=False).encode("utf-8")
        del now
        self._spool.seek(0, 2)
        offset = self._spool.tell()
        self._spool.write(data)
        self._where[tenant_id] = (offset, len(data))
        return tenant_report(snapshot, remembered, drift)

    def finish(
        self,
        info: RunInfo,
        *,
        trigger: Trigger = "manual",
        retention_days: int | None = None,
        finished_at: str | None = None,
    ) -> Remembered[StreamedReport]:
        """Save the run in one transaction, prune; the final report (raises a store failure).

        Raises what reading the store raised during the run, if anything did, or what
        saving raises: nothing is then recorded (see :meth:`without_memory`).
        """
        try:
            if self.failure is not None:
                raise self.failure
            finished = finished_at or info.finished_at
            run_info = info.model_copy(update={"trigger": trigger, "finished_at": finished})
            report = self._reports.finish(run_info, self._waivers.issues())
            self._store.save_run(report, _SpooledSnapshots(self._spool, self._where))
            pruned = 0
            if retention_days is not None:
                pruned = self._store.prune(retention_days, now=parse_time(finished))
            return Remembered(report=report, pruned_runs=pruned)
        finally:
            self.close()

    def without_memory(self, info: RunInfo) -> StreamedReport:
        """The run's report as a run with no store has it: no drift, lifecycle or waivers.

        For a run the store could not record: what the report would say of memory and
        waivers was never saved, so it is not shown either (the verdicts all are).
        """
        plain = ReportBuilder()
        for tenant in self._reports.tenants:
            plain.add_report(_forget(tenant))
        self._reports.tenants.close()
        return plain.finish(info)

    def close(self) -> None:
        """Drop the spooled snapshots (``finish`` does it; call it when giving up)."""
        if not self._closed:
            self._closed = True
            self._spool.close()

    def _with_lifecycle(self, tenant_id: str, results: Sequence[RuleResult]) -> list[RuleResult]:
        prior = self._store.finding_states(tenant_id)
        out = []
        for result in results:
            fp = fingerprint(tenant_id, result.rule_id)
            view = lifecycle_of(result.status, prior.get(fp), seen_at=self._seen_at)
            out.append(result.model_copy(update={**view.result_fields(), "fingerprint": fp}))
        return out


_MEMORY_FIELDS = dict.fromkeys(
    ("fingerprint", "lifecycle", "first_seen", "last_seen", "waiver"), None
)


def _forget(tenant: TenantReport) -> TenantReport:
    """``tenant`` without what memory added: drift, lifecycle, fingerprints, waivers."""
    results = [r.model_copy(update=_MEMORY_FIELDS) for r in tenant.results]
    # Its errors are the snapshot's and the unexplained gaps: either makes it an error.
    status = status_of(has_errors=bool(tenant.errors), results=results)
    return tenant.model_copy(update={"results": results, "drift": [], "status": status})


class _SpooledSnapshots(Mapping[str, Mapping[str, Any]]):
    """The spooled snapshots as the read-only mapping :meth:`Store.save_run` takes.

    Each value is read back and parsed when asked for, so the store holds one at a time.
    """

    def __init__(self, spool: Any, where: Mapping[str, tuple[int, int]]) -> None:  # noqa: ANN401 - a binary file
        self._spool = spool
        self._where = where

    def __getitem__(self, tenant_id: str) -> Mapping[str, Any]:
        offset, length = self._where[tenant_id]
        self._spool.seek(offset)
        value: dict[str, Any] = json.loads(self._spool.read(length).decode("utf-8"))
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)
