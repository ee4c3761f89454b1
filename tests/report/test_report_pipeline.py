"""The report's whole path with real parts: audit, record, read the trend, write to S3.

Tenants live on the Okta emulator and moto's Cognito; runs are recorded in an SQLite
file; reports go to a bucket on moto's S3 through :class:`Destination`, all through
:func:`auditor.application.audit_and_record`, the flow the CLI and the scheduler run.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest

from auditor.application import AuditRequest, audit_and_record
from auditor.collect.secrets import SecretHasher
from auditor.demo import Fleet, emulator_environment
from auditor.report import Destination, ReportFormat
from auditor.results import Severity
from auditor.rules import load_rule_pack

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.emulator.cognito import MotoCognito
    from auditor.emulator.okta import OktaEmulator, OktaOrg

RUNS = 3


def _deactivate(org: OktaOrg) -> None:
    org.apps[org.app_id]["status"] = "INACTIVE"


@pytest.mark.slow
def test_recorded_runs_reach_s3_with_each_tenants_trend(
    okta_emulator: OktaEmulator,
    moto_cognito: MotoCognito,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Three real audits of two tenants: S3 holds the latest and each run, the HTML each trend."""
    for name, value in emulator_environment(moto_cognito).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    suffix = uuid.uuid4().hex[:6]
    fleet = Fleet(okta=okta_emulator, cognito=moto_cognito, base_domain="rapticore.io", tenants=[])
    good = fleet.add(f"good{suffix}")
    bad = fleet.add(f"bad{suffix}", okta_change=_deactivate)
    config = fleet.config(store=f"sqlite:///{tmp_path / 'state.db'}")
    bucket = f"reports-{suffix}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    request = AuditRequest(
        config, config.tenants, pack=load_rule_pack(),
        output=Destination.parse(f"s3://{bucket}/audits/"), formats=list(ReportFormat),
        fail_on=Severity.LOW, hasher=SecretHasher(b"pipeline-test-key-0123456789"),
    )

    run_ids = []
    try:
        for _ in range(RUNS):
            outcome = audit_and_record(request)
            assert (outcome.store_failure, outcome.write_failure) == (None, None)
            run_ids.append(outcome.report.run.id)
    finally:
        for tenant in fleet.tenants:
            okta_emulator.remove_org(tenant.org)

    s3 = boto3.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="audits/")["Contents"]}
    kept = {key.split("/")[2] for key in keys if key.startswith("audits/runs/")}
    assert len(kept) == RUNS
    assert {folder.split("-", 1)[1] for folder in kept} == set(run_ids)
    assert {"audits/report.json", "audits/report.html"} <= keys

    latest = json.loads(s3.get_object(Bucket=bucket, Key="audits/report.json")["Body"].read())
    assert latest["run"]["id"] == run_ids[-1]
    statuses = {t["tenant_id"]: t["status"] for t in latest["tenants"]}
    assert statuses == {good.tenant_id: "pass", bad.tenant_id: "fail"}

    html = s3.get_object(Bucket=bucket, Key="audits/report.html")["Body"].read().decode()
    for tenant, tally in ((good.tenant_id, "3 pass"), (bad.tenant_id, "3 fail")):
        block = html[html.index(f'data-tenant="{tenant}"') :]
        block = block[: block.index("</summary>")]
        assert f"newest on the right): {tally}</title>" in block, block
