"""Fixtures for the end-to-end tests: the fleet's config file, and the CLI run in-process.

``main(argv)`` runs in the test process (no 4 s of imports per call) with the environment,
working directory and streams a user's shell would give it; the few tests that must see
the real process (exit status, signals, import cost) use ``run_cli`` instead.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import pytest
from cli_helpers import write_config

from auditor.cli import main
from auditor.demo import emulator_environment


@dataclass(frozen=True)
class Ran:
    """What a user sees of one ``auditor`` run (the fields of ``CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_auditor(monkeypatch, capsys, caplog, tmp_path):
    """Run ``auditor ARGS`` in-process in tmp_path; ``env`` adds (None: removes) variables.

    Every other ``AUDITOR_*`` variable is removed first. Log records reach pytest's
    handler rather than stderr (pytest owns the root logger), so they are appended to
    ``stderr``, where the real command prints them.
    """

    def _run(args: list[str], env: dict[str, str | None] | None = None) -> Ran:
        with monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.startswith("AUDITOR_")]:
                patch.delenv(name)
            for name, value in (env or {}).items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            patch.chdir(tmp_path)
            capsys.readouterr()
            caplog.clear()
            try:
                code = main(args)
            except SystemExit as exc:  # argparse's usage errors, --help and --version
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            out, err = capsys.readouterr()
        logged = "".join(f"{r.levelname} {r.name}: {r.getMessage()}\n" for r in caplog.records)
        return Ran(code, out, err + logged)

    return _run


@pytest.fixture
def debug_logs(caplog):
    """Let DEBUG records through, as AUDITOR_LOG_LEVEL=debug does in a real process."""
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def cli(fleet, moto_cognito, tmp_path, run_auditor):
    """Run ``auditor <command...> --config <the fleet's config> <args...>`` in tmp_path."""

    def _run(command: list[str], *args: str, extra_config: str = "",
             env: dict[str, str | None] | None = None) -> Ran:
        config = tmp_path / "auditor.yaml"
        tokens = write_config(fleet, config, extra=extra_config)
        full_env = {**emulator_environment(moto_cognito), **tokens, **(env or {})}
        return run_auditor([*command, "--config", str(config), *args], full_env)

    return _run


@pytest.fixture
def audit(cli, tmp_path):
    """Run ``auditor audit``; returns what it printed and the report directory."""

    def _run(*args: str, extra_config: str = "", env: dict[str, str | None] | None = None):
        return cli(["audit"], *args, extra_config=extra_config, env=env), tmp_path / "reports-out"

    return _run
