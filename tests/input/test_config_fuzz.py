"""Config fuzzing: whatever the file holds, the CLI exits 2 with lines naming file and line.

Two halves. Hypothesis mutates a valid config (random values of every YAML type,
control characters, huge numbers, nested junk, at random places) and checks that the
loader either accepts it with sound values or refuses it with file and line, and that
``auditor audit`` on a refused file exits 2 without a traceback. A corpus of hostile
files (bombs, deep nesting, NUL, devices, a FIFO) goes through the real CLI in a child
process under an address-space limit and a CPU-time limit, so a regression that
allocates gigabytes or loops fails here instead of taking the machine down.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.cli import main
from auditor.config import load_config
from auditor.errors import EXIT_USAGE, InputError
from auditor.yamlsource import MAX_BYTES
from tests.input.hostile import HOSTILE_BYTES, HOSTILE_DOCUMENTS, hostile_files

if TYPE_CHECKING:
    from collections.abc import Iterator

# The child's address space: its normal peak is under 100 MB; the bugs took 650 MB+.
CHILD_MEMORY_BYTES = 512 * 1024 * 1024
CHILD_CPU_SECONDS = 60
SECONDS_PER_FILE = 5.0

BASE: dict[str, Any] = {
    "version": 1,
    "base_domain": "rapticore.io",
    "concurrency": 4,
    "retention_days": 30,
    "schedule": {"cron": "0 2 * * *", "timezone": "UTC"},
    "store": "sqlite:///state/state.db",
    "waivers": "waivers.yaml",
    "tenants": [
        {
            "id": "acme",
            "okta": {
                "org_url": "https://acme.okta.com",
                "custom_domain": "login.acme.com",
                "token": "secret-token",
                "request_timeout": 10,
                "max_retries": 2,
            },
            "cognito": {
                "region": "us-east-1",
                "user_pool_id": "us-east-1_AbCdEf",
                "provider_name": "Okta",
                "role_arn": "arn:aws:iam::123456789012:role/AuditorReadOnly",
            },
        },
        {
            "id": "globex",
            "okta": {
                "org_url": "https://globex.okta.com",
                "private_key": {"client_id": "0oa1", "key_file": "key.pem", "kid": "k1"},
            },
            "cognito": {
                "region": "eu-west-1",
                "user_pool_id": "eu-west-1_XyZ",
                "provider_name": "Okta",
            },
        },
    ],
}


def _paths(value: object, here: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield here
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*here, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*here, i))


PATHS = [p for p in _paths(BASE) if p]

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.sampled_from([
        "acme\n", "https://acme.okta.com:70000", "https://u:pw@acme.okta.com",
        "0 0 30 2 *", "../../../etc/passwd", "/dev/zero", "sqlite:////proc/self/x.db",
        "mysql://u:pw@h/db", "${NOT_SET_ANYWHERE}", "a\x00b", "\x1b[2K\rFAKE", "\u202e",
    ]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
mutations = st.lists(
    st.tuples(st.sampled_from(PATHS), values, st.sampled_from(["set", "delete", "add"])),
    min_size=1,
    max_size=3,
)


def mutate(base: dict[str, Any], changes: list[tuple[tuple[str | int, ...], object, str]]) -> Any:
    """``base`` with each change applied where its path still exists."""
    doc: Any = copy.deepcopy(base)
    for path, value, how in changes:
        parent: Any = doc
        for part in path[:-1]:
            if not isinstance(parent, (dict, list)):
                break
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            last = path[-1]
            if isinstance(parent, dict) and how == "delete":
                parent.pop(last, None)
            elif isinstance(parent, dict) and how == "add":
                parent[f"{last}_extra"] = value
            elif isinstance(parent, dict) or (
                isinstance(parent, list) and isinstance(last, int) and last < len(parent)
            ):
                parent[last] = value
    return doc


def assert_names_file_and_line(message: str, path: Path) -> None:
    """Every line of an error names the file and a line, and none is a traceback."""
    assert "Traceback" not in message
    for line in message.strip().splitlines():
        assert f"{path}, line " in line or "more problem(s) after these" in line, message


@settings(
    max_examples=150,
    deadline=None,  # timed below: a loaded CI machine must not make it flaky
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=mutations)
def test_mutated_config_loads_soundly_or_exits_2_with_lines(
    tmp_path: Path, changes: list[tuple[tuple[str | int, ...], object, str]]
) -> None:
    """Any mutation of a valid config loads with sound values or is exit 2 with lines."""
    path = tmp_path / "auditor.yaml"
    path.write_text(yaml.safe_dump(mutate(BASE, changes), allow_unicode=True), encoding="utf-8")
    (tmp_path / "waivers.yaml").write_text("version: 1\nwaivers: []\n", encoding="utf-8")
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n", encoding="utf-8")
    start = time.monotonic()
    try:
        config = load_config(path)
    except InputError as exc:
        error = exc
    else:
        error = None
    if error is not None:
        assert error.path == path
        assert error.line is not None
        assert_names_file_and_line(str(error), path)
        # The CLI says the same, and stops (no network: it never gets that far).
        stderr = _cli_stderr(path, tmp_path / "out")
        assert_names_file_and_line(stderr.removeprefix("auditor: "), path)
    else:
        assert isinstance(config.concurrency, int)
        assert not isinstance(config.concurrency, bool)
        assert 1 <= config.retention_days <= 36500
        for tenant in config.tenants:
            assert "\n" not in tenant.id
            assert tenant.id == tenant.id.strip()
        assert config.schedule.next_run(config_now()) is not None
    assert time.monotonic() - start < SECONDS_PER_FILE


def config_now() -> Any:
    from datetime import UTC, datetime  # noqa: PLC0415

    return datetime.now(UTC)


def _cli_stderr(path: Path, output: Path) -> str:
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["audit", "--all", "--config", str(path), "--output", str(output)])
    assert code == EXIT_USAGE
    assert not output.exists()
    return err.getvalue()


# A child that runs the CLI on each file under resource limits and reports as JSON.
_CHILD = textwrap.dedent("""\
    import contextlib, io, json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
    resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))
    from auditor.cli import main
    from auditor.config import load_config
    from auditor.errors import InputError
    for path in sys.argv[1:]:
        err = io.StringIO()
        start = time.monotonic()
        try:
            load_config(__import__("pathlib").Path(path))
        except InputError:
            with contextlib.redirect_stderr(err):
                code = main(["audit", "--all", "--config", path, "--output", path + ".out"])
        except BaseException as exc:
            code = repr(exc)
        else:
            code = "accepted"
        print(json.dumps({{"path": path, "code": code, "stderr": err.getvalue(),
                          "seconds": time.monotonic() - start}}), flush=True)
""")


def test_hostile_corpus_through_the_cli_under_resource_limits(tmp_path: Path) -> None:
    """Every hostile file: exit 2, lines naming the file, quickly, within 512 MB."""
    files: list[Path] = []
    for i, (name, document) in enumerate(sorted(HOSTILE_DOCUMENTS.items())):
        path = tmp_path / f"doc{i}.yaml"
        path.write_text(document, encoding="utf-8")
        files.append(path)
        del name
    for i, (_, data) in enumerate(sorted(HOSTILE_BYTES.items())):
        path = tmp_path / f"bytes{i}.yaml"
        path.write_bytes(data)
        files.append(path)
    specials = hostile_files(tmp_path, MAX_BYTES)
    files += list(specials.values())
    code = _CHILD.format(memory=CHILD_MEMORY_BYTES, cpu=CHILD_CPU_SECONDS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env = {k: v for k, v in env.items() if not k.startswith("AUDITOR_")}
    done = subprocess.run(  # noqa: S603 - our own code, arguments from the test
        [sys.executable, "-c", code, *map(str, files)],
        capture_output=True, text=True, timeout=CHILD_CPU_SECONDS * 2, check=False, env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["path"] for r in reports] == [str(f) for f in files]
    for report in reports:
        where = report["path"]
        assert report["code"] == EXIT_USAGE, report
        assert report["seconds"] < SECONDS_PER_FILE, report
        stderr = report["stderr"]
        assert stderr.startswith(f"auditor: {where}"), report
        assert "Traceback" not in stderr
        if Path(where) not in specials.values():
            assert_names_file_and_line(stderr.removeprefix("auditor: "), Path(where))


@pytest.mark.parametrize("size", [MAX_BYTES])
def test_file_at_the_size_limit_is_read(tmp_path: Path, size: int) -> None:
    """A file of exactly the limit is still read (the limit is inclusive)."""
    path = tmp_path / "auditor.yaml"
    body = "version: 1\n"
    path.write_text(body + "#" * (size - len(body) - 1) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(path)
    assert "tenants" in info.value.message
