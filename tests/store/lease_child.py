"""Child process of the lease tests: one contender, as a replica or an on-demand audit is.

Usage: lease_child.py URL MODE LOG START_AT

Waits until the wall clock reaches START_AT (so the contenders start together), then:

``slot``: takes the nightly slot's lease as ``auditor schedule`` does (wait for a holder,
skip a done slot) and, when it got it, "audits" for a moment and appends ``audited`` to
LOG. ``tenant``: holds the tenant's lease (waiting for the other holder) and appends its
start and end times to LOG. ``crash``: takes the slot and is SIGKILLed by the parent while
holding it (it writes ``holding`` to LOG first). ``scheduler``: fires the nightly job as
``auditor schedule`` does (the scheduler's SlotGuard, its clock fixed a few seconds after
the 02:00 slot) with an "audit" that appends ``audited`` to LOG.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.store import lease
from auditor.store.engine import make_engine

SLOT = lease.slot_lease_name("nightly-audit", datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
TTL = timedelta(seconds=2)


def _append(path: Path, line: str) -> None:
    # O_APPEND writes of one short line do not interleave between processes.
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def main() -> None:
    url, mode, log_path, start_at = sys.argv[1:5]
    out = Path(log_path)
    engine = make_engine(url)
    holder = lease.new_holder()
    time.sleep(max(0.0, float(start_at) - time.time()))
    if mode == "slot":
        with lease.hold(
            engine, SLOT, holder=holder, ttl=TTL, wait=30, poll=0.05, done_on_success=True
        ) as held:
            if held is not None:
                time.sleep(0.5)
                _append(out, f"audited {os.getpid()}")
    elif mode == "tenant":
        with lease.hold(engine, lease.tenant_lease_name("acme"), holder=holder, ttl=TTL,
                        wait=30, poll=0.05):
            _append(out, f"start {time.time()!r}")
            time.sleep(0.3)
            _append(out, f"end {time.time()!r}")
    elif mode == "scheduler":
        from auditor.config import ScheduleConfig  # noqa: PLC0415
        from auditor.scheduler import SlotGuard  # noqa: PLC0415 - only this mode needs it
        from auditor.service.settings import ServiceSettings  # noqa: PLC0415

        def audit() -> int:
            time.sleep(0.5)
            _append(out, f"audited {os.getpid()}")
            return 0

        fired_at = datetime(2026, 11, 28, 2, 0, 3, tzinfo=UTC)
        guard = SlotGuard(
            trigger=ScheduleConfig().trigger(), engine=engine,
            settings=ServiceSettings(lease_ttl_seconds=10), clock=lambda: fired_at,
        )
        guard.scheduled(audit)()
    elif mode == "crash":
        got = lease.acquire(engine, SLOT, holder, ttl=TTL)
        _append(out, "holding" if got else "not acquired")
        time.sleep(120)
    engine.dispose()


if __name__ == "__main__":
    main()
