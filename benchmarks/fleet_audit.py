"""Benchmark: audit N emulated tenants end to end and print the figures.

    .venv/bin/python benchmarks/fleet_audit.py --tenants 1000 --concurrency 16

Builds N tenants on the Okta emulator and moto's Cognito (every sixth tenant compliant,
the rest cycling through the demo's misconfigurations), audits them through the real
okta SDK and boto3, renders both reports, and prints build time, audit time, tenants
per second, peak memory and report sizes. Everything runs in one process (the emulators
included), so the figures are a pessimistic bound: the servers compete for the GIL with
the auditor.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

from auditor.audit import run_audit
from auditor.collect.secrets import SecretHasher
from auditor.demo import (
    _deactivate,
    _revoke_user_types_grant,
    _rotate_secret_in_okta_only,
    _trailing_slash_redirect,
    running_fleet,
)
from auditor.report import ReportFormat, render
from auditor.rules import load_rule_pack

STORIES = [None, _deactivate, _revoke_user_types_grant, _trailing_slash_redirect,
           _rotate_secret_in_okta_only, None]


def main() -> int:
    """Run the benchmark; print one figure per line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--output", type=Path, default=Path("benchmark-out"))
    args = parser.parse_args()

    pack = load_rule_pack()
    with running_fleet() as fleet:
        started = time.perf_counter()
        for i in range(args.tenants):
            fleet.add(f"bench{i:05d}", okta_change=STORIES[i % len(STORIES)])
        built = time.perf_counter() - started
        print(f"built {args.tenants} tenants on the emulators in {built:.1f} s", flush=True)

        config = fleet.config(concurrency=args.concurrency)
        started = time.perf_counter()
        run = asyncio.run(run_audit(config.tenants, config.base_domain, pack,
                                    SecretHasher.ephemeral(), concurrency=args.concurrency))
        audited = time.perf_counter() - started

    summary = run.report.summary
    print(f"audited {summary.tenants} tenants in {audited:.1f} s "
          f"({summary.tenants / audited:.1f} tenants/s, concurrency {args.concurrency}): "
          f"{summary.passed} passed, {summary.failed} failed, {summary.errored} errored")
    args.output.mkdir(parents=True, exist_ok=True)
    for fmt in ReportFormat:
        started = time.perf_counter()
        data = render(fmt, run.report)
        took = time.perf_counter() - started
        (args.output / fmt.filename).write_bytes(data)
        print(f"{fmt.filename}: {len(data) / 1e6:.2f} MB, rendered in {took:.2f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (auditor + both emulators): {peak_mb:.0f} MB")
    return 0 if summary.errored == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
