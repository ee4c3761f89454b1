"""The service's wiring: config keys, CLI flags, and the config's secrets registered."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from auditor import logs
from auditor.cli import main
from auditor.config import ScheduleConfig, load_config
from auditor.errors import InputError
from auditor.service.settings import ServiceSettings

if TYPE_CHECKING:
    from pathlib import Path

CONFIG = """\
version: 1
store: postgresql+psycopg://auditor:MARKERdbPassword9@db.internal:5432/auditor
schedule:
  cron: '0 2 * * *'
  {schedule}
tenants:
  - id: acme
    okta: {{org_url: 'https://acme.okta.com', token: 'MARKERoktaToken0123456789'}}
    cognito: {{region: us-east-1, user_pool_id: us-east-1_Ab, provider_name: Okta}}
  - id: beta
    okta:
      org_url: 'https://beta.okta.com'
      private_key: {{client_id: 0oa1, key_file: '{key}'}}
    cognito: {{region: us-east-1, user_pool_id: us-east-1_Cd, provider_name: Okta}}
alerts:
  routes:
    - name: siem
      webhook: {{url: 'https://siem.example.com/MARKERhookPath', secret: 'MARKERhmacSecret0123'}}
"""
KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvMARKERkeyLineOne\nMARKERkeyLineTwo\n"
    "-----END PRIVATE KEY-----\n"
)


def _config(tmp_path: Path, schedule: str = "") -> Path:
    key = tmp_path / "okta.pem"
    key.write_text(KEY)
    path = tmp_path / "auditor.yaml"
    path.write_text(CONFIG.format(schedule=schedule, key=key))
    return path


def test_schedule_config_takes_the_service_settings_with_their_defaults() -> None:
    """ScheduleConfig has every ServiceSettings key, with the same defaults."""
    schedule = ScheduleConfig()
    for name, field in ServiceSettings.model_fields.items():
        assert getattr(schedule, name) == field.default, name


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ("listen: 'localhost'", "must be HOST:PORT"),
        ("lease_ttl_seconds: 5", "greater than or equal to 10"),
        ("grace_minutes: 0", "greater than or equal to 1"),
    ],
)
def test_a_bad_service_key_is_a_config_error_with_its_line(
    tmp_path: Path, schedule: str, fragment: str,
) -> None:
    """A wrong listen address, lease ttl or grace is refused with the line that holds it."""
    with pytest.raises(InputError) as info:
        load_config(_config(tmp_path, schedule))
    assert info.value.line == 5
    assert fragment in info.value.message


def test_every_secret_of_a_config_is_scrubbed_from_log_lines(tmp_path: Path) -> None:
    """Tokens, webhook URL and secret, private key lines and the store password never show."""
    config = load_config(_config(tmp_path))
    out = io.StringIO()
    logs.setup_logging("debug", "json", stream=out)
    logs.register_config_secrets(config)
    log = logging.getLogger("auditor.test")
    assert config.tenants[0].okta.token is not None
    token = config.tenants[0].okta.token.get_secret_value()
    log.debug("token %s", token)
    log.debug("calling %s", "https://siem.example.com/MARKERhookPath")
    log.debug("hmac %s", SecretStr("MARKERhmacSecret0123").get_secret_value())
    log.debug("one key line: %s", "MARKERkeyLineTwo")
    log.debug("connecting with %s", "MARKERdbPassword9")
    text = out.getvalue()
    assert len(text.splitlines()) == 5
    assert "MARKER" not in text, text


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--log-format", "xml", "rules", "list"], {}),
        (["rules", "list"], {"AUDITOR_LOG_FORMAT": "xml"}),
        (["schedule", "--listen", "nowhere", "--config", "CONFIG"], {}),
        (["audit", "--all", "--metrics-file", "out.txt", "--config", "CONFIG"], {}),
    ],
)
def test_bad_service_flags_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], env: dict[str, str],
) -> None:
    """A bad --log-format (flag or variable), --listen or --metrics-file is exit 2."""
    config = _config(tmp_path)
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = [str(config) if a == "CONFIG" else a for a in argv]
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(args))
    assert info.value.code == 2
    assert capsys.readouterr().err
