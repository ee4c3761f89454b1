"""Memory: turn a fresh run into one that knows what came before, and record it.

For each tenant: drift against its previous run and its approved baseline, each result's
finding lifecycle (new, persisting, resolved, regressed), then waivers; the report is
built from that, and the whole run is saved in one transaction. Pure wiring over
:mod:`auditor.store`, :mod:`auditor.drift` and :mod:`auditor.waivers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from auditor.audit import AuditRun, TenantOutcome, build_report
from auditor.drift import diff_snapshots
from auditor.store import fingerprint, lifecycle_of, parse_time

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from auditor.results import DriftEntry, RuleResult, RunReport
    from auditor.store import Store
    from auditor.waivers import Waiver

Trigger = Literal["manual", "schedule", "demo"]


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
    from auditor.waivers import apply_waivers  # noqa: PLC0415 - keeps imports acyclic

    seen_at = parse_time(run.report.run.started_at)
    drift: dict[str, list[DriftEntry]] = {}
    results: dict[str, list[RuleResult]] = {}
    for outcome in run.outcomes:
        tenant_id = outcome.snapshot.tenant_id
        drift[tenant_id] = _drift(store, outcome)
        results[tenant_id] = _with_lifecycle(store, outcome, seen_at)

    waived, issues = apply_waivers(results, list(waivers), today=today)
    outcomes = [
        TenantOutcome(o.snapshot, waived[o.snapshot.tenant_id]) for o in run.outcomes
    ]
    info = run.report.run
    report = build_report(info.id, info.started_at, info.finished_at, outcomes, drift)
    report = report.model_copy(
        update={"waivers": issues, "run": info.model_copy(update={"trigger": trigger})}
    )
    store.save_run(report, {o.snapshot.tenant_id: o.snapshot.to_jsonable() for o in outcomes})
    pruned = 0
    if retention_days is not None:
        pruned = store.prune(retention_days, now=parse_time(info.finished_at))
    return Remembered(report=report, pruned_runs=pruned)


def _drift(store: Store, outcome: TenantOutcome) -> list[DriftEntry]:
    tenant_id = outcome.snapshot.tenant_id
    now = outcome.snapshot.to_jsonable()
    entries = diff_snapshots(store.latest_snapshot(tenant_id), now, "previous")
    baseline = store.baseline(tenant_id)
    if baseline is not None:
        entries += diff_snapshots(baseline.snapshot, now, "baseline")
    return entries


def _with_lifecycle(
    store: Store, outcome: TenantOutcome, seen_at: datetime
) -> list[RuleResult]:
    tenant_id = outcome.snapshot.tenant_id
    prior = store.finding_states(tenant_id)
    out = []
    for result in outcome.results:
        fp = fingerprint(tenant_id, result.rule_id)
        view = lifecycle_of(result.status, prior.get(fp), seen_at=seen_at)
        out.append(result.model_copy(update={**view.result_fields(), "fingerprint": fp}))
    return out
