"""Benchmark: a fleet audit against Cognito's quotas, and how close it runs to them.

    PYTHONPATH=. .venv/bin/python benchmarks/fleet_quota.py --tenants 1000

Cognito's read quotas are per AWS account and region and cannot be raised, so the
least time a fleet audit can take is set by the calls it makes: for each quota category,
calls / rate; the slowest category is the *quota bound*. This prints the audit's wall
time, that bound and their ratio (1.0 = running right at the quota), the calls AWS would
have throttled, the tenants that did not pass, and peak memory.

The fleet: ``--tenants`` compliant tenants, ``--tenants-per-org`` of them sharing one
Okta org (one app each), all in one AWS account and region. The emulators run in a
child process so the auditor's peak RSS is its own and the emulators do not compete for
its GIL:

* moto's Cognito behind :class:`~auditor.emulator.quota_proxy.CognitoQuotaProxy`, which
  adds ``--cognito-latency`` to every call and answers Cognito's
  ``TooManyRequestsException`` past the per-category and per-pool-operation rates
  (default: the documented quotas; ``--rate 15`` puts every category at 15/s);
* the Okta emulator, with ``--okta-latency`` on every request of every org.

``--collector paced`` audits through ``run_audit(pacing=PacingConfig(...))`` set to the
proxy's quotas, as the product does. ``--collector concurrency`` approximates the old
fixed bound for comparison: limiters far above the quotas, ``--concurrency`` tenants in
flight (botocore's retries absorb what the quota refuses).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from auditor.config import TenantConfig
    from auditor.emulator.okta import OktaOrg
    from auditor.pacing import QuotaCategory


@dataclass(frozen=True)
class FleetSpec:
    """What the emulator process builds and how it slows down and limits calls."""

    tenants: int
    tenants_per_org: int
    base_domain: str
    cognito_latency: float
    okta_latency: float
    rates: dict[str, float]
    per_pool_operation: float | None
    region: str = "us-east-1"


@dataclass(frozen=True)
class BuiltTenant:
    """What the auditor's config needs about one emulated tenant."""

    tenant_id: str
    org_url: str
    token: str
    region: str
    user_pool_id: str
    provider_name: str

    def config(self) -> TenantConfig:
        """The tenant as the auditor's config has it (the token from the emulator)."""
        from pydantic import SecretStr  # noqa: PLC0415 - the emulator process never needs it

        from auditor.config import CognitoConfig, OktaConfig, TenantConfig  # noqa: PLC0415

        return TenantConfig(
            id=self.tenant_id,
            okta=OktaConfig(org_url=self.org_url, token=SecretStr(self.token), request_timeout=30),
            cognito=CognitoConfig(
                region=self.region, user_pool_id=self.user_pool_id,
                provider_name=self.provider_name,
            ),
        )


# --------------------------------------------------------------- emulator process


def _add_tenant_app(org: OktaOrg, tenant_id: str, base_domain: str) -> tuple[str, str]:
    """One more compliant OIDC app in ``org`` for ``tenant_id``: (app id, client secret).

    What :func:`~auditor.emulator.okta.compliant_org` does for an org's first app: the
    tenant's redirect URIs, the four scope grants, one ACTIVE secret, a group and a user
    assigned, and the default user type mapped to it.
    """
    from auditor.emulator.okta import (  # noqa: PLC0415
        REQUIRED_MAPPING,
        REQUIRED_SCOPES,
        payloads,
    )

    ids = org.ids
    app_id = ids.new(payloads.PREFIX_APP)
    app = payloads.oidc_app(
        org.url,
        app_id=app_id,
        org_id=org.org_id,
        label=f"Rapticore {tenant_id}",
        redirect_uris=[f"https://auth.{tenant_id}.{base_domain}/oauth2/idpresponse"],
        post_logout_redirect_uris=[f"https://{tenant_id}.{base_domain}"],
        signing_kid=ids.key_id(),
        policy_id=ids.new(payloads.PREFIX_POLICY),
        app_link_id=ids.new(payloads.PREFIX_APP_LINK),
        created=ids.timestamp(),
        last_updated=ids.timestamp(),
    )
    org.apps[app_id] = app
    for scope in REQUIRED_SCOPES:
        org.add_grant(scope, app_id=app_id)
    secret = org.add_secret(app_id=app_id)
    org.add_app_group(app_id=app_id)
    org.add_app_user(app_id=app_id)
    default_type = org.default_user_type
    assert default_type is not None  # noqa: S101 - compliant_org made it
    org.mappings.append(
        payloads.profile_mapping(
            org.url,
            mapping_id=ids.new(payloads.PREFIX_MAPPING),
            source_type=default_type,
            target_app=app,
            properties=dict(REQUIRED_MAPPING),
        )
    )
    return app_id, str(secret["client_secret"])


def serve_fleet(conn: Connection, spec: FleetSpec) -> None:
    """Child process: build the fleet, hand its description over, serve until told to stop."""
    from auditor.config import ALLOW_HTTP_LOOPBACK_ENV  # noqa: PLC0415
    from auditor.emulator.cognito import (  # noqa: PLC0415
        MotoCognito,
        build_compliant_cognito,
        moto_env,
    )
    from auditor.emulator.okta import Fault, OktaEmulator, compliant_org  # noqa: PLC0415
    from auditor.emulator.quota_proxy import CognitoQuotaProxy  # noqa: PLC0415
    from auditor.pacing import QUOTA_CATEGORIES  # noqa: PLC0415

    started = time.perf_counter()
    with OktaEmulator() as okta, MotoCognito() as moto:
        cognito = moto.client(spec.region)
        built: list[BuiltTenant] = []
        ids = [f"fleet{i:05d}" for i in range(spec.tenants)]
        for first in range(0, spec.tenants, spec.tenants_per_org):
            members = ids[first : first + spec.tenants_per_org]
            org = compliant_org(members[0], base_domain=spec.base_domain)
            apps = [(members[0], org.app_id, org.client_secret)]
            apps += [(t, *_add_tenant_app(org, t, spec.base_domain)) for t in members[1:]]
            okta.add_org(org)  # rebases every link onto the org's port
            if spec.okta_latency:
                org.faults.append(Fault.latency(spec.okta_latency))
            for tenant_id, app_id, secret in apps:
                refs = build_compliant_cognito(
                    cognito,
                    tenant_id,
                    base_domain=spec.base_domain,
                    okta_client_id=app_id,
                    okta_client_secret=secret,
                    issuer=org.issuer,
                )
                built.append(
                    BuiltTenant(
                        tenant_id, org.url, org.token, refs.region, refs.user_pool_id,
                        refs.provider_name,
                    )
                )
        with CognitoQuotaProxy(
            moto.endpoint_url,
            rates=spec.rates,  # type: ignore[arg-type]
            per_pool_operation=spec.per_pool_operation,
            latency=spec.cognito_latency,
        ) as proxy:
            env = {**moto_env(proxy.endpoint_url, spec.region), ALLOW_HTTP_LOOPBACK_ENV: "1"}
            conn.send(
                {
                    "tenants": [asdict(t) for t in built],
                    "env": env,
                    "build_seconds": time.perf_counter() - started,
                }
            )
            while (command := conn.recv()) != "stop":
                if command == "stats":
                    stats = proxy.reset_stats()
                    conn.send(
                        {
                            "accepted": dict(stats.accepted_by_category()),
                            "accepted_by_operation": dict(stats.accepted),
                            "throttled": dict(stats.throttled),
                            "other": stats.other,
                            "first_at": min(stats.first_at.values(), default=0.0),
                            "last_at": max(stats.last_at.values(), default=0.0),
                            "achieved_rates": {
                                c: round(r, 2) for c in QUOTA_CATEGORIES
                                if (r := stats.achieved_rate(c)) is not None
                            },
                            "peak_rss_mb": _peak_rss_mb(),
                        }
                    )


# ----------------------------------------------------------------- the auditor side


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _apply_env(env: dict[str, str | None]) -> None:
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _audit(
    args: argparse.Namespace, tenants: list[BuiltTenant]
) -> tuple[Any, float, float]:
    """Run the audit the way ``--collector`` says: (the run, wall seconds, its start).

    The start is on ``time.monotonic``, the clock the proxy (another process) stamps
    calls with: on Linux both read the one system-wide monotonic clock.
    """
    from auditor.audit import run_audit  # noqa: PLC0415
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415
    from auditor.rules import load_rule_pack  # noqa: PLC0415

    configs = [t.config() for t in tenants]
    pack = load_rule_pack()
    from auditor.pacing import CategoryQuotas, PacingConfig  # noqa: PLC0415

    # Both collectors are paced now; "concurrency" is the old fixed bound, emulated as
    # limiters far above the quotas plus a cap of --concurrency tenants in flight.
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "pacing": PacingConfig(quotas=CategoryQuotas(
            UserPoolResourceRead=1e9, UserPoolClientRead=1e9, UserPoolRead=1e9),
            per_pool_operation=1e9),
    }
    if args.collector == "paced":
        options.pop("concurrency")
        options["pacing"] = PacingConfig(
            quotas=CategoryQuotas(**_rates(args)),
            per_pool_operation=args.per_pool_operation or 1e9,
        )
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    if args.full:
        run = _audit_and_record(args, configs, pack, options)
    else:
        run = asyncio.run(
            run_audit(configs, args.base_domain, pack, SecretHasher.ephemeral(), **options)
        )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    print(f"auditor CPU time during the audit: {cpu_seconds:.1f} s ({cpu_seconds / wall:.0%} "
          "of one core)", flush=True)
    return run, wall, started


def _audit_and_record(
    args: argparse.Namespace, configs: list[Any], pack: Any, options: dict[str, Any]  # noqa: ANN401
) -> Any:  # noqa: ANN401 - the outcome, read like a run (``.report``)
    """What `auditor audit --all` does: audit, record in a store, write both reports."""
    import tempfile  # noqa: PLC0415

    from auditor.application import AuditRequest, audit_and_record  # noqa: PLC0415
    from auditor.collect.secrets import SecretHasher  # noqa: PLC0415
    from auditor.config import AuditorConfig  # noqa: PLC0415
    from auditor.report import parse_formats  # noqa: PLC0415
    from auditor.report.destination import Destination  # noqa: PLC0415
    from auditor.results import Severity  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="fleet-quota-"))
    settings: dict[str, Any] = {"pacing": options["pacing"]}
    if "concurrency" in options:
        settings["concurrency"] = options["concurrency"]
    config = AuditorConfig(
        version=1, base_domain=args.base_domain, tenants=configs,
        store=f"sqlite:///{work}/state.db", **settings,
    )
    outcome = audit_and_record(AuditRequest(
        config, config.tenants, pack=pack, output=Destination.parse(str(work / "out")),
        formats=parse_formats("json,html"), fail_on=Severity.LOW,
        hasher=SecretHasher.ephemeral(),
    ))
    sizes = {p.name: p.stat().st_size for p in (work / "out").glob("report.*")}
    print(f"recorded in {work}/state.db; reports: "
          + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(sizes.items())),
          flush=True)
    return outcome


def _rates(args: argparse.Namespace) -> dict[QuotaCategory, float]:
    from auditor.pacing import DEFAULT_QUOTAS  # noqa: PLC0415

    if args.rate is not None:
        return dict.fromkeys(DEFAULT_QUOTAS, args.rate)
    return dict(DEFAULT_QUOTAS)


def _print(figures: dict[str, Any]) -> None:
    calls = ", ".join(f"{c} {n}" for c, n in sorted(figures["calls"].items()))
    binding = figures["binding_category"]
    print(f"collector: {figures['collector']}")
    print(f"wall time: {figures['wall_seconds']:.1f} s")
    print(f"Cognito calls: {calls}")
    print(f"quota bound: {figures['quota_bound_seconds']:.1f} s "
          f"({binding} at {figures['rates'].get(binding or '', 0):g}/s)")
    print(f"ratio wall / bound: {figures['ratio']}")
    achieved = ", ".join(f"{c} {r:g}/s" for c, r in sorted(figures["achieved_rates"].items()))
    print(f"rates achieved (first to last call of each category): {achieved}")
    print(f"before the first Cognito call: {figures['lead_in_seconds']} s; "
          f"after the last: {figures['tail_seconds']} s")
    print(f"throttled calls: {figures['throttled_calls']}")
    print(f"tenants not passing: {figures['tenants_not_passing']} ({figures['failed']} failed, "
          f"{figures['errored']} errored)")
    print(f"peak RSS: auditor {figures['peak_rss_mb_auditor']} MB "
          f"(emulators, separately: {figures['peak_rss_mb_emulators']} MB)")
    print(json.dumps(figures))


def main() -> int:
    """Run the benchmark; print the figures, then one JSON line with all of them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--tenants-per-org", type=int, default=10)
    parser.add_argument("--cognito-latency", type=float, default=0.05, metavar="SECONDS")
    parser.add_argument("--okta-latency", type=float, default=0.1, metavar="SECONDS")
    parser.add_argument("--rate", type=float, default=None,
                        help="every Cognito category at this many calls/s "
                             "(default: the documented quotas, 20/15/15)")
    parser.add_argument("--per-pool-operation", type=float, default=5.0,
                        help="calls/s per user pool and operation (0: no such limit)")
    parser.add_argument("--collector", choices=("concurrency", "paced"), default="paced")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--base-domain", default="rapticore.io")
    parser.add_argument(
        "--full", action="store_true",
        help="the whole product flow (auditor.application.audit_and_record): record the run "
        "in a fresh SQLite store and write report.json and report.html, as `auditor audit` "
        "does; without it, only collect and evaluate (run_audit)",
    )
    args = parser.parse_args()
    if args.tenants < 1 or args.tenants_per_org < 1:
        parser.error("--tenants and --tenants-per-org must be at least 1")

    from auditor.emulator.quota_proxy import quota_bound  # noqa: PLC0415

    rates = _rates(args)
    spec = FleetSpec(
        tenants=args.tenants,
        tenants_per_org=args.tenants_per_org,
        base_domain=args.base_domain,
        cognito_latency=args.cognito_latency,
        okta_latency=args.okta_latency,
        rates=dict(rates),
        per_pool_operation=args.per_pool_operation or None,
    )
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    emulators = context.Process(target=serve_fleet, args=(theirs, spec), name="emulators")
    emulators.start()
    try:
        fleet = ours.recv()
        tenants = [BuiltTenant(**t) for t in fleet["tenants"]]
        orgs = len({t.org_url for t in tenants})
        print(f"built {len(tenants)} tenants ({orgs} Okta orgs) in "
              f"{fleet['build_seconds']:.1f} s, in a separate emulator process", flush=True)
        _apply_env(fleet["env"])
        run, wall, started = _audit(args, tenants)
        ours.send("stats")
        stats = ours.recv()
    finally:
        ours.send("stop")
        emulators.join(timeout=30)

    summary = run.report.summary
    accepted: dict[QuotaCategory, int] = stats["accepted"]
    bound, binding = quota_bound(accepted, rates)
    throttled = sum(stats["throttled"].values())
    not_passing = summary.tenants - summary.passed
    collector = (f"concurrency={args.concurrency}" if args.collector == "concurrency"
                 else "paced")
    figures = {
        "tenants": summary.tenants,
        "okta_orgs": orgs,
        "collector": collector,
        "wall_seconds": round(wall, 2),
        "quota_bound_seconds": round(bound, 2),
        "binding_category": binding,
        "ratio": round(wall / bound, 3) if bound else None,
        "calls": accepted,
        "achieved_rates": stats["achieved_rates"],
        # Time before the first Cognito call, and after the last one (Okta, rules).
        "lead_in_seconds": round(stats["first_at"] - started, 2),
        "tail_seconds": round(started + wall - stats["last_at"], 2),
        "throttled_calls": throttled,
        "throttled_by_operation": stats["throttled"],
        "tenants_not_passing": not_passing,
        "failed": summary.failed,
        "errored": summary.errored,
        "peak_rss_mb_auditor": round(_peak_rss_mb()),
        "peak_rss_mb_emulators": round(stats["peak_rss_mb"]),
        "rates": rates,
        "cognito_latency": args.cognito_latency,
        "okta_latency": args.okta_latency,
    }
    _print(figures)
    return 0 if not_passing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
