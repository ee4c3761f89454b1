"""Helpers for the end-to-end tests: write a config for a fleet, run the CLI as a process."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.demo import DemoTenant, Fleet

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


def write_config(fleet: Fleet, path: Path, *, extra: str = "") -> dict[str, str]:
    """The fleet's tenants as a YAML config; tokens come from the environment."""
    env: dict[str, str] = {}
    lines = ["version: 1", "base_domain: rapticore.io", extra, "tenants:"]
    for t in fleet.tenants:
        entry, token = tenant_entry(t)
        lines += entry
        env.update(token)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env


def tenant_entry(
    tenant: DemoTenant, *, role_arn: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """One tenant's lines under ``tenants:``, and the token variable they name."""
    var = f"OKTA_TOKEN_{tenant.tenant_id.upper()}"
    lines = [
        f"  - id: {tenant.tenant_id}",
        "    okta:",
        f"      org_url: {tenant.org.url}",
        f"      token: ${{{var}}}",
        "      request_timeout: 5",
        "    cognito:",
        f"      region: {tenant.cognito.region}",
        f"      user_pool_id: {tenant.cognito.user_pool_id}",
        f"      provider_name: {tenant.cognito.provider_name}",
    ]
    if role_arn is not None:
        lines.append(f"      role_arn: {role_arn}")
    return lines, {var: tenant.org.token}


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str | None], *, console_script: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m auditor ARGS`` (or the ``auditor`` script) in ``cwd``, as a new process.

    ``env`` adds (or, with None, removes) variables. A process costs seconds of imports:
    use the in-process ``run_auditor`` fixture unless the process itself is under test.
    """
    command = [console_script_path()] if console_script else [sys.executable, "-m", "auditor"]
    return subprocess.run(  # noqa: S603 - our own CLI, arguments from the test
        [*command, *args],
        cwd=cwd, env=cli_env(env), capture_output=True, text=True, timeout=120, check=False,
    )


def console_script_path() -> str:
    """The ``auditor`` script pip installed beside this interpreter."""
    return str(Path(sys.executable).with_name("auditor"))


def cli_env(env: dict[str, str | None]) -> dict[str, str]:
    """The current environment without AUDITOR_* settings, plus (or minus: None) ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    for key, value in env.items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    return full_env


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


