"""Memory: turn a fresh run into one that knows what came before, and record it.

For each tenant: drift against its previous run and its approved baseline, each result's
finding lifecycle (new, persisting, resolved, regressed), then waivers; the report is
built from that, and the whole run is saved in one transaction. Pure wiring over
:mod:`auditor.store`, :mod:`auditor.drift` and :mod:`auditor.waivers`.

:class:`RunRecorder` does it one tenant at a time, so that a tenant's snapshot can be
dropped as soon as it is added: drift and lifecycle are worked out at once (reads of the
store), the snapshot's JSON goes to a spooled temporary file (in memory while small,
then on disk), and only the tenant's verdicts stay in memory for the reports. At
:meth:`RunRecorder.finish` the waivers are applied and the run is saved in one
transaction that reads the snapshots back one at a time: a run is still recorded whole
or not at all, with no schema change and no write lock held while tenants are collected.
:func:`remember` is the same for a run already held whole.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from auditor.audit import AuditRun, TenantOutcome, build_report
from auditor.drift import diff_snapshots
from auditor.store import fingerprint, lifecycle_of, parse_time

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import date

    from auditor.results import DriftEntry, RuleResult, RunInfo, RunReport
    from auditor.snapshot import TenantSnapshot
    from auditor.store import Store
    from auditor.waivers import Waiver

Trigger = Literal["manual", "schedule", "demo"]
# Snapshots are spooled in memory up to this many bytes, then in a temporary file.
SPOOL_BYTES = 4 << 20


@dataclass(frozen=True)
class Remembered:
    """The run's report, now with drift, lifecycle and waivers, as saved in the store."""

    report: RunReport
    pruned_runs: int


def remember(  # noqa: PLR0913 - the run's whole context, passed explicitly
    run: AuditRun,
    store: Store,
    *,
    waivers: Sequence[Waiver] = (),
    today: date,
    trigger: Trigger = "manual",
    retention_days: int | None = None,
) -> Remembered:
    """Add memory to ``run``, save it, prune old runs; return the final report."""
    recorder = RunRecorder(store, started_at=run.report.run.started_at)
    for outcome in run.outcomes:
        recorder.add(outcome.snapshot, outcome.results)
    return recorder.finish(
        run.report.run, waivers=waivers, today=today, trigger=trigger,
        retention_days=retention_days,
    )


class RunRecorder:
    """One run's memory, added tenant by tenant as each finishes; saved whole at the end.

    ``add`` keeps the tenant's verdicts (with lifecycle) and drift, and spools its
    snapshot's JSON; the snapshot object itself is not kept. Not thread-safe: call it
    from one thread (the event loop's callbacks are).
    """

    def __init__(self, store: Store, *, started_at: str) -> None:
        self._store = store
        self._seen_at = parse_time(started_at)
        self._tenants: list[_Pending] = []
        self._ids: set[str] = set()
        # Binary, so that offsets are bytes; text is UTF-8 JSON, one snapshot a slice.
        self._spool: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed in finish/close
        self._closed = False

    def add(self, snapshot: TenantSnapshot, results: Sequence[RuleResult]) -> None:
        """Work out the tenant's drift and lifecycle now; spool its snapshot."""
        tenant_id = snapshot.tenant_id
        if tenant_id in self._ids:
            raise ValueError(f"tenant {tenant_id} added twice to one run")
        now = snapshot.to_jsonable()
        drift = diff_snapshots(self._store.latest_snapshot(tenant_id), now, "previous")
        baseline = self._store.baseline(tenant_id)
        if baseline is not None:
            drift += diff_snapshots(baseline.snapshot, now, "baseline")
        data = json.dumps(now, ensure_ascii=False, allow_nan=False).encode("utf-8")
        del now
        offset = self._spool.tell()
        self._spool.write(data)
        self._tenants.append(
            _Pending(
                snapshot=_SnapshotFacts(tenant_id, tuple(snapshot.errors)),
                results=self._with_lifecycle(tenant_id, results),
                drift=drift,
                offset=offset,
                length=len(data),
            )
        )
        self._ids.add(tenant_id)

    def finish(  # noqa: PLR0913 - the run's whole context, passed explicitly
        self,
        info: RunInfo,
        *,
        waivers: Sequence[Waiver] = (),
        today: date,
        trigger: Trigger = "manual",
        retention_days: int | None = None,
        finished_at: str | None = None,
    ) -> Remembered:
        """Apply the waivers, build the report, save the run in one transaction, prune."""
        from auditor.waivers import apply_waivers  # noqa: PLC0415 - keeps imports acyclic

        try:
            results = {p.snapshot.tenant_id: p.results for p in self._tenants}
            waived, issues = apply_waivers(results, list(waivers), today=today)
            del results
            # build_report reads a snapshot's id and errors only: the facts kept stand in.
            outcomes = [
                TenantOutcome(
                    cast("TenantSnapshot", p.snapshot), waived.pop(p.snapshot.tenant_id)
                )
                for p in self._tenants
            ]
            drift = {p.snapshot.tenant_id: p.drift for p in self._tenants}
            for pending in self._tenants:
                pending.results = []  # the report's copy is the one kept
            finished = finished_at or info.finished_at
            report = build_report(info.id, info.started_at, finished, outcomes, drift)
            del outcomes, drift
            run_info = report.run.model_copy(update={"trigger": trigger})
            report = report.model_copy(update={"waivers": issues, "run": run_info})
            self._store.save_run(report, _SpooledSnapshots(self._spool, self._tenants))
            pruned = 0
            if retention_days is not None:
                pruned = self._store.prune(retention_days, now=parse_time(finished))
            return Remembered(report=report, pruned_runs=pruned)
        finally:
            self.close()

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


@dataclass(frozen=True, slots=True)
class _SnapshotFacts:
    """What the report needs of a snapshot once it is spooled: its id and its errors."""

    tenant_id: str
    errors: tuple[Any, ...]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


@dataclass(slots=True)
class _Pending:
    snapshot: _SnapshotFacts
    results: list[RuleResult]
    drift: list[DriftEntry]
    offset: int
    length: int


class _SpooledSnapshots(Mapping[str, Mapping[str, Any]]):
    """The spooled snapshots as the read-only mapping :meth:`Store.save_run` takes.

    Each value is read back and parsed when asked for, so the store holds one at a time.
    """

    def __init__(self, spool: Any, tenants: Sequence[_Pending]) -> None:  # noqa: ANN401 - a binary file
        self._spool = spool
        self._where = {p.snapshot.tenant_id: (p.offset, p.length) for p in tenants}

    def __getitem__(self, tenant_id: str) -> Mapping[str, Any]:
        offset, length = self._where[tenant_id]
        self._spool.seek(offset)
        value: dict[str, Any] = json.loads(self._spool.read(length).decode("utf-8"))
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)
