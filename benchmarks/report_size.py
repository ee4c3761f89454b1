"""How big and how slow the reports get for a large fleet.

Builds a synthetic run of ``--tenants`` tenants (default 1,000) x the 19 catalog rules,
a seeded mix of passing, failing (1-4 failing rules, some drift) and error tenants,
renders both formats and prints sizes and render times. Nothing is written unless
``--out DIR`` is given (then report.json / report.html go there, for a look in a browser).

    .venv/bin/python benchmarks/report_size.py [--tenants 1000] [--seed 7] [--out DIR]
"""



from __future__ import annotations

import argparse
import gzip
import random
import statistics
import time
from pathlib import Path

from auditor.report import ReportFormat, render
from auditor.results import (
    DriftEntry,
    ResultStatus,
    RuleResult,
    RunInfo,
    RunReport,
    Severity,
    Summary,
    TenantError,
    TenantReport,
    TenantStatus,
)

CATALOG: tuple[tuple[str, Severity], ...] = (
    ("okta_app_active", Severity.CRITICAL),
    ("okta_app_oidc_web", Severity.HIGH),
    ("okta_app_grant_authorization_code", Severity.CRITICAL),
    ("okta_app_no_extra_grants", Severity.HIGH),
    ("okta_app_signin_redirect_uri", Severity.CRITICAL),
    ("okta_app_no_foreign_redirect_uris", Severity.HIGH),
    ("okta_app_signout_redirect_uri", Severity.LOW),
    ("okta_app_assigned", Severity.HIGH),
    ("okta_app_required_scopes", Severity.HIGH),
    ("okta_app_no_excess_scopes", Severity.HIGH),
    ("okta_app_profile_mapping", Severity.MEDIUM),
    ("cognito_idp_exists", Severity.CRITICAL),
    ("cognito_idp_client_id_matches", Severity.CRITICAL),
    ("cognito_idp_client_secret_matches", Severity.CRITICAL),
    ("cognito_idp_issuer_matches", Severity.CRITICAL),
    ("cognito_idp_scopes", Severity.MEDIUM),
    ("cognito_idp_attribute_mapping", Severity.HIGH),
    ("cognito_client_enables_idp", Severity.CRITICAL),
    ("cognito_domain_active", Severity.CRITICAL),
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


def synthetic_run(tenants: int, seed: int) -> RunReport:
    """A run of ``tenants`` tenants: ~70 % pass, ~25 % fail, ~5 % error, seeded."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    reports = []
    for n in range(tenants):
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
                drift.append(
                    DriftEntry(
                        path="okta.app.settings.oauthClient.redirect_uris",
                        before=[f"https://auth.{tenant_id}.rapticore.io/oauth2/idpresponse"],
                        after=[
                            f"https://auth.{tenant_id}.rapticore.io/oauth2/idpresponse",
                            "https://evil.example.com/cb",
                        ],
                        against="previous",
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
        reports.append(
            TenantReport(
                tenant_id=tenant_id, status=status, results=results, drift=drift, errors=errors
            )
        )
    counts = [t.status for t in reports]
    return RunReport(
        run=RunInfo(
            id="bench", started_at="2025-01-01T02:00:00Z", finished_at="2025-01-01T02:41:00Z"
        ),
        summary=Summary(
            tenants=len(reports),
            passed=counts.count(TenantStatus.PASS),
            failed=counts.count(TenantStatus.FAIL),
            errored=counts.count(TenantStatus.ERROR),
        ),
        tenants=reports,
    )


def main() -> None:
    """Render both formats a few times and print sizes and the median render time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    start = time.perf_counter()
    report = synthetic_run(args.tenants, args.seed)
    built = time.perf_counter() - start
    summary = report.summary
    print(
        f"{summary.tenants} tenants x {len(CATALOG)} rules: {summary.passed} pass, "
        f"{summary.failed} fail, {summary.errored} error (built in {built:.2f}s)"
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
