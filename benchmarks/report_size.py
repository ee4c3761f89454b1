"""How big and how slow the reports get for a large fleet.

Builds a synthetic run of ``--tenants`` tenants (default 1,000) x the 19 catalog rules,
a seeded mix of passing, failing (1-4 failing rules, some drift) and error tenants,
renders both formats and prints sizes and render times. Nothing is written unless
``--out DIR`` is given (then report.json / report.html go there, for a look in a browser).

By default the run also has what a store adds (as on every scheduled run): a fingerprint
on every result, lifecycle on failures (new / persisting / regressed) and some resolved
findings, waived failures (some expiring soon), waivers needing attention, and drift
against the previous run and the baseline with ``added`` / ``removed`` and rotated
secrets. ``--plain`` leaves all of that out (a run without a store); the base mix of
verdicts is the same either way, so the two can be compared.

    .venv/bin/python benchmarks/report_size.py [--tenants 1000] [--seed 7] [--plain] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from auditor.report import ReportFormat, render
from auditor.results import (
    DriftEntry,
    Lifecycle,
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantError,
    TenantReport,
    TenantStatus,
    WaiverIssue,
    WaiverNote,
)
from auditor.rules import load_rule_pack
from auditor.store import fingerprint

# The real rule pack's ids and severities, so the synthetic report has the real shape.
CATALOG: tuple[tuple[str, Severity], ...] = tuple(
    (rule.id, rule.severity) for rule in load_rule_pack().rules
)

# About the length of the seed's console steps: a realistic remediation is 5-8 lines.
REMEDIATION = (
    "1. Sign in to the Okta Admin Console as a super administrator.\n"
    "2. Go to Applications > Applications and open the Rapticore OIDC app.\n"
    "3. On the General tab, click Edit in the General Settings section.\n"
    "4. Set Sign-in redirect URIs to https://auth.<tenant>.rapticore.io/oauth2/idpresponse.\n"
    "5. Remove every other redirect URI that is not under <tenant>.rapticore.io.\n"
    "6. Click Save, then run `auditor audit --tenant <tenant>` to confirm."
)


def _result(rule_id: str, severity: Severity, status: ResultStatus, tenant_id: str) -> RuleResult:
    title = rule_id.replace("_", " ").capitalize()
    if status is ResultStatus.PASS:
        return RuleResult(
            rule_id=rule_id,
            status=status,
            severity=severity,
            message="ok",
            expected=None,
            actual=None,
            remediation=REMEDIATION,
            title=title,
        )
    base = f"https://auth.{tenant_id}.rapticore.io/oauth2/idpresponse"
    return RuleResult(
        rule_id=rule_id,
        status=status,
        severity=severity,
        message=f"redirect_uris lacks {base} (found {base}/ with a trailing '/')",
        expected=[base],
        actual=[f"{base}/", "https://evil.example.com/cb"],
        remediation=REMEDIATION.replace("<tenant>", tenant_id),
        title=title,
    )


RUN_STARTED = "2025-01-01T02:00:00Z"
LIFECYCLES: tuple[Lifecycle, ...] = ("new", "persisting", "persisting", "persisting", "regressed")


def _seen(rng: random.Random) -> str:
    """A first-seen time within the 90 days before the run."""
    day = date(2025, 1, 1) - timedelta(days=rng.randint(1, 90))
    return f"{day.isoformat()}T02:00:00Z"


def _remember(result: RuleResult, tenant_id: str, rng: random.Random) -> RuleResult:
    """The result as a run with a store reports it: fingerprint, lifecycle, first/last seen."""
    update: dict[str, object] = {"fingerprint": fingerprint(tenant_id, result.rule_id)}
    if result.status is ResultStatus.FAIL:
        lifecycle = rng.choice(LIFECYCLES)
        first = RUN_STARTED if lifecycle == "new" else _seen(rng)
        update |= {"lifecycle": lifecycle, "first_seen": first, "last_seen": RUN_STARTED}
    elif result.status is ResultStatus.PASS and rng.random() < 0.006:  # ~10 % of tenants
        update |= {
            "lifecycle": "resolved",
            "first_seen": _seen(rng),
            "last_seen": "2024-12-31T02:00:00Z",
        }
    return result.model_copy(update=update)


def _waive(results: list[RuleResult], tenant_id: str, rng: random.Random) -> list[RuleResult]:
    """One of the tenant's failures covered by a waiver (a third of them expiring soon)."""
    fails = [i for i, r in enumerate(results) if r.status is ResultStatus.FAIL]
    index = rng.choice(fails)
    soon = rng.random() < 0.33
    note = WaiverNote(
        reason=f"Partner SSO migration for {tenant_id}, ticket SEC-{rng.randint(100, 999)}",
        owner=f"owner-{rng.randint(1, 20)}@example.com",
        expires="2025-01-10" if soon else "2025-06-30",
        expiring_soon=soon,
    )
    return [
        *results[:index],
        results[index].model_copy(update={"waiver": note}),
        *results[index + 1 :],
    ]


def _memory_drift(tenant_id: str, rng: random.Random) -> list[DriftEntry]:
    """Drift against the baseline (grant types) and rotated secrets, sometimes."""
    drift = []
    if rng.random() < 0.08:
        drift.append(
            DriftEntry(
                path="okta.app.settings.oauthClient.grant_types",
                before=["authorization_code", "refresh_token"],
                after=["authorization_code", "implicit"],
                against="baseline",
                added=["implicit"],
                removed=["refresh_token"],
            )
        )
    if rng.random() < 0.05:
        drift.append(
            DriftEntry(
                path=f"okta.secrets.ocs{tenant_id[-4:]}.client_secret",
                before="rotated",
                after="rotated",
                against="previous",
            )
        )
    return drift


def _waiver_issues(tenants: int, rng: random.Random) -> list[WaiverIssue]:
    """About 2 % of tenants with a waiver that needs attention."""
    problems: tuple[Literal["stale", "expiring", "expired"], ...] = ("stale", "expiring", "expired")
    return [
        WaiverIssue(
            tenant=f"tenant-{rng.randrange(tenants):04d}",
            rule=rng.choice(CATALOG)[0],
            subject=rng.choice([None, "https://sso.partner.example/cb"]),
            owner=f"owner-{rng.randint(1, 20)}@example.com",
            expires="2025-01-10",
            problem=rng.choice(problems),
        )
        for _ in range(max(1, tenants // 50))
    ]


def _tenant(n: int, rng: random.Random, mem: random.Random, *, memory: bool) -> TenantReport:
    """One tenant: its verdicts drawn from ``rng``, what a store adds from ``mem``."""
    tenant_id = f"tenant-{n:04d}"
    roll = rng.random()
    statuses = {rule_id: ResultStatus.PASS for rule_id, _ in CATALOG}
    errors: list[TenantError] = []
    drift: list[DriftEntry] = []
    if roll < 0.05:
        status = TenantStatus.ERROR
        errors.append(TenantError(source="cognito", message="AccessDenied: DescribeUserPool"))
        for rule_id, _ in CATALOG:
            if rule_id.startswith("cognito_"):
                statuses[rule_id] = ResultStatus.ERROR
    elif roll < 0.30:
        status = TenantStatus.FAIL
        for rule_id, _ in rng.sample(CATALOG, rng.randint(1, 4)):
            statuses[rule_id] = ResultStatus.FAIL
        if rng.random() < 0.5:
            base = f"https://auth.{tenant_id}.rapticore.io/oauth2/idpresponse"
            drift.append(
                DriftEntry(
                    path="okta.app.settings.oauthClient.redirect_uris",
                    before=[base],
                    after=[base, "https://evil.example.com/cb"],
                    against="previous",
                    added=["https://evil.example.com/cb"] if memory else None,
                    removed=[] if memory else None,
                )
            )
    else:
        status = TenantStatus.PASS
    if rng.random() < 0.05:
        drift.append(
            DriftEntry(
                path="okta.app.secrets", before="rotated", after="rotated", against="previous"
            )
        )
    results = [_result(rule_id, sev, statuses[rule_id], tenant_id) for rule_id, sev in CATALOG]
    report = TenantReport(
        tenant_id=tenant_id, status=status, results=results, drift=drift, errors=errors
    )
    return _with_memory(report, mem) if memory else report


def _with_memory(report: TenantReport, mem: random.Random) -> TenantReport:
    """The tenant as a run with a store reports it: lifecycle, a waiver perhaps, more drift."""
    tenant_id, status = report.tenant_id, report.status
    results = [_remember(r, tenant_id, mem) for r in report.results]
    if status is TenantStatus.FAIL and mem.random() < 0.15:
        results = _waive(results, tenant_id, mem)
        if not any(r.counts for r in results):
            status = TenantStatus.PASS  # every failure waived
    drift = [*report.drift, *_memory_drift(tenant_id, mem)]
    return report.model_copy(update={"status": status, "results": results, "drift": drift})


def synthetic_run(tenants: int, seed: int, *, memory: bool = True) -> RunReport:
    """A run of ``tenants`` tenants: ~70 % pass, ~25 % fail, ~5 % error, seeded.

    With ``memory``, what a store adds (lifecycle, waivers, more drift) is drawn from a
    second generator, so the verdicts are the same as without it.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    mem = random.Random(seed + 1)  # noqa: S311 - same
    reports = [_tenant(n, rng, mem, memory=memory) for n in range(tenants)]
    counts = [t.status for t in reports]
    return RunReport(
        run=RunInfo(
            id="bench",
            started_at=RUN_STARTED,
            finished_at="2025-01-01T02:41:00Z",
            trigger="schedule" if memory else "manual",
        ),
        summary=Summary(
            tenants=len(reports),
            passed=counts.count(TenantStatus.PASS),
            failed=counts.count(TenantStatus.FAIL),
            errored=counts.count(TenantStatus.ERROR),
            waived=sum(r.waiver is not None for t in reports for r in t.results),
        ),
        tenants=reports,
        waivers=_waiver_issues(tenants, mem) if memory else [],
    )


def main() -> None:
    """Render both formats a few times and print sizes and the median render time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="no store: no lifecycle, waivers")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    start = time.perf_counter()
    report = synthetic_run(args.tenants, args.seed, memory=not args.plain)
    built = time.perf_counter() - start
    summary = report.summary
    print(
        f"{summary.tenants} tenants x {len(CATALOG)} rules: {summary.passed} pass, "
        f"{summary.failed} fail, {summary.errored} error, {summary.waived} waived results, "
        f"{len(report.waivers)} waiver issues (built in {built:.2f}s)"
    )
    for fmt in ReportFormat:
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            data = render(fmt, report)
            timings.append(time.perf_counter() - start)
        gz = len(gzip.compress(data))
        print(
            f"{fmt.filename:12} {len(data) / 1e6:7.2f} MB  (gzip {gz / 1e6:5.2f} MB)  "
            f"render median {statistics.median(timings):6.3f}s of {args.repeat}  "
            f"({len(data) / summary.tenants / 1e3:.1f} kB/tenant)"
        )
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / fmt.filename).write_bytes(data)


if __name__ == "__main__":
    main()
