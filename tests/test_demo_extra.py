"""The `demo` extra: a service install leaves the emulators out, and `auditor demo` says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import auditor

REPO = Path(auditor.__file__).resolve().parents[1]
INSTALL_LINE = "pip install 'rapticore-sso-auditor[demo]'"


def _without_moto(tmp_path: Path) -> dict[str, str]:
    """An environment where `import moto` fails as it does on `pip install .`."""
    blocked = tmp_path / "blocked"
    (blocked / "moto").mkdir(parents=True)
    (blocked / "moto" / "__init__.py").write_text(
        "raise ImportError('moto is not installed (test stand-in)', name='moto')\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env["PYTHONPATH"] = os.pathsep.join([str(blocked), str(REPO)])
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, arguments from the test
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.slow
def test_demo_without_the_extra_exits_2_naming_it(tmp_path):
    """Without moto, `auditor demo` exits 2 with the pip line to run, no traceback, no report."""
    work = tmp_path / "work"
    work.mkdir()
    result = _run(["demo"], work, _without_moto(tmp_path))

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("auditor:")]
    assert len(error_lines) == 1, result.stderr
    assert INSTALL_LINE in error_lines[0]
    assert "moto" in error_lines[0]
    assert not (work / "reports-out").exists()


@pytest.mark.slow
def test_the_service_commands_do_not_need_the_extra(tmp_path):
    """Without moto, the CLI still starts and `auditor rules list` works (no emulator import)."""
    result = _run(["rules", "list"], tmp_path, _without_moto(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "okta_app_active" in result.stdout


def test_runtime_dependencies_leave_the_emulators_to_the_demo_extra():
    """`pip install .` pulls no moto; `[demo]` and `[test]` do."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements}

    extras = project["optional-dependencies"]
    assert "moto" not in names(project["dependencies"])
    assert "moto" in names(extras["demo"])
    assert "rapticore-sso-auditor[demo]" in extras["test"]
