"""Benchmark: where an audit's memory goes, phase by phase, for a fleet of N tenants.

    PYTHONPATH=. .venv/bin/python benchmarks/fleet_memory.py --tenants 1000
    PYTHONPATH=. .venv/bin/python benchmarks/fleet_memory.py --tenants 1000 --tracemalloc

The fleet is :mod:`fleet_quota`'s (compliant tenants, 10 per Okta org, emulators in a
child process), served here without quotas or latency by default: memory, not time, is
what this measures. The auditor side is :func:`auditor.application.audit_and_record`
itself, with a fresh SQLite store and a report folder in a temporary directory (both
formats), so the figures are those of ``auditor audit --all``.

Printed per phase (collect, evaluate and remember each tenant as it finishes; save the
run in the store; trends; render and write the reports): the process's resident memory
at the phase's end and its peak during it (Linux ``VmHWM``, reset between phases through
``/proc/self/clear_refs``); with ``--tracemalloc``, the Python heap at the end of each
phase and its peak during it (slower: every allocation is traced). Phases are observed
through hooks wrapped around the functions ``audit_and_record`` calls, so the code
measured is the code shipped. Then the sizes of the reports and the store, and one JSON
line with everything.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_quota import BuiltTenant, FleetSpec, _apply_env, serve_fleet


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False when the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Phases:
    """Per-phase RSS (and Python heap) figures, one phase after another."""

    def __init__(self, *, trace: bool) -> None:
        self.trace = trace
        self.rows: list[dict[str, Any]] = []
        self.can_reset = _reset_peak()
        self._started = time.perf_counter()

    def mark(self, name: str) -> None:
        """Close the phase that just ended, under ``name``, and start the next one."""
        row: dict[str, Any] = {
            "phase": name,
            "seconds": round(time.perf_counter() - self._started, 2),
            "rss_mb": round(_status_kb("VmRSS") / 1024),
            "peak_rss_mb": round(_status_kb("VmHWM") / 1024),
        }
        if self.trace:
            current, peak = tracemalloc.get_traced_memory()
            row["heap_mb"] = round(current / 2**20, 1)
            row["heap_peak_mb"] = round(peak / 2**20, 1)
            tracemalloc.reset_peak()
        self.rows.append(row)
        print(f"  {name:<28} {row['seconds']:>7.1f} s   rss {row['rss_mb']:>5} MB   "
              f"peak {row['peak_rss_mb']:>5} MB"
              + (f"   heap {row['heap_mb']:>7} MB   heap peak {row['heap_peak_mb']:>7} MB"
                 if self.trace else ""), flush=True)
        self.can_reset = _reset_peak()
        self._started = time.perf_counter()


def _hook(module: str, name: str, phases: Phases, label: str) -> None:
    """Wrap ``module.name`` so that ``phases`` marks ``label`` when a call returns.

    Generators and iterables returned are not followed: a phase that returns a lazy value
    is charged where it is consumed.
    """
    mod = importlib.import_module(module)
    original = getattr(mod, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        result = original(*args, **kwargs)
        phases.mark(label)
        return result

    setattr(mod, name, wrapper)


HOOKS = (
    # (module the name is looked up in at call time, name, label)
    ("auditor.audit", "stream_audit", "(marked through asyncio.run, below)"),
    ("auditor.history", "RunRecorder.finish", "save the run"),
    ("auditor.store", "tenant_trends", "trends"),
    ("auditor.report", "render_files", "render reports"),
    ("auditor.report.destination", "FolderDestination.write", "write reports"),
)


def _install_hooks(phases: Phases) -> None:
    import asyncio  # noqa: PLC0415

    import auditor.audit  # noqa: PLC0415
    import auditor.history  # noqa: PLC0415
    import auditor.report.destination  # noqa: PLC0415
    import auditor.report.formats  # noqa: PLC0415  (render_files resolves through it)
    import auditor.store  # noqa: PLC0415, F401 (tenant_trends is looked up on it)

    # asyncio.run(stream_audit(...)) in audit_and_record: mark when asyncio.run returns
    # the first time (the audit); later calls (alerts, none here) are not marked.
    real_run = asyncio.run
    marked = {"done": False}

    def run(main: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        result = real_run(main, **kwargs)
        if not marked["done"]:
            marked["done"] = True
            phases.mark("collect, evaluate, remember")
        return result

    asyncio.run = run  # type: ignore[assignment]
    for module, name, label in HOOKS[1:]:
        if "." in name:
            owner, attr = name.split(".")
            cls = getattr(importlib.import_module(module), owner)
            original = getattr(cls, attr)

            def wrapped(self: Any, *a: Any, _o: Any = original, _l: str = label,  # noqa: ANN401
                        **k: Any) -> Any:  # noqa: ANN401
                result = _o(self, *a, **k)
                phases.mark(_l)
                return result

            setattr(cls, attr, wrapped)
        elif hasattr(importlib.import_module(module), name):
            _hook(module, name, phases, label)


def main() -> int:
    """Build the fleet, audit it through audit_and_record, print the memory by phase."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--tenants-per-org", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cognito-latency", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--okta-latency", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--gc-every", type=int, default=0, metavar="N",
                        help="diagnosis: a full gc.collect() after every N finished tenants "
                             "(shows how much of the collect phase's peak is cyclic garbage)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in this folder (store, reports) and keep it")
    args = parser.parse_args()

    spec = FleetSpec(
        tenants=args.tenants, tenants_per_org=args.tenants_per_org,
        base_domain="rapticore.io", cognito_latency=args.cognito_latency,
        okta_latency=args.okta_latency,
        rates={"UserPoolResourceRead": 1e6, "UserPoolClientRead": 1e6, "UserPoolRead": 1e6},
        per_pool_operation=None,
    )
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    emulators = context.Process(target=serve_fleet, args=(theirs, spec), name="emulators")
    emulators.start()
    work = Path(args.keep or tempfile.mkdtemp(prefix="fleet-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        fleet = ours.recv()
        tenants = [BuiltTenant(**t) for t in fleet["tenants"]]
        print(f"built {len(tenants)} tenants in {fleet['build_seconds']:.1f} s "
              "(emulator process)", flush=True)
        _apply_env(fleet["env"])
        outcome, phases, total = _audit(args, tenants, work)
    finally:
        ours.send("stop")
        emulators.join(timeout=30)

    sizes = {p.name: p.stat().st_size for p in sorted(work.glob("report.*"))}
    store_bytes = sum(p.stat().st_size for p in work.glob("state.db*"))
    summary = outcome.report.summary
    figures = {
        "tenants": summary.tenants,
        "passed": summary.passed,
        "exit_code": outcome.exit_code,
        "wall_seconds": round(total, 1),
        "phases": phases.rows,
        # clear_refs resets ru_maxrss too: the run's peak is the largest phase peak.
        "peak_rss_mb": max(
            [row["peak_rss_mb"] for row in phases.rows]
            + [round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)]
        ),
        "peak_reset_per_phase": phases.can_reset,
        "report_bytes": sizes,
        "store_bytes": store_bytes,
        "tracemalloc": args.tracemalloc,
    }
    print(f"reports: {sizes}; store {store_bytes / 1e6:.1f} MB; exit {outcome.exit_code}; "
          f"{summary.passed}/{summary.tenants} passed")
    print(f"peak RSS of the auditor over the whole run: {figures['peak_rss_mb']} MB")
    print(json.dumps(figures))
    return 0 if summary.passed == summary.tenants else 1


def _audit(args: argparse.Namespace, tenants: list[BuiltTenant], work: Path) -> Any:  # noqa: ANN401
    from auditor.application import AuditRequest, audit_and_record  # noqa: PLC0415
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415
    from auditor.config import AuditorConfig  # noqa: PLC0415
    from auditor.report import ReportFormat  # noqa: PLC0415
    from auditor.report.destination import FolderDestination  # noqa: PLC0415
    from auditor.results import Severity  # noqa: PLC0415
    from auditor.rules import load_rule_pack  # noqa: PLC0415

    configs = [t.config() for t in tenants]
    config = AuditorConfig(
        version=1, tenants=configs, store=f"sqlite:///{work / 'state.db'}",
        concurrency=args.concurrency,
    )
    request = AuditRequest(
        config=config, tenants=configs, pack=load_rule_pack(),
        output=FolderDestination(work), formats=list(ReportFormat),
        fail_on=Severity.LOW, hasher=SecretHasher.ephemeral(),
    )
    if args.tracemalloc:
        tracemalloc.start()
    phases = Phases(trace=args.tracemalloc)
    _install_hooks(phases)
    print(f"phase                          time       rss now     peak in phase (start: "
          f"{_status_kb('VmRSS') // 1024} MB)", flush=True)
    started = time.perf_counter()
    finished = [0]

    def collect_garbage(_snapshot: object) -> None:
        finished[0] += 1
        if finished[0] % args.gc_every == 0:
            gc.collect()

    outcome = audit_and_record(request, on_done=collect_garbage if args.gc_every else None)
    total = time.perf_counter() - started
    phases.mark("after (outcome returned)")
    return outcome, phases, total


if __name__ == "__main__":
    sys.exit(main())
