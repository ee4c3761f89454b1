"""examples/auditor.yaml is a real config: every key, loaded by the auditor's own loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config import AuditorConfig, load_config_with_lines
from auditor.rules import load_rule_pack
from auditor.waivers import load_waivers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "auditor.yaml"
ENV = {
    "OKTA_TOKEN_ACME": "00example-token",
    "SLACK_WEBHOOK_ONCALL": "https://hooks.slack.com/services/T0/B0/x",
    "AUDITOR_WEBHOOK_SECRET": "example-hmac-key",
}


@pytest.fixture
def example(monkeypatch) -> tuple[AuditorConfig, object]:
    """The example config as `auditor audit --config examples/auditor.yaml` reads it."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return load_config_with_lines(EXAMPLE)


def test_example_config_loads_with_the_setup_guides_values(example):
    """The example loads and carries the guide's tenant, org, scopes and mappings."""
    config, _ = example
    (tenant,) = config.tenants
    assert tenant.id == "acme"
    assert config.base_domain == "rapticore.io"
    assert tenant.okta.org_url == "https://acme.okta.com"
    assert tenant.okta.token is not None
    assert tenant.okta.token.get_secret_value() == ENV["OKTA_TOKEN_ACME"]
    assert tenant.cognito.provider_name == "Okta"
    assert config.rules is not None
    assert config.rules["params"]["required_scopes"] == [
        "okta.users.read", "okta.users.read.self", "okta.userTypes.read",
        "okta.profileMappings.read",
    ]


def test_example_config_sets_every_key_of_the_model(example):
    """Every top-level, tenant, Okta and Cognito key appears (credentials: one of two)."""
    config, _ = example
    assert config.model_fields_set == set(AuditorConfig.model_fields)
    (tenant,) = config.tenants
    assert tenant.okta.model_fields_set == set(type(tenant.okta).model_fields) - {
        "private_key", "custom_domain"  # shown commented: one credential, no custom domain
    }
    assert tenant.cognito.model_fields_set == set(type(tenant.cognito).model_fields)
    assert config.schedule.model_fields_set == set(type(config.schedule).model_fields)
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "# private_key:" in text
    assert "# custom_domain:" in text


def test_example_rules_overrides_and_waivers_load_too(example):
    """The example's rules: overrides and waivers file pass the real loaders as well."""
    config, lines = example
    pack = load_rule_pack(overrides=config.rules, overrides_lines=lines)
    assert pack.rule("okta_app_signout_redirect_uri").severity.value == "low"
    assert config.waivers is not None
    waivers = load_waivers(config.waivers, set(pack.ids), known_tenants={"acme"})
    assert waivers
