"""The config file: what loads, and how each mistake is reported (file, line, fix)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from auditor.config import load_config
from auditor.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

VALID = """\
version: 1
tenants:
  - id: acme
    okta:
      org_url: https://acme.okta.com
      token: ${OKTA_TOKEN_ACME}
    cognito:
      region: us-east-1
      user_pool_id: us-east-1_AbCdEf
      provider_name: Okta
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "auditor.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_config(path)
    return info.value


def test_valid_config_loads_with_defaults_and_a_secret_token(tmp_path, monkeypatch):
    """A minimal config loads; defaults apply; the token is held as a secret."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "00abcSECRETtoken")
    config = load_config(write(tmp_path, VALID))
    tenant = config.tenants[0]
    assert config.base_domain == "rapticore.io"
    assert config.store == "sqlite:///.auditor/state.db"
    assert tenant.okta.token is not None
    assert tenant.okta.token.get_secret_value() == "00abcSECRETtoken"
    assert "00abcSECRETtoken" not in repr(config)
    assert "00abcSECRETtoken" not in config.model_dump_json()


def test_unset_variable_is_named_with_its_line(tmp_path, monkeypatch):
    """An unset ${NAME} is an error naming NAME and the line it is on."""
    monkeypatch.delenv("OKTA_TOKEN_ACME", raising=False)
    err = error_of(write(tmp_path, VALID))
    assert err.line == 6
    assert "OKTA_TOKEN_ACME" in err.message
    assert "line 6" in str(err)


def test_misspelt_key_points_at_its_line(tmp_path, monkeypatch):
    """An unknown key (a typo) is refused with its line, not silently ignored."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    err = error_of(write(tmp_path, VALID.replace("provider_name", "provider_nme")))
    assert err.line == 10
    assert "provider_nme" in err.message


def test_http_org_url_is_refused(tmp_path, monkeypatch):
    """A plain-http org_url to a real host is refused before any request."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    err = error_of(write(tmp_path, VALID.replace("https://acme.okta.com", "http://acme.okta.com")))
    assert err.line == 5
    assert "http://" in err.message


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:9000", "[::1]:7000"])
def test_http_loopback_needs_the_explicit_switch(tmp_path, monkeypatch, host):
    """Http to loopback works only with AUDITOR_ALLOW_HTTP_LOOPBACK=1."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    path = write(tmp_path, VALID.replace("https://acme.okta.com", f"http://{host}"))
    monkeypatch.delenv("AUDITOR_ALLOW_HTTP_LOOPBACK", raising=False)
    assert "AUDITOR_ALLOW_HTTP_LOOPBACK" in error_of(path).message
    monkeypatch.setenv("AUDITOR_ALLOW_HTTP_LOOPBACK", "1")
    assert load_config(path).tenants[0].okta.org_url == f"http://{host}"


def test_custom_domain_scheme_follows_the_loopback_rule(tmp_path, monkeypatch):
    """A custom domain is https, or http only for an allowed loopback emulator."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    text = VALID.replace(
        "      token:", "      custom_domain: login.acme.com\n      token:"
    )
    assert load_config(write(tmp_path, text)).tenants[0].okta.custom_domain_url == (
        "https://login.acme.com"
    )
    monkeypatch.setenv("AUDITOR_ALLOW_HTTP_LOOPBACK", "1")
    text = text.replace("login.acme.com", "127.0.0.1:8443")
    assert load_config(write(tmp_path, text)).tenants[0].okta.custom_domain_url == (
        "http://127.0.0.1:8443"
    )
    bad = text.replace("127.0.0.1:8443", "https://login.acme.com/x")
    assert "host[:port]" in error_of(write(tmp_path, bad)).message


def test_exactly_one_okta_credential(tmp_path, monkeypatch):
    """A tenant with no credential (or two) is told to give exactly one."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    err = error_of(write(tmp_path, VALID.replace("      token: ${OKTA_TOKEN_ACME}\n", "")))
    assert "exactly one Okta credential" in err.message
    assert err.line == 4  # the tenant's `okta:` line


def test_private_key_file_is_relative_to_the_config_and_must_exist(tmp_path):
    """A private-key credential's key_file resolves beside the config and must exist."""
    text = VALID.replace(
        "      token: ${OKTA_TOKEN_ACME}\n",
        "      private_key:\n        client_id: 0oaSERVICE\n        key_file: keys/acme.pem\n",
    )
    path = write(tmp_path, text)
    err = error_of(path)
    assert "keys/acme.pem" in err.message or "acme.pem" in err.message
    assert err.line == 8
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "acme.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    key = load_config(path).tenants[0].okta.private_key
    assert key is not None
    assert key.key_file == (tmp_path / "keys" / "acme.pem").resolve()
    assert "okta.apps.read" in key.scopes


def test_private_key_scopes_must_cover_the_audit(tmp_path):
    """A service app configured without a needed admin scope is refused, naming it."""
    (tmp_path / "k.pem").write_text("x")
    text = VALID.replace(
        "      token: ${OKTA_TOKEN_ACME}\n",
        "      private_key:\n        client_id: 0oaS\n        key_file: k.pem\n"
        "        scopes: [okta.apps.read]\n",
    )
    err = error_of(write(tmp_path, text))
    assert "okta.appGrants.read" in err.message


@pytest.mark.parametrize(
    ("tenant_id", "fragment"),
    [("Acme", "DNS label"), ("acme_corp", "DNS label"), ("-acme", "DNS label")],
)
def test_tenant_id_must_be_a_dns_label(tmp_path, monkeypatch, tenant_id, fragment):
    """Tenant ids become host names (auth.<tenant>.<base>), so they must be DNS labels."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    err = error_of(write(tmp_path, VALID.replace("id: acme", f"id: {tenant_id}")))
    assert fragment in err.message
    assert err.line == 3


def test_duplicate_tenant_is_refused(tmp_path, monkeypatch):
    """Two tenants with one id would overwrite each other's history: refused."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    body = VALID.split("tenants:\n", 1)[1]
    err = error_of(write(tmp_path, VALID + body))
    assert "appears twice" in err.message


def test_broken_yaml_names_the_line(tmp_path):
    """A YAML syntax error says the line."""
    err = error_of(write(tmp_path, "version: 1\ntenants: [\n  - id: acme\n"))
    assert err.line is not None
    assert "YAML" in err.message


def test_missing_file_is_an_input_error(tmp_path):
    """A config path that does not exist is a clear error, not a traceback."""
    err = error_of(tmp_path / "nope.yaml")
    assert "not found" in err.message


@pytest.mark.parametrize("store", ["mysql://db/x", "not a url", "redis://cache"])
def test_store_must_be_sqlite_or_postgresql(tmp_path, monkeypatch, store):
    """A store URL the auditor cannot use is refused at load time, with its line."""
    monkeypatch.setenv("OKTA_TOKEN_ACME", "t")
    err = error_of(write(tmp_path, VALID.replace("version: 1\n", f"version: 1\nstore: {store}\n")))
    assert err.line == 2
    assert "SQLite or PostgreSQL" in err.message
