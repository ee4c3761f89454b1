"""The one audit flow every entry point shares: run, record, write the reports.

``auditor audit``, the scheduler's nightly job and the demo all call :func:`audit_and_record`.
It never parses flags or prints: it returns an :class:`AuditOutcome` and the caller
(the CLI today, the service later) decides what to say. Heavy parts (the collectors,
SQLAlchemy, Jinja2) are imported inside the functions so that importing this module
costs nothing and the CLI's ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from auditor.errors import EXIT_COLLECTION_ERROR
from auditor.logs import bind_run, run_log
from auditor.redact import redact_url

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from auditor.alerts import DeliveryReport
    from auditor.audit import TenantLeases, TenantSink
    from auditor.collect.secrets import SecretHasher
    from auditor.config import AuditorConfig, TenantConfig
    from auditor.history import Trigger
    from auditor.report import ReportFormat
    from auditor.report.destination import Destination
    from auditor.results import RunView, Severity
    from auditor.rules import RulePack
    from auditor.service.metrics import Metrics
    from auditor.shards import Shard
    from auditor.snapshot import TenantSnapshot
    from auditor.store import Store, TrendPoint
    from auditor.streamed_report import StreamedReport
    from auditor.waivers import Waiver

log = logging.getLogger("auditor")


@dataclass(frozen=True, slots=True)
class AuditOutcome:
    """What one audit produced: the final report, the files written, and its exit code.

    ``alerts`` says how the announcement went: None when the config has no ``alerts:``
    or the run was not recorded (nothing is announced about a run the store does not
    have); otherwise a report whose ``lines()`` name what was not delivered. It never
    affects ``exit_code``.
    """

    report: RunView
    written: tuple[str, ...]  # where each file went: the latest first, then the run's copy
    store_failure: str | None  # why the run was not recorded; None when it was
    write_failure: str | None  # why the reports were not (all) written; None when they were
    exit_code: int
    alerts: DeliveryReport | None = None


@dataclass(frozen=True, slots=True)
class AuditRequest:
    """Everything one audit needs: what to audit, how to judge it, where the reports go.

    One value, built by whoever starts a run (a command, the scheduler, the demo), so
    that a new setting of the run is a new field here rather than a new parameter
    threaded through every caller.
    """

    config: AuditorConfig
    tenants: Sequence[TenantConfig]
    pack: RulePack
    output: Destination  # checked before anything is collected
    formats: Sequence[ReportFormat]
    fail_on: Severity
    waivers: Sequence[Waiver] = ()
    trigger: Trigger = "manual"
    hasher: SecretHasher | None = None  # None: the installation's key, beside the store
    # False (`--no-alerts`): record the run, tell no route; the next run tells them.
    send_alerts: bool = True
    # A shard of a fleet run (CONTRACT 7): the run is also filed under ``run_group`` as
    # ``shard``, and announces nothing: `auditor report --run-group` alerts for the run.
    run_group: str | None = None
    shard: Shard | None = None
    metrics: Metrics | None = None  # the service's figures, to record this run in
    metrics_file: Path | None = None  # node-exporter textfile to write after the run
    stop: threading.Event | None = None  # set on SIGTERM: finish the tenants under way, stop

    @property
    def announces(self) -> bool:
        """Whether this run tells the routes anything itself (a shard leaves it to the report)."""
        return self.run_group is None


def audit_and_record(
    request: AuditRequest, *, on_done: Callable[[TenantSnapshot], None] | None = None
) -> AuditOutcome:
    """Audit the request's tenants, record the run in the config's store, write the reports.

    Every line logged during the run carries its ``run_id``; its start and end are
    logged on ``auditor.run`` (shown at the default level).
    """
    from auditor.logs import register_config_secrets  # noqa: PLC0415 - see the module docstring

    register_config_secrets(request.config)  # before anything can log a token
    run_id = str(uuid.uuid4())
    with bind_run(run_id):
        run_log().info(
            "audit run starting: %d tenant(s)", len(request.tenants),
            extra={"tenants": len(request.tenants), "trigger": request.trigger},
        )
        started = time.monotonic()
        outcome = _audit_and_record(request, run_id, on_done)
        duration = time.monotonic() - started
        _record_metrics(request, outcome, duration)
        summary = outcome.report.summary
        run_log().info(
            "audit run finished in %.1fs: %d passed, %d failed, %d errored; exit code %d",
            duration, summary.passed, summary.failed, summary.errored, outcome.exit_code,
            extra={
                "duration_seconds": round(duration, 3), "exit_code": outcome.exit_code,
                "passed": summary.passed, "failed": summary.failed,
                "errored": summary.errored, "recorded": outcome.store_failure is None,
                "reports_written": outcome.write_failure is None,
            },
        )
    return outcome


def _audit_and_record(
    request: AuditRequest, run_id: str, on_done: Callable[[TenantSnapshot], None] | None
) -> AuditOutcome:
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - see the module docstring

    from auditor.audit import exit_code  # noqa: PLC0415
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415
    from auditor.report import render_files  # noqa: PLC0415
    from auditor.report.destination import ReportWriteError  # noqa: PLC0415
    from auditor.store import StoreError, open_store  # noqa: PLC0415
    from auditor.store_paths import fingerprint_key_path  # noqa: PLC0415
    from auditor.streamed_report import check_spool_folder  # noqa: PLC0415

    config = request.config
    request.output.check()  # an --output that cannot be written: exit 2, nothing audited
    check_spool_folder()  # a fleet's tenants wait there: find out now, not an hour in
    hasher = request.hasher or SecretHasher.for_installation(fingerprint_key_path(config.store))
    store_failure = None
    store = None
    try:
        # Opened first: its tenant leases keep another process off a tenant we audit.
        store = open_store(config.store)
    except (SQLAlchemyError, StoreError, OSError) as exc:
        store_failure = f"{type(exc).__name__}: {exc}"
        log.error("could not open the store %s (%s); auditing without tenant leases, "  # noqa: TRY400 - one line
                  "the run will not be recorded", redact_url(config.store), type(exc).__name__)
    try:
        report, trends, record_failure = _run(request, run_id, hasher, store=store, on_done=on_done)
    finally:
        if store is not None:
            store.close()
    store_failure = store_failure or record_failure
    written: list[str] = []
    write_failure = None
    try:
        written = request.output.write(
            report.run.id, report.run.started_at,
            render_files(request.formats, report, trends=trends),
        )
    except ReportWriteError as exc:
        write_failure = str(exc)
    failed = store_failure is not None or write_failure is not None
    code = EXIT_COLLECTION_ERROR if failed else exit_code(report, request.fail_on)
    # After the reports exist (messages link to them), and only about a recorded run; a
    # shard says nothing of alerts at all (`--no-alerts` would be the wrong reason).
    alerts = None
    if config.alerts is not None and store_failure is None and request.announces:
        alerts = announce_recorded(report, config, send=request.send_alerts)
    return AuditOutcome(report, tuple(written), store_failure, write_failure, code, alerts)


def _run(
    request: AuditRequest,
    run_id: str,
    hasher: SecretHasher,
    *,
    store: Store | None,
    on_done: Callable[[TenantSnapshot], None] | None,
) -> tuple[StreamedReport, dict[str, list[TrendPoint]] | None, str | None]:
    """Audit, each tenant remembered as it finishes; record the run: (report, trends, failure).

    ``failure`` says why ``store`` could not record the run; None when it did, or when
    there was no store to record in.

    Nothing of a finished tenant stays in memory but its compressed report (issue 9): with
    a store, :class:`~auditor.history.RunRecorder` takes each tenant; without, a plain
    :class:`~auditor.audit.ReportBuilder`.
    """
    from auditor.audit import ReportBuilder, TenantLeases, stream_audit  # noqa: PLC0415
    from auditor.collect.tenant import utc_now  # noqa: PLC0415
    from auditor.history import STORE_FAILURES, RunRecorder  # noqa: PLC0415
    from auditor.results import RunInfo  # noqa: PLC0415
    from auditor.store import AlertStore, RunGroups, tenant_trends  # noqa: PLC0415
    from auditor.store.lease import new_holder  # noqa: PLC0415

    config = request.config
    order = [t.id for t in request.tenants]
    started_at = utc_now()

    def audit(sink: TenantSink, leases: TenantLeases | None) -> RunInfo:
        asyncio.run(stream_audit(
            request.tenants, config.base_domain, request.pack, hasher, sink,
            pacing=config.pacing, concurrency=concurrency_cap(config), on_done=on_done,
            run_id=run_id, leases=leases, stop=request.stop,
        ))
        return RunInfo(id=run_id, started_at=started_at, finished_at=utc_now())

    if store is None:
        builder = ReportBuilder(order)
        return builder.finish(audit(builder, None)), None, None
    recorder = RunRecorder(
        store, started_at=started_at, waivers=request.waivers,
        today=datetime.now(UTC).date(), order=order,
    )
    leases = TenantLeases(
        store.engine, new_holder(), ttl=timedelta(seconds=config.schedule.lease_ttl_seconds),
        wait=float(config.schedule.tenant_wait_seconds),
    )
    try:
        info = audit(recorder, leases)
    except BaseException:
        recorder.close()
        raise
    try:
        report = recorder.finish(
            info, trigger=request.trigger, retention_days=config.retention_days
        ).report
        if request.run_group is not None:
            shard = request.shard
            index, count = (shard.index, shard.count) if shard is not None else (0, 1)
            RunGroups(store).record_shard(request.run_group, index, count, report)
        trends = tenant_trends(store, [t.tenant_id for t in report.tenants])
        if request.metrics is not None:
            request.metrics.set_alerts_queued(AlertStore(store).pending_count())
    except STORE_FAILURES as exc:
        # The verdicts are still worth having: write them, and say the run was not kept.
        log.error("could not record the run in the store %s: %s",  # noqa: TRY400 - one line
                  redact_url(config.store), type(exc).__name__)
        return recorder.without_memory(info), None, f"{type(exc).__name__}: {exc}"
    return report, trends, None


def concurrency_cap(config: AuditorConfig) -> int | None:
    """The config's ``concurrency:`` when the file sets it: a cap on tenants in flight.

    Unset, the pacing alone decides (its default of 8 predates pacing and would hold
    the quota idle while tenants wait on latency).
    """
    return config.concurrency if "concurrency" in config.model_fields_set else None


def _record_metrics(request: AuditRequest, outcome: AuditOutcome, duration: float) -> None:
    """The run's figures into ``request.metrics`` and, if asked, the textfile."""
    metrics = request.metrics
    if metrics is None and request.metrics_file is None:
        return
    if metrics is None:
        from auditor.service.metrics import Metrics  # noqa: PLC0415 - see the module docstring

        metrics = Metrics()
    # A run is a success when it was recorded: its verdicts are what the store keeps.
    metrics.record_run(outcome.report, duration, succeeded=outcome.store_failure is None)
    if request.metrics_file is not None:
        try:
            metrics.write_textfile(request.metrics_file)
        except (OSError, ValueError):
            log.exception("could not write the metrics file %s", request.metrics_file)


def announce_recorded(report: RunView, config: AuditorConfig, *, send: bool) -> DeliveryReport:
    """Tell the config's routes about the recorded run; never raises, never blocks long.

    ``send=False`` records nothing: the routes' state stays as it was, so the next run
    announces what they were not told. Delivered events older than the run retention are
    forgotten afterwards (what was told per finding is kept apart and never pruned).
    """
    from auditor.alerts import DeliveryReport, announce  # noqa: PLC0415 - see the docstring
    from auditor.store import open_store  # noqa: PLC0415
    from auditor.store.alerts import AlertStore  # noqa: PLC0415

    if config.alerts is None:
        return DeliveryReport()
    if not send:
        return DeliveryReport(skipped=True)
    try:
        store = open_store(config.store)
    except Exception as exc:  # noqa: BLE001 - alerts never fail the audit; said on stderr
        # The exception's text may hold a store URL: name its type only.
        log.warning("alerts: could not open the store: %s", type(exc).__name__)
        return DeliveryReport(problem=f"could not open the store ({type(exc).__name__})")
    try:
        result = announce(report, store, config.alerts)
        try:
            AlertStore(store).prune_delivered(config.retention_days, now=datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - housekeeping; the next run tries again
            log.warning("alerts: could not prune delivered events: %s", type(exc).__name__)
    finally:
        store.close()
    return result
