"""The whole run of a sharded fleet audit: its shards' reports as one (CONTRACT section 7).

``auditor report --run-group ID`` calls :func:`report_run_group`: it waits (if asked)
for every shard of the group to be recorded, joins their reports with
:func:`combine_reports`, writes the whole run's reports, and announces the whole run's
alerts once. Like :mod:`auditor.application` it never parses flags or prints; heavy
parts are imported inside the functions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.errors import EXIT_COLLECTION_ERROR
from auditor.results import RunInfo, WaiverIssue
from auditor.shards import Shard

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from auditor.alerts import DeliveryReport
    from auditor.config import AuditorConfig
    from auditor.report import ReportFormat
    from auditor.report.destination import Destination
    from auditor.results import RunView, Severity
    from auditor.store import GroupShard, ShardEntry
    from auditor.streamed_report import StreamedReport

log = logging.getLogger("auditor")

POLL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class GroupReportRequest:
    """What ``auditor report --run-group`` was asked for."""

    config: AuditorConfig
    group_id: str
    output: Destination
    formats: Sequence[ReportFormat]
    fail_on: Severity
    wait_seconds: float = 0.0
    partial: bool = False


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """How the run group's report went; ``report`` is None when nothing was written."""

    exit_code: int
    missing: tuple[Shard, ...] = ()
    problem: str | None = None  # one line for stderr: why nothing (or not all) was done
    report: RunView | None = None
    written: tuple[str, ...] = ()
    alerts: DeliveryReport | None = None
    shards: tuple[Shard, ...] = field(default=())


def missing_shards(shards: Sequence[ShardEntry | GroupShard]) -> list[Shard]:
    """The shards of the group's count that have no recorded run."""
    if not shards:
        return []
    count = shards[0].count
    present = {s.index for s in shards}
    return [Shard(i, count) for i in range(count) if i not in present]


def combine_reports(
    shards: Sequence[GroupShard], run_id: str, *, order: Sequence[str] = ()
) -> StreamedReport:
    """The shards' reports as the one report of the whole run, read one tenant at a time.

    Tenants in the order of ``order`` (the config's tenant ids; others after them, in
    shard order), as an unsharded run lists them; the run spans the
    earliest start to the latest finish; a waiver is ``stale`` only when every shard
    found it stale (a shard sees only its own tenants), other waiver notes once each.
    A tenant in two shards (the config changed between them) is reported once, from the
    first. Each shard's tenants are read back one at a time into a
    :class:`~auditor.audit.ReportBuilder`, so no shard's report is ever whole in memory.
    """
    from auditor.audit import ReportBuilder  # noqa: PLC0415 - see the module docstring

    if not shards:
        raise ValueError("no shard report to combine")
    heads = [s.head() for s in shards]
    stale_everywhere = set.intersection(
        *({w for w in h.waivers if w.problem == "stale"} for h in heads)
    )
    waivers: list[WaiverIssue] = []
    for issue in (w for h in heads for w in h.waivers):
        keep = issue.problem != "stale" or issue in stale_everywhere
        if keep and issue not in waivers:
            waivers.append(issue)
    builder = ReportBuilder(order)
    for shard in shards:
        for tenant in shard.tenants():
            if builder.tenants.holds(tenant.tenant_id):
                log.warning("tenant %s is in more than one shard of the group; shard %d/%d's "
                            "verdict is left out", tenant.tenant_id, shard.index, shard.count)
                continue
            builder.add_report(tenant)
    info = RunInfo(
        id=run_id,
        started_at=min(h.run.started_at for h in heads),
        finished_at=max(h.run.finished_at for h in heads),
        trigger=heads[0].run.trigger,
    )
    return builder.finish(info, waivers)


def report_run_group(
    request: GroupReportRequest,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> GroupOutcome:
    """Write the whole run's reports and announce its alerts once every shard is in.

    Missing shards: wait up to ``wait_seconds`` for them; then, unless ``partial``,
    write nothing and exit 3. With ``partial`` the finished shards are reported (their
    tenants only: the missing shards' tenants are not in the report, so no alert
    resolves them) and the exit code is 3.
    """
    from auditor.audit import exit_code  # noqa: PLC0415 - see the module docstring
    from auditor.report import render_files  # noqa: PLC0415
    from auditor.report.destination import ReportWriteError  # noqa: PLC0415
    from auditor.store import RunGroups, open_store, tenant_trends  # noqa: PLC0415
    from auditor.streamed_report import check_spool_folder  # noqa: PLC0415

    config = request.config
    request.output.check()  # an --output that cannot be written: exit 2, nothing read
    check_spool_folder()  # the combined tenants are spooled there, as an audit's are
    store = open_store(config.store)
    try:
        groups = RunGroups(store)
        deadline = clock() + request.wait_seconds
        # Polled without the reports (megabytes each), which are read once, after.
        entries = groups.entries(request.group_id)
        while (not entries or missing_shards(entries)) and clock() < deadline:
            sleep(min(POLL_SECONDS, max(0.0, deadline - clock())))
            entries = groups.entries(request.group_id)
        shards = groups.shards(request.group_id) if entries else []
        if not shards:
            return GroupOutcome(
                EXIT_COLLECTION_ERROR,
                problem=f"run group {request.group_id!r} has no recorded shard yet "
                "(run `auditor audit --all --shard I/N --run-group "
                f"{request.group_id}` for each shard first)",
            )
        missing = tuple(missing_shards(shards))
        present = tuple(Shard(s.index, s.count) for s in shards)
        if missing and not request.partial:
            return GroupOutcome(EXIT_COLLECTION_ERROR, missing=missing, shards=present)
        # The run id of the shard recorded last: an id the store knows (alerts are filed
        # under a recorded run), and a new one whenever a shard is run again.
        latest = max(shards, key=lambda s: s.recorded_at)
        report = combine_reports(shards, latest.run_id, order=[t.id for t in config.tenants])
        trends = tenant_trends(store, [t.tenant_id for t in report.tenants])
        alerts = None
        problem = None
        written: list[str] = []
        try:
            written = request.output.write(
                report.run.id, report.run.started_at,
                render_files(request.formats, report, trends=trends),
            )
        except ReportWriteError as exc:
            problem = f"the reports were NOT written: {exc}"
        if config.alerts is not None:
            from auditor.alerts import announce  # noqa: PLC0415

            alerts = announce(report, store, config.alerts)
    finally:
        store.close()
    code = (
        EXIT_COLLECTION_ERROR
        if missing or problem is not None
        else exit_code(report, request.fail_on)
    )
    return GroupOutcome(
        code, missing=missing, problem=problem, report=report, written=tuple(written),
        alerts=alerts, shards=present,
    )
