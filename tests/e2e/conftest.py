"""Fixtures for the end-to-end tests: a fleet on the session's emulators, a CLI runner."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli, write_config

from auditor.demo import Fleet, emulator_environment


@pytest.fixture
def fleet(okta_emulator, moto_cognito):
    """An empty fleet on the session's emulators (tenant ids are unique per test)."""
    return Fleet(okta=okta_emulator, cognito=moto_cognito, base_domain="rapticore.io", tenants=[])


@pytest.fixture
def cli(fleet, moto_cognito, tmp_path):
    """Run ``auditor <command...> --config <the fleet's config> <args...>`` in tmp_path."""

    def _run(command: list[str], *args: str, extra_config: str = "",
             env: dict[str, str | None] | None = None):
        config = tmp_path / "auditor.yaml"
        tokens = write_config(fleet, config, extra=extra_config)
        full_env = {**emulator_environment(moto_cognito), **tokens, **(env or {})}
        return run_cli([*command, "--config", str(config), *args], tmp_path, full_env)

    return _run


@pytest.fixture
def audit(cli, tmp_path):
    """Run ``auditor audit``; returns the process and the report directory."""

    def _run(*args: str, extra_config: str = "", env: dict[str, str | None] | None = None):
        return cli(["audit"], *args, extra_config=extra_config, env=env), tmp_path / "reports-out"

    return _run
