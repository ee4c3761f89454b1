"""Whole tenants: both halves through the real SDKs, against the Okta emulator and moto."""

from __future__ import annotations

import asyncio
import itertools
import json

from builders import HASHER

from auditor.audit import tenant_status
from auditor.collect.tenant import collect_fleet, collect_tenant
from auditor.emulator.okta import Fault
from auditor.pacing import PacingConfig
from auditor.results import ResultStatus, TenantStatus
from auditor.rules import load_rule_pack
from auditor.snapshot import SectionStatus

OK = SectionStatus.OK
_ids = itertools.count(1)


def snap(tenant):
    return asyncio.run(collect_tenant(tenant.config(), "rapticore.io", HASHER))


def test_compliant_tenant_snapshot_has_every_part(fleet):
    """A compliant tenant's snapshot: every section collected, halves that agree."""
    tenant = fleet.add(f"snap{next(_ids)}")
    snapshot = snap(tenant)
    assert snapshot.errors == []
    okta, cognito = snapshot.okta, snapshot.cognito
    sections = [okta.app, okta.grants, okta.default_user_type_id, okta.profile_mapping,
                okta.secrets, okta.assignments, okta.discovery,
                cognito.idp, cognito.app_clients, cognito.domain]
    assert [s.status for s in sections] == [OK] * len(sections)
    # The app id came from the Cognito IdP's client_id (no app_id configured).
    assert okta.app_id == cognito.idp.value.ProviderDetails.client_id == tenant.org.client_id
    assert okta.discovery.value.issuer == cognito.idp.value.ProviderDetails.oidc_issuer
    okta_digest = okta.secrets.value[0].secret.sha256
    assert okta_digest == cognito.idp.value.ProviderDetails.client_secret.sha256
    assert cognito.domain.value.Domain == f"auth.{tenant.tenant_id}.rapticore.io"


def test_snapshot_json_is_deterministic_and_secret_free(fleet):
    """Two collections of an unchanged tenant give the same JSON but for the time; no secrets."""
    tenant = fleet.add(f"det{next(_ids)}")
    first, second = snap(tenant), snap(tenant)
    a = json.loads(first.to_json())
    b = json.loads(second.to_json())
    a.pop("collected_at")
    b.pop("collected_at")
    assert a == b
    text = first.to_json()
    assert tenant.org.client_secret not in text
    assert tenant.org.token not in text
    assert first.okta.secrets.value[0].secret.sha256 not in text


def custom_domain_snapshot(fleet, okta_emulator, tenant_id):
    """A tenant served on its custom domain, whose Cognito issuer is that domain."""
    tenant = fleet.add(tenant_id)
    okta_emulator.remove_org(tenant.org)
    okta_emulator.add_org(tenant.org, custom_domain=True)
    fleet.cognito.client().update_identity_provider(
        UserPoolId=tenant.cognito.user_pool_id,
        ProviderName="Okta",
        ProviderDetails={
            "client_id": tenant.org.client_id,
            "client_secret": tenant.org.client_secret,
            "oidc_issuer": tenant.org.custom_domain_url,
            "authorize_scopes": "openid email profile",
            "attributes_request_method": "GET",
        },
    )
    config = tenant.config().model_copy(
        update={"okta": tenant.config().okta.model_copy(
            update={"custom_domain": tenant.org.custom_domain})}
    )
    snapshot = asyncio.run(collect_tenant(config, "rapticore.io", HASHER))
    return tenant, snapshot


def test_custom_domain_issuer_is_fetched_from_the_custom_domain(fleet, okta_emulator):
    """An IdP issuer on the configured custom domain is on the org: its discovery is fetched."""
    tenant, snapshot = custom_domain_snapshot(fleet, okta_emulator, f"cd{next(_ids)}")
    discovery = snapshot.okta.discovery
    assert discovery.status is OK, discovery.reason
    assert discovery.value.url.startswith(tenant.org.custom_domain_url)


def test_issuer_rule_judges_the_custom_domain_origin_the_collector_used(fleet, okta_emulator):
    """On an http loopback custom domain, the issuer rule passes what the collector fetched."""
    tenant, snapshot = custom_domain_snapshot(fleet, okta_emulator, f"cdrule{next(_ids)}")
    issuer = tenant.org.custom_domain_url
    assert issuer.startswith("http://")  # the emulator's custom domain is a loopback host
    assert snapshot.okta.custom_domain_url == issuer
    assert "custom_domain_url" not in snapshot.to_json()  # derived from the config: not stored

    [result] = [r for r in load_rule_pack().evaluate(snapshot)
                if r.rule_id == "cognito_idp_issuer_matches"]
    assert result.status is ResultStatus.PASS, result.message


def test_missing_idp_without_app_id_skips_the_okta_app(fleet):
    """No Cognito IdP and no configured app_id: the Okta app is skipped, not guessed."""
    tenant = fleet.add(f"noidp{next(_ids)}")
    fleet.cognito.client().delete_identity_provider(
        UserPoolId=tenant.cognito.user_pool_id, ProviderName="Okta"
    )
    snapshot = snap(tenant)
    assert snapshot.cognito.idp.status is SectionStatus.ABSENT
    assert snapshot.okta.app.status is SectionStatus.SKIPPED
    assert snapshot.errors == []


def test_one_failing_tenant_does_not_touch_the_others(fleet):
    """A tenant whose Okta drops every connection errors alone; the fleet is collected."""
    broken = fleet.add(f"drop{next(_ids)}")
    broken.org.faults.append(Fault.dropped_connection("*"))
    healthy = [fleet.add(f"fine{next(_ids)}") for _ in range(3)]
    seen = []
    snapshots = asyncio.run(collect_fleet(
        [t.config() for t in [broken, *healthy]], "rapticore.io", HASHER,
        pacing=PacingConfig(max_tenants_in_flight=2), on_done=lambda s: seen.append(s.tenant_id),
    ))
    assert [s.tenant_id for s in snapshots] == [broken.tenant_id] + [t.tenant_id for t in healthy]
    assert snapshots[0].has_errors
    assert snapshots[0].okta.app.status is SectionStatus.ERROR
    assert snapshots[0].cognito.idp.status is OK  # what was collected is kept
    assert not any(s.has_errors for s in snapshots[1:])
    assert sorted(seen) == sorted(s.tenant_id for s in snapshots)


def test_a_payload_of_the_wrong_shape_makes_only_its_tenant_error(fleet):
    """A grant of the wrong shape makes its tenant error, naming the field; others pass."""
    broken = fleet.add(f"shape{next(_ids)}")
    broken.org.grants[broken.org.app_id][1]["status"] = False
    healthy = fleet.add(f"sound{next(_ids)}")
    snapshots = asyncio.run(collect_fleet(
        [broken.config(), healthy.config()], "rapticore.io", HASHER,
        pacing=PacingConfig(max_tenants_in_flight=2),
    ))
    pack = load_rule_pack()
    bad, good = ((s, pack.evaluate(s)) for s in snapshots)

    assert tenant_status(*bad) is TenantStatus.ERROR
    [error] = bad[0].errors
    assert error.section == "grants"
    assert "[1].status: string_type" in error.message
    assert "\n" not in error.message
    by_id = {r.rule_id: r for r in bad[1]}
    assert by_id["okta_app_required_scopes"].status is not ResultStatus.PASS
    assert by_id["okta_app_profile_mapping"].status is ResultStatus.PASS  # collected, judged
    assert bad[0].okta.secrets.status is OK
    assert tenant_status(*good) is TenantStatus.PASS
