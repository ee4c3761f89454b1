"""Child process of the service test: ``run_service`` as ``auditor schedule --listen`` runs it.

Usage: service_child.py LISTEN STORE_URL [MARKER_DIR]

Schedules a far-away cron with a start-up run (``--now``) whose "audit" records an empty
report in the metrics, serves /metrics and /healthz on LISTEN, prints the ready line on
stderr, and returns run_service's exit code when SIGTERM arrives. With MARKER_DIR the
audit takes 2 seconds and writes ``started`` and ``finished`` files there.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from auditor.config import ScheduleConfig
from auditor.logs import setup_logging
from auditor.results import RunInfo, RunReport, Summary
from auditor.scheduler import run_service
from auditor.service.metrics import Metrics
from auditor.service.settings import ServiceSettings
from auditor.store import open_store


def main() -> int:
    listen, store_url = sys.argv[1:3]
    markers = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    setup_logging("warning", "json")
    metrics = Metrics()
    store = open_store(store_url)

    def audit() -> int:
        if markers is not None:
            (markers / "started").touch()
            time.sleep(2)
            (markers / "finished").touch()
        report = RunReport(
            run=RunInfo(id="r1", started_at="2026-11-27T00:00:00Z",
                        finished_at="2026-11-27T00:00:01Z"),
            summary=Summary(tenants=0, passed=0, failed=0, errored=0),
            tenants=[],
        )
        metrics.record_run(report, 1.0)
        return 0

    return run_service(
        ScheduleConfig(cron="0 3 1 1 *"), audit, settings=ServiceSettings(listen=listen),
        metrics=metrics, engine=store.engine, run_now=True,
        on_ready=lambda line: print(f"auditor: {line}", file=sys.stderr, flush=True),  # noqa: T201
    )


if __name__ == "__main__":
    sys.exit(main())
