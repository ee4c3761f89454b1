"""The fault campaign: every source, every fault, one faulty tenant among healthy ones.

For each source the auditor reads (the Okta API, the issuer's discovery document,
Cognito, STS) and each way a service goes wrong (a timeout, a reset connection, a 5xx,
a 429 without rate-limit headers, malformed JSON, a redirect to another origin, the
wrong content type, a 10 MB body), one tenant of three meets the fault: it must be
``error`` with a one-line reason, and the two others must get exactly the results they
get without any fault. The real okta SDK and boto3 talk to the Okta emulator and to moto
(through a fault proxy) over loopback, with short timeouts so the campaign stays quick.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
from aws_fault_proxy import FaultProxy
from builders import HASHER
from pydantic import SecretStr

from auditor.audit import TenantOutcome, build_report
from auditor.collect.cognito import CognitoClientSettings
from auditor.collect.tenant import collect_fleet
from auditor.config import ALLOW_HTTP_LOOPBACK_ENV, CognitoConfig, OktaConfig, TenantConfig
from auditor.demo import DemoTenant, Fleet, emulator_environment
from auditor.emulator.okta import Fault, OktaEmulator
from auditor.localserver import ServerThread
from auditor.pacing import PacingConfig
from auditor.results import RunReport, TenantStatus
from auditor.rules import RulePack, load_rule_pack

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from auditor.emulator.cognito import MotoCognito

pytestmark = pytest.mark.slow

FAST_AWS = CognitoClientSettings(max_attempts=2, connect_timeout=0.5, read_timeout=0.5)
OKTA_TIMEOUT = 1.0
ROLE_ARN = "arn:aws:iam::123456789012:role/AuditorVictim"
SOURCES = ("okta", "discovery", "cognito", "sts")
FAULTS = (
    "timeout", "reset", "5xx", "429", "malformed_json", "redirect", "content_type", "big_body"
)


class _Elsewhere:
    """Another origin on loopback: a redirect's target, which must never be fetched."""

    def __init__(self) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # any method: count it, answer plausible JSON
                outer.hits += 1
                body = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._serving = ServerThread(ThreadingHTTPServer(("127.0.0.1", 0), Handler), "test-http")
        self.origin = f"http://127.0.0.1:{self._serving.port}"
        self._serving.start()

    def close(self) -> None:
        """Stop serving."""
        self._serving.stop()


@dataclass
class Campaign:
    """Three tenants on the emulators, the AWS fault proxy, and the fault-free results."""

    fleet: Fleet
    proxy: FaultProxy
    elsewhere: _Elsewhere
    pack: RulePack
    configs: list[TenantConfig]
    clean: RunReport | None = None  # the results without any fault

    @property
    def victim(self) -> DemoTenant:
        """The tenant that meets the fault."""
        return self.fleet.tenants[0]

    def run(self) -> RunReport:
        """Collect and judge the three tenants, as ``auditor audit`` does."""
        snapshots = asyncio.run(
            collect_fleet(
                self.configs, self.fleet.base_domain, HASHER,
                pacing=PacingConfig(max_tenants_in_flight=3), cognito_settings=FAST_AWS,
            )
        )
        outcomes = [TenantOutcome(s, self.pack.evaluate(s)) for s in snapshots]
        return build_report("campaign", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", outcomes)


def _config(tenant: DemoTenant, *, role_arn: str | None = None) -> TenantConfig:
    return TenantConfig(
        id=tenant.tenant_id,
        okta=OktaConfig(
            org_url=tenant.org.url, token=SecretStr(tenant.org.token),
            request_timeout=OKTA_TIMEOUT, max_retries=1,
        ),
        cognito=CognitoConfig(
            region=tenant.cognito.region,
            user_pool_id=tenant.cognito.user_pool_id,
            provider_name=tenant.cognito.provider_name,
            role_arn=role_arn,
        ),
    )


@pytest.fixture(scope="module")
def campaign(okta_emulator: OktaEmulator, moto_cognito: MotoCognito) -> Iterator[Campaign]:
    """The fleet, built once for the whole campaign."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**emulator_environment(moto_cognito),
                            ALLOW_HTTP_LOOPBACK_ENV: "1"}.items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        proxy = FaultProxy(moto_cognito.endpoint_url)
        proxy.start()
        patch.setenv("AWS_ENDPOINT_URL", proxy.url)
        elsewhere = _Elsewhere()
        fleet = Fleet(okta=okta_emulator, cognito=moto_cognito, base_domain="rapticore.io",
                      tenants=[])
        for name in ("victim", "bystander1", "bystander2"):
            fleet.add(f"fc{name}")
        configs = [_config(fleet.tenants[0], role_arn=ROLE_ARN)]
        configs += [_config(t) for t in fleet.tenants[1:]]
        pack = load_rule_pack()
        ready = Campaign(fleet, proxy, elsewhere, pack, configs)
        ready.clean = ready.run()
        yield ready
        proxy.stop()
        elsewhere.close()
        for tenant in fleet.tenants:
            okta_emulator.remove_org(tenant.org)


def _okta_fault(kind: str, path: str, elsewhere: str) -> Fault:
    return {
        "timeout": lambda: Fault.latency(OKTA_TIMEOUT + 2, path),
        "reset": lambda: Fault.dropped_connection(path),
        "5xx": lambda: Fault.error(500, path),
        "429": lambda: Fault.rate_limited(path, times=None, headers=False),
        "malformed_json": lambda: Fault.malformed_json(path),
        "redirect": lambda: Fault.redirect(f"{elsewhere}/stolen", path),
        "content_type": lambda: Fault.wrong_content_type(path),
        "big_body": lambda: Fault.big_body(10_000_000, path),
    }[kind]()


def _inject(campaign: Campaign, source: str, kind: str) -> Callable[[], None]:
    """Put the fault in place for the victim; returns how to take it away."""
    victim = campaign.victim
    if source in ("okta", "discovery"):
        path = (f"/api/v1/apps/{victim.org.app_id}" if source == "okta"
                else "/.well-known/openid-configuration")
        victim.org.faults.append(_okta_fault(kind, path, campaign.elsewhere.origin))
        return victim.org.faults.clear
    operation, match = (
        ("DescribeIdentityProvider", victim.cognito.user_pool_id) if source == "cognito"
        else ("AssumeRole", "AuditorVictim")
    )
    campaign.proxy.inject(operation, kind, match=match,
                          location=f"{campaign.elsewhere.origin}/stolen")
    return campaign.proxy.clear


# What the one-line reason must say, per fault (any of the words).
REASONS = {
    "timeout": ("timed out", "no answer", "TimeoutError"),
    "reset": ("connection", "Disconnected"),
    "5xx": ("500", "InternalError"),
    "429": ("429", "rate limited"),
    "malformed_json": ("not valid JSON", "unexpected shape"),
    "redirect": ("redirect",),
    "content_type": ("content type",),
    "big_body": ("larger than",),
}


def _results(report: RunReport, tenant_id: str) -> list[tuple[str, str, str]]:
    (tenant,) = [t for t in report.tenants if t.tenant_id == tenant_id]
    return [(r.rule_id, r.status.value, r.message) for r in tenant.results]


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("source", SOURCES)
def test_a_fault_errors_only_the_faulty_tenant(
    campaign: Campaign, source: str, kind: str, caplog: pytest.LogCaptureFixture
):
    """The faulty tenant is `error` with a one-line reason; the others are unchanged."""
    caplog.set_level(logging.WARNING)
    hits_before = campaign.elsewhere.hits
    remove = _inject(campaign, source, kind)
    try:
        report = campaign.run()
    finally:
        remove()

    victim = next(t for t in report.tenants if t.tenant_id == campaign.victim.tenant_id)
    assert victim.status is TenantStatus.ERROR, json.dumps(
        [r.model_dump(mode="json") for r in victim.results if r.status.value != "pass"]
    )
    assert victim.errors, "an errored tenant names its collection errors"
    for error in victim.errors:
        assert "\n" not in error.message
        assert "Traceback" not in error.message
        assert len(error.message) < 1000
    reported_as = "cognito" if source == "sts" else source  # STS serves the Cognito half
    reasons = [e.message for e in victim.errors if e.source == reported_as]
    assert any(word in reason for reason in reasons for word in REASONS[kind]), reasons
    assert campaign.elsewhere.hits == hits_before, "a redirect target was fetched"
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not tracebacks, "a fault reached an unexpected-exception path"
    assert campaign.clean is not None
    for tenant in campaign.fleet.tenants[1:]:
        assert _results(report, tenant.tenant_id) == _results(campaign.clean, tenant.tenant_id)
