"""``auditor audit`` (the verdict, the reports, the exit code) and ``auditor snapshot``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.application import AuditRequest
from auditor.cli.parser import (
    ENV_METRICS_FILE,
    ENV_SHARD,
    add_config_flag,
    add_fail_on_flag,
    add_no_alerts_flag,
    add_report_flags,
    add_run_group_flag,
    add_tenant_flags,
    env,
)
from auditor.cli.shared import (
    alerts_off,
    audit_and_tell,
    load_config_arg,
    pack_and_waivers,
    report_formats,
    select_tenants,
)
from auditor.cli.stopping import stop_on_signals
from auditor.errors import EXIT_COLLECTION_ERROR, EXIT_OK, UsageError
from auditor.report.destination import Destination
from auditor.results import Severity

if TYPE_CHECKING:
    import argparse

    from auditor.cli.parser import Commands
    from auditor.config import AuditorConfig
    from auditor.shards import Shard


def register(commands: Commands) -> None:
    """Add ``snapshot`` and ``audit``."""
    snapshot = commands.add_parser(
        "snapshot",
        help="collect one tenant and print its redacted snapshot as JSON",
        description=(
            "Collect both halves of one tenant and print the normalized, redacted "
            "snapshot the rules see (no secret values; secrets appear as fingerprints)."
        ),
    )
    add_config_flag(snapshot)
    snapshot.add_argument("--tenant", metavar="ID", required=True, help="a tenant id")
    snapshot.set_defaults(handler=snapshot_command)

    audit = commands.add_parser(
        "audit",
        help="audit tenants, write reports, exit with the verdict",
        description=(
            "Collect each selected tenant's Okta app and Cognito identity provider, "
            "check them against the rule pack, write report.json / report.html, and "
            "exit 0 (clean), 1 (failing results at or above --fail-on), 2 (bad usage or "
            "config) or 3 (a tenant could not be fully collected). With alerts: in the "
            "config, each route is then told what changed for it; that never changes the "
            "exit code."
        ),
        epilog="example: auditor audit --config auditor.yaml --tenant acme --fail-on high",
    )
    add_config_flag(audit)
    add_tenant_flags(audit)
    add_report_flags(audit)
    add_fail_on_flag(audit)
    audit.add_argument(
        "--rules", metavar="DIR", help="a rule pack directory (default: the built-in pack)"
    )
    add_no_alerts_flag(audit)
    audit.add_argument(
        "--metrics-file",
        metavar="PATH",
        default=env(ENV_METRICS_FILE),
        help=(
            "after the run, write its figures to PATH (a *.prom file in node-exporter's "
            f"textfile collector folder; env {ENV_METRICS_FILE})"
        ),
    )
    audit.add_argument(
        "--shard",
        metavar="I/N",
        default=env(ENV_SHARD),
        help="audit only shard I (from 0) of N of the fleet, with --all and --run-group: "
        "tenants of one AWS account and region stay in one shard; the run is recorded "
        "under the group and sends no alerts (`auditor report --run-group` does) "
        f"(env {ENV_SHARD})",
    )
    add_run_group_flag(audit, required=False)
    audit.set_defaults(handler=audit_command)


def snapshot_command(args: argparse.Namespace) -> int:
    """Print one tenant's redacted snapshot; exit 3 if a part could not be collected."""
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415 - keep --help fast
    from auditor.collect.tenant import collect_tenant  # noqa: PLC0415
    from auditor.store_paths import fingerprint_key_path  # noqa: PLC0415

    config, _ = load_config_arg(args.config)
    (tenant,) = select_tenants(config, [args.tenant], every=False)
    hasher = SecretHasher.for_installation(fingerprint_key_path(config.store))
    snapshot = asyncio.run(collect_tenant(tenant, config.base_domain, hasher))
    print(snapshot.to_json())
    return EXIT_COLLECTION_ERROR if snapshot.has_errors else EXIT_OK


def audit_command(args: argparse.Namespace) -> int:
    """Audit the selected tenants; the exit code is the verdict."""
    formats = report_formats(args.format)
    send_alerts = not alerts_off(args)
    config, lines = load_config_arg(args.config)
    tenants = select_tenants(config, args.tenant, every=args.all)
    shard, group = _shard_args(args, config)
    if shard is not None:
        from auditor.shards import shard_of  # noqa: PLC0415 - keep --help fast

        tenants = shard_of(tenants, shard.index, shard.count)
    pack, waivers = pack_and_waivers(config, lines, Path(args.rules) if args.rules else None)
    metrics_file = Path(args.metrics_file) if args.metrics_file else None
    if metrics_file is not None:
        from auditor.service.metrics import check_textfile_path  # noqa: PLC0415 - keep --help fast

        try:
            check_textfile_path(metrics_file)  # unusable: exit 2 now, not after the run
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    with stop_on_signals() as stop:
        return audit_and_tell(AuditRequest(
            config, tenants, pack=pack, output=Destination.parse(args.output), formats=formats,
            fail_on=Severity(args.fail_on), waivers=waivers,
            send_alerts=send_alerts,
            metrics_file=metrics_file, stop=stop, run_group=group, shard=shard,
        ))


def _shard_args(
    args: argparse.Namespace, config: AuditorConfig
) -> tuple[Shard | None, str | None]:
    """``--shard`` and ``--run-group`` checked (exit 2), before anything is audited."""
    from auditor.shards import Shard, ShardSpecError, parse_shard  # noqa: PLC0415
    from auditor.store import check_run_group  # noqa: PLC0415

    if args.shard is None and args.run_group is None:
        return None, None
    if args.run_group is None:
        raise UsageError(
            "--shard needs --run-group ID (env AUDITOR_RUN_GROUP): the run the shards' "
            "results are reported under"
        )
    if not args.all:
        raise UsageError("--run-group and --shard audit a share of the whole fleet: use --all")
    try:
        group = check_run_group(args.run_group)
        shard = parse_shard(args.shard) if args.shard is not None else Shard(0, 1)
    except (ShardSpecError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    _check_group_count(config, group, shard)
    return shard, group


def _check_group_count(config: AuditorConfig, group: str, shard: Shard) -> None:
    """A group recorded with another shard count is a usage error, found before auditing."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - keep --help fast

    from auditor.store import RunGroups, StoreError, open_store  # noqa: PLC0415

    try:
        with open_store(config.store) as store:
            counts = {s.count for s in RunGroups(store).entries(group) if s.index != shard.index}
    except (SQLAlchemyError, StoreError, OSError):
        # Not a usage problem: the audit records the run, or says why it could not.
        return
    if counts - {shard.count}:
        raise UsageError(
            f"run group {group!r} was recorded with {min(counts)} shards, not {shard.count}: "
            "give every shard of a run the same --shard I/N count, or use a new --run-group"
        )

