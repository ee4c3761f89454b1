"""Config values that used to pass or crash: each is now exit 2 with its line and fix.

Issue 11 items 7 (config and store parts), 8, 9 and 13 (every problem shown).
"""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.collect.secrets import SecretHasher
from auditor.config import load_config
from auditor.errors import EXIT_USAGE, InputError
from auditor.redact import redact_url
from auditor.store import StoreError, open_store
from auditor.store_paths import FINGERPRINT_KEY_ENV, installation_key
from auditor.yamlsource import MAX_PROBLEMS
from tests.input.hostile import VALID_TENANT

VALID = VALID_TENANT  # the one valid config every hostile case starts from


def write(tmp_path: Path, text: str, name: str = "auditor.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_config(path)
    return info.value


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


# ------------------------------------------------------------------- item 7


def test_retention_beyond_a_century_is_refused_at_load(tmp_path: Path) -> None:
    """retention_days: 1000000 (an OverflowError after the run was saved) is a load error."""
    path = write(tmp_path, VALID + "retention_days: 1000000\n")
    error = error_of(path)
    assert error.line == 11
    assert "retention_days" in error.message
    assert "36500" in error.message


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_cron_that_never_fires_is_refused(tmp_path: Path, cron: str) -> None:
    """A schedule on a day no month has would wait forever: refused at its line."""
    path = write(tmp_path, VALID + f"schedule:\n  cron: '{cron}'\n")
    error = error_of(path)
    assert error.line == 12
    assert "never fires" in error.message


def test_leap_day_cron_is_accepted(tmp_path: Path) -> None:
    """29 February exists every four years: such a schedule is valid."""
    path = write(tmp_path, VALID + "schedule:\n  cron: '0 0 29 2 *'\n")
    assert load_config(path).schedule.cron == "0 0 29 2 *"


def private_key_config(key_file: str) -> str:
    return VALID.replace(
        "      token: secret-token\n",
        "      private_key:\n"
        "        client_id: 0oa1\n"
        f"        key_file: {key_file}\n",
    )


@pytest.mark.parametrize(
    ("key_file", "expected"),
    [
        ('"a\\0b"', "contains a NUL byte"),
        ("keys", "is a directory"),
        ("missing.pem", "does not exist"),
        ("fifo.pem", "not a regular file"),
    ],
)
def test_unusable_key_file_says_what_it_is(tmp_path: Path, key_file: str, expected: str) -> None:
    """key_file as a NUL path, a folder, a missing file or a FIFO: named at its line."""
    (tmp_path / "keys").mkdir()
    os.mkfifo(tmp_path / "fifo.pem")
    path = write(tmp_path, private_key_config(key_file))
    error = error_of(path)
    assert error.line == 8
    assert expected in error.message


def test_waivers_path_that_is_a_directory_is_named_so(tmp_path: Path) -> None:
    """waivers: pointing at a folder says it is a folder, not that it is missing."""
    (tmp_path / "waivers").mkdir()
    error = error_of(write(tmp_path, VALID + "waivers: waivers\n"))
    assert (error.line, "is a directory" in error.message) == (11, True)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not hex at all", "is not a hex fingerprint key"),
        ("", "is not a hex fingerprint key"),
        ("abcd", "holds 2 bytes"),
    ],
)
def test_bad_fingerprint_key_file_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    """A damaged key file is named with the fix, and left as it is."""
    monkeypatch.delenv(FINGERPRINT_KEY_ENV, raising=False)
    key_file = tmp_path / "fingerprint.key"
    key_file.write_text(content, encoding="ascii")
    with pytest.raises(InputError) as info:
        SecretHasher.for_installation(key_file)
    assert info.value.path == key_file
    assert expected in info.value.message
    assert "delete it to make a new key" in info.value.message
    assert key_file.read_text(encoding="ascii") == content


def test_fingerprint_key_path_that_is_a_directory_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder where the key file should be is an InputError, not FileExistsError."""
    monkeypatch.delenv(FINGERPRINT_KEY_ENV, raising=False)
    (tmp_path / "fingerprint.key").mkdir()
    with pytest.raises(InputError) as info:
        SecretHasher.for_installation(tmp_path / "fingerprint.key")
    assert "is a directory" in info.value.message


def test_fingerprint_key_under_a_file_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key that cannot be created (its folder is a file) names the fix."""
    monkeypatch.delenv(FINGERPRINT_KEY_ENV, raising=False)
    (tmp_path / "state").write_text("a file", encoding="utf-8")
    with pytest.raises(InputError) as info:
        SecretHasher.for_installation(tmp_path / "state" / "fingerprint.key")
    assert "cannot create the fingerprint key" in info.value.message


def test_short_fingerprint_key_variable_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """AUDITOR_FINGERPRINT_KEY under 16 bytes is named, with its length and the fix."""
    monkeypatch.setenv(FINGERPRINT_KEY_ENV, "short")
    with pytest.raises(InputError) as info:
        SecretHasher.for_installation(Path("/nonexistent/fingerprint.key"))
    assert str(info.value).startswith(f"{FINGERPRINT_KEY_ENV}: is 5 bytes")


def test_good_key_file_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key made on first use is read back the same (and is private to its owner)."""
    monkeypatch.delenv(FINGERPRINT_KEY_ENV, raising=False)
    key_file = tmp_path / "state" / "fingerprint.key"
    first = installation_key(key_file)
    assert installation_key(key_file) == first
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_store_under_a_file_is_refused_at_its_line(tmp_path: Path) -> None:
    """store: below a regular file is a config error at the store: line."""
    (tmp_path / "notafolder").write_text("x", encoding="utf-8")
    path = write(tmp_path, VALID + f"store: sqlite:///{tmp_path}/notafolder/state.db\n")
    error = error_of(path)
    assert error.line == 11
    assert "is a file, not a folder" in error.message


def test_store_in_an_unwritable_folder_is_refused_at_its_line(tmp_path: Path) -> None:
    """store: in a folder nobody may write (/proc/self, even for root) is a config error."""
    path = write(tmp_path, VALID + "store: sqlite:////proc/self/auditor/state.db\n")
    error = error_of(path)
    assert error.line == 11
    assert "is not writable" in error.message


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ("file/state.db", "is a file, not a folder"),
        ("/sys/auditor-test/state.db", "no permission to write there"),
        ("folder", "it is a folder"),
    ],
)
def test_open_store_says_in_one_line_why_it_cannot(tmp_path: Path, where: str, why: str) -> None:
    """open_store on an impossible SQLite path is one StoreError line, not OperationalError."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    target = where if where.startswith("/") else f"{tmp_path}/{where}"
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{target}")
    assert why in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_exits_2_for_a_store_under_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`auditor audit` with such a store stops before auditing: exit 2, one line."""
    (tmp_path / "notafolder").write_text("x", encoding="utf-8")
    path = write(tmp_path, VALID + f"store: sqlite:///{tmp_path}/notafolder/state.db\n")
    code = main(["audit", "--all", "--config", str(path), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.count("\n") == 1
    assert f"{path}, line 11:" in err


# ------------------------------------------------------------------- item 8


@pytest.mark.parametrize(
    ("replace", "by"),
    [
        ("id: acme", 'id: "acme\\n"'),
        ("version: 1", 'version: 1\nbase_domain: "rapticore.io\\n"'),
        (
            "provider_name: Okta",
            'provider_name: Okta\n      role_arn: "arn:aws:iam::123456789012:role/R\\n"',
        ),
        ("user_pool_id: us-east-1_AbCdEf", 'user_pool_id: "us-east-1_AbCdEf\\n"'),
    ],
)
def test_trailing_newline_does_not_pass_a_pattern(tmp_path: Path, replace: str, by: str) -> None:
    """``$`` matched before a final newline and let "acme" plus one through; no longer."""
    error = error_of(write(tmp_path, VALID.replace(replace, by)))
    assert error.line is not None


def test_tenant_with_a_newline_is_not_a_second_acme(tmp_path: Path) -> None:
    """The duplicate-id check cannot be dodged with "acme" plus a newline next to acme."""
    second = VALID.split("tenants:\n", 1)[1].replace("id: acme", 'id: "acme\\n"')
    error = error_of(write(tmp_path, VALID + second))
    assert error.line == 11
    assert "must be a DNS label" in error.message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("concurrency", "true"),
        ("concurrency", "'8'"),
        ("concurrency", "8.0"),
        ("retention_days", "yes"),
        ("version", "true"),
    ],
)
def test_values_of_the_wrong_type_are_not_coerced(tmp_path: Path, key: str, value: str) -> None:
    """`concurrency: true` is a mistake to report, not the number 1."""
    text = VALID.replace("version: 1\n", "") if key == "version" else VALID
    error = error_of(write(tmp_path, text + f"{key}: {value}\n"))
    assert key in error.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("org_url", "https://acme.okta.com:70000"),
        ("org_url", "https://acme.okta.com:0"),
        ("org_url", "https://acme.okta.com:port"),
        ("custom_domain", "login.acme.com:99999"),
    ],
)
def test_port_out_of_range_is_a_config_error(tmp_path: Path, field: str, value: str) -> None:
    """A port above 65535 is refused at load (it was exit 3 at run time)."""
    text = VALID.replace(
        "      token: secret-token\n", f"      token: secret-token\n      {field}: {value}\n"
    ) if field == "custom_domain" else VALID.replace("https://acme.okta.com", value)
    error = error_of(write(tmp_path, text))
    assert field in error.message
    assert "65535" in error.message or "host[:port]" in error.message


# ------------------------------------------------------------------- item 9


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://auditor:hunter2@db/audits", "mysql://auditor:***@db/audits"),
        ("postgresql://auditor:p@ss@db/x", "postgresql://auditor:***@db/x"),
        ("https://user:hunter2@acme.okta.com", "https://***@acme.okta.com"),
        ("https://hunter2@acme.okta.com/x?a=1", "https://***@acme.okta.com/x?a=1"),
        ("postgresql://db/x?password=hunter2&sslmode=require",
         "postgresql://db/x?password=***&sslmode=require"),
        ("sqlite:///.auditor/state.db", "sqlite:///.auditor/state.db"),
    ],
)
def test_redact_url_hides_passwords_and_user_info(url: str, shown: str) -> None:
    """Store and web URLs lose their secrets and keep what helps find the mistake."""
    assert redact_url(url) == shown


def test_config_error_does_not_print_the_store_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused store URL is shown without its password, on exit 2."""
    path = write(tmp_path, VALID + "store: mysql://auditor:hunter2@db.internal/audits\n")
    code = main(["audit", "--all", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "hunter2" not in err
    assert "mysql://auditor:***@db.internal/audits" in err


def test_org_url_with_user_info_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """https://user:token@org is refused (credentials have their keys) and not echoed."""
    text = VALID.replace("https://acme.okta.com", "https://admin:hunter2@acme.okta.com")
    error = error_of(write(tmp_path, text))
    assert "user info" in error.message
    assert "hunter2" not in str(error)


# ------------------------------------------------------------------ item 13


def test_every_problem_is_shown_with_its_line(tmp_path: Path) -> None:
    """Two mistakes: both are printed, each with its own line, and no "(and 1 more)"."""
    text = VALID.replace("org_url:", "org_ulr:").replace("region: us-east-1", "region: 7")
    path = write(tmp_path, text)
    error = error_of(path)
    lines = str(error).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}, line {line_of(text, 'org_ulr')}: ")
    assert "did you mean 'org_url'" in lines[0]
    assert lines[1].strip().startswith(f"{path}, line {line_of(text, 'region')}: ")
    assert "more problem" not in str(error)


def test_problems_are_capped_at_the_limit(tmp_path: Path) -> None:
    """Thirty bad tenants print the first ten problems and count the rest."""
    tenant = VALID.split("tenants:\n", 1)[1].replace("region: us-east-1", "region: 7")
    body = "".join(tenant.replace("acme", f"t{i}") for i in range(30))
    error = error_of(write(tmp_path, "version: 1\ntenants:\n" + body))
    lines = str(error).splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-1].strip() == f"(and {30 - MAX_PROBLEMS} more problem(s) after these)"


def test_key_file_turned_into_a_fifo_after_load_is_an_oserror_not_a_hang(tmp_path: Path) -> None:
    """read_key on a FIFO (swapped in after the config loaded) fails at once with OSError."""
    key_file = tmp_path / "service.pem"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\n", encoding="utf-8")
    config = load_config(write(tmp_path, private_key_config("service.pem")))
    credential = config.tenants[0].okta.private_key
    assert credential is not None
    assert credential.read_key().get_secret_value().startswith("-----BEGIN")
    key_file.unlink()
    os.mkfifo(key_file)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            credential.read_key()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    # A thread, so that a read that blocks on the FIFO fails the test instead of hanging.
    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "read_key blocked on a FIFO"
    (error,) = outcome
    assert isinstance(error, OSError)
    assert "not a regular file" in str(error)
