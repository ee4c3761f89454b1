"""Benchmark: the memory of ``auditor report --run-group`` combining N shards (issue 9).

    PYTHONPATH=. .venv/bin/python benchmarks/run_group_memory.py --tenants 20000 --shards 4
    PYTHONPATH=. .venv/bin/python benchmarks/run_group_memory.py --tenants 8000 --tracemalloc

Builds :mod:`report_size`'s synthetic tenants (with what a store adds), deals them round
the shards, and packs each shard's report as the run-group table keeps it
(:func:`~auditor.store.run_groups.compressed_lines`; ``--earlier-format``: ``report.json``
compressed whole, as rows recorded before it). Then measures what ``report --run-group``
does with the shards once they are read from the store: :func:`combine_reports`, and
``report.json`` rendered (and dropped) chunk by chunk. Printed: the packed size, the
seconds, RSS before and its peak during the phase (Linux ``VmHWM``, reset first through
``/proc/self/clear_refs``), and with ``--tracemalloc`` the Python heap's peak.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
import zlib
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_size import _tenant

from auditor.audit import ReportBuilder
from auditor.report.json_report import json_chunks, render_json
from auditor.results import RunInfo
from auditor.run_group import combine_reports
from auditor.store import GroupShard
from auditor.store.run_groups import compressed_lines


def _status_mb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024)
    return 0


def _shards(tenants: int, count: int, *, earlier: bool) -> tuple[list[GroupShard], list[str]]:
    """``count`` packed shards of ``tenants`` synthetic tenants, and the config's order."""
    rng, mem = random.Random(7), random.Random(8)  # noqa: S311 - reproducible test data
    builders = [ReportBuilder() for _ in range(count)]
    order = []
    for n in range(tenants):
        tenant = _tenant(n, rng, mem, memory=True)
        order.append(tenant.tenant_id)
        builders[n % count].add_report(tenant)
    shards = []
    for index, builder in enumerate(builders):
        report = builder.finish(RunInfo(
            id=f"r{index}", started_at="2026-11-27T02:00:00Z", finished_at="2026-11-27T03:00:00Z",
        ))
        blob = zlib.compress(render_json(report)) if earlier else compressed_lines(report)
        report.tenants.close()
        shards.append(GroupShard(index, count, f"r{index}", datetime.now(UTC), blob))
    return shards, order


def main() -> None:
    """Pack the shards, then combine them and render report.json, measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--earlier-format", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    shards, order = _shards(args.tenants, args.shards, earlier=args.earlier_format)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    rss_before = _status_mb("VmRSS")
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    report = combine_reports(shards, shards[-1].run_id, order=order)
    size = sum(len(chunk) for chunk in json_chunks(report))
    figures = {
        "tenants": args.tenants,
        "shards": args.shards,
        "format": "report.json" if args.earlier_format else "json-lines",
        "packed_mb": round(sum(len(s._report) for s in shards) / 2**20, 1),  # noqa: SLF001
        "report_json_mb": round(size / 2**20, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "rss_before_mb": rss_before,
        "peak_rss_mb": _status_mb("VmHWM"),
    }
    if args.tracemalloc:
        figures["heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
