"""What one route should hear about one run: events computed against what it was told.

Pure: a finished :class:`RunReport`, a route's config and its :class:`AnnouncedState` in;
the events and the route's next state out. Nothing here reads a clock, a file or the
network, so every rule of CONTRACT section 6 is testable on plain values.

The state is what the route was told, not the previous run (Alertmanager's notification
log): a run that told nobody (``--no-alerts``), a route added later, or an event filtered
out by the route all leave the state as it was, so the route later hears exactly what it
has not heard yet. A filtered-out event therefore changes nothing: the route's picture of
the world is the one it was given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from auditor.alerts.config import EventKind, RouteConfig
from auditor.results import (
    ResultStatus,
    RuleResult,
    RunView,
    TenantReport,
    TenantStatus,
)
from auditor.store.alerts import AlertRecord, AnnouncedState, Announcement, ToldFinding
from auditor.store.store import parse_time


def event_id(route: str, tenant_id: str, rule_id: str | None, kind: EventKind, run_id: str) -> str:
    """A transition's id: the same for a retry, a restart or a re-run of the same run.

    One route hears at most one event of a kind about one finding per run, so these five
    fields name a transition; consumers deduplicate on the id.
    """
    key = "\x1f".join((route, tenant_id, rule_id or "", kind.value, run_id))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A tenant's verdict on one rule, the tenant's results for that rule merged."""

    result: RuleResult
    state: str  # "failing" (counts), "passing", "unknown" (error/not_evaluated), "waived"


def _verdicts(tenant: TenantReport) -> dict[str, _Verdict]:
    """One verdict per rule id: a rule with several results fails when any counts."""
    order = {"failing": 3, "unknown": 2, "waived": 1, "passing": 0}
    merged: dict[str, _Verdict] = {}
    for result in tenant.results:
        if result.counts:
            state = "failing"
        elif result.status is ResultStatus.PASS:
            state = "passing"
        elif result.status is ResultStatus.FAIL:
            state = "waived"
        else:
            state = "unknown"
        known = merged.get(result.rule_id)
        if known is None or order[state] > order[known.state]:
            merged[result.rule_id] = _Verdict(result=result, state=state)
    return merged


def announce_run(
    report: RunView,
    route: RouteConfig,
    told: AnnouncedState,
    *,
    reminder_days: int | None,
) -> Announcement:
    """The route's events for this run and the state they leave it in.

    Tenants outside the route's ``tenants`` patterns, and tenants not in the report (an
    ``audit --tenant`` run), are left alone. ``error`` and ``not_evaluated`` results and
    waived failures neither open nor resolve anything.
    """
    run = _RouteRun(
        route=route,
        run_id=report.run.id,
        at=parse_time(report.run.started_at),
        told=told,
        reminder_days=reminder_days,
    )
    for tenant in report.tenants:
        if route.wants_tenant(tenant.tenant_id):
            run.tenant(tenant)
    return Announcement(
        events=run.events,
        findings=run.findings,
        errors_told=run.errors_told,
        errors_cleared=frozenset(run.cleared),
    )


@dataclass(slots=True)
class _RouteRun:
    """One route's events for one run, as they are found."""

    route: RouteConfig
    run_id: str
    at: datetime
    told: AnnouncedState
    reminder_days: int | None
    events: list[AlertRecord] = field(default_factory=list)
    findings: dict[tuple[str, str], ToldFinding] = field(default_factory=dict)
    errors_told: dict[str, datetime] = field(default_factory=dict)
    cleared: set[str] = field(default_factory=set)

    def tenant(self, tenant: TenantReport) -> None:
        """The tenant's error/recovered event, then one event per changed rule."""
        tenant_id = tenant.tenant_id
        was_errored = tenant_id in self.told.errored
        if tenant.status is TenantStatus.ERROR:
            if not was_errored and self.emit(
                EventKind.ERROR,
                tenant_id,
                None,
                title=f"Tenant {tenant_id} could not be fully audited",
                message=_error_message(tenant),
            ):
                self.errors_told[tenant_id] = self.at
        elif was_errored and self.emit(
            EventKind.RECOVERED,
            tenant_id,
            None,
            title=f"Tenant {tenant_id} is fully audited again",
            message="Every source could be read again; its findings are current.",
        ):
            self.cleared.add(tenant_id)
        for rule_id, verdict in _verdicts(tenant).items():
            self.rule(tenant_id, rule_id, verdict)

    def rule(self, tenant_id: str, rule_id: str, verdict: _Verdict) -> None:
        """New / regressed / reminder for a counting failure, resolved for a pass."""
        key = (tenant_id, rule_id)
        prior = self.told.findings.get(key)
        result = verdict.result
        title = result.title or rule_id
        if verdict.state == "failing":
            kind = _failing_kind(prior, self.at, self.reminder_days)
            if kind is not None and self.emit(
                kind, tenant_id, result, title=title, message=result.message or title
            ):
                self.findings[key] = ToldFinding(failing=True, told_at=self.at)
        elif verdict.state == "passing" and prior is not None and prior.failing:
            message = f"{title}: passes now."
            if self.emit(EventKind.RESOLVED, tenant_id, result, title=title, message=message):
                self.findings[key] = ToldFinding(failing=False, told_at=self.at)

    def emit(
        self,
        kind: EventKind,
        tenant_id: str,
        result: RuleResult | None,
        *,
        title: str,
        message: str,
    ) -> bool:
        """Queue the event if the route wants it; True when it was queued."""
        if not self.route.wants_kind(kind):
            return False
        if result is not None and not result.severity.at_least(self.route.severity_floor):
            return False
        rule_id = None if result is None else result.rule_id
        self.events.append(
            AlertRecord(
                id=event_id(self.route.name, tenant_id, rule_id, kind, self.run_id),
                route=self.route.name,
                run_id=self.run_id,
                kind=kind.value,
                tenant_id=tenant_id,
                rule_id=rule_id,
                severity=None if result is None else result.severity.value,
                title=title,
                message=message,
                remediation=None if result is None else _remediation(kind, result),
                occurred_at=self.at,
            )
        )
        return True


def _failing_kind(
    prior: ToldFinding | None, at: datetime, reminder_days: int | None
) -> EventKind | None:
    if prior is None:
        return EventKind.NEW
    if not prior.failing:
        return EventKind.REGRESSED
    if reminder_days is not None and at - prior.told_at >= timedelta(days=reminder_days):
        return EventKind.REMINDER
    return None


def _remediation(kind: EventKind, result: RuleResult) -> str | None:
    return None if kind is EventKind.RESOLVED else result.remediation


def _error_message(tenant: TenantReport) -> str:
    if tenant.errors:
        return "; ".join(f"{error.source}: {error.message}" for error in tenant.errors)
    unknown = sorted(
        {
            r.rule_id
            for r in tenant.results
            if r.status in {ResultStatus.ERROR, ResultStatus.NOT_EVALUATED}
        }
    )
    return "Some rules could not be evaluated: " + ", ".join(unknown[:10])
