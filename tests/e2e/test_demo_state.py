"""`auditor demo` leaves a playground: its config and store stay, and --serve keeps it up."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cli_helpers import cli_env, report

LOOPBACK = {"AUDITOR_ALLOW_HTTP_LOOPBACK": "1"}
NO_AWS = {"AWS_ACCESS_KEY_ID": None, "AWS_ENDPOINT_URL": None}


def test_history_diff_and_baseline_work_on_what_the_demo_left(run_auditor, tmp_path):
    """After `demo`, the printed history/diff/baseline commands work on its config."""
    ran = run_auditor(["demo", "--state", "play"], NO_AWS)
    assert ran.returncode == 0, ran.stderr
    config = "play/auditor.yaml"
    assert (tmp_path / config).is_file()
    for printed in (
        "export AUDITOR_ALLOW_HTTP_LOOPBACK=1",
        f"auditor history --config {config} --tenant umbrella",
        f"auditor diff --config {config} --tenant umbrella",
        f"auditor baseline show --config {config} --all",
    ):
        assert printed in ran.stderr

    history = run_auditor(["history", "--config", config, "--tenant", "umbrella"], LOOPBACK)
    assert history.returncode == 0, history.stderr
    assert sum(" demo " in line for line in history.stdout.splitlines()) == 2
    assert "redirect_uris" in history.stdout  # the trailing slash the admin added

    diff = run_auditor(["diff", "--config", config, "--tenant", "umbrella"], LOOPBACK)
    assert diff.returncode == 0, diff.stderr
    assert "redirect_uris" in diff.stdout

    shown = run_auditor(["baseline", "show", "--config", config, "--all"], LOOPBACK)
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 6
    assert all("by demo: set up by the guide" in line for line in shown.stdout.splitlines())


def _read_until(stream, marker: str, seconds: float) -> list[str]:
    """Lines of ``stream`` up to the one containing ``marker``, within ``seconds``."""
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        for line in stream:
            lines.append(line)
            if marker in line:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(seconds), "".join(lines)
    return lines


def test_serve_keeps_the_tenants_up_for_the_printed_audit_until_ctrl_c(run_auditor, tmp_path):
    """`demo --serve` prints an env line and an audit command that work, and stops on SIGINT."""
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "demo", "--serve", "--state", "served"],
        cwd=tmp_path, env=cli_env(NO_AWS), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _read_until(process.stderr, "auditor audit --config", 180)
        # The last export line is --serve's (the one before is for the state alone).
        export = [line for line in lines if line.strip().startswith("export ")][-1]
        env = dict(
            pair.split("=", 1) for pair in shlex.split(export.strip().removeprefix("export "))
        )
        assert env["AUDITOR_ALLOW_HTTP_LOOPBACK"] == "1"
        command = shlex.split(lines[-1].strip())
        assert command[:2] == ["auditor", "audit"]

        audited = run_auditor([*command[1:], "--output", "mine"], env)
        assert audited.returncode == 1, audited.stderr  # five tenants fail, none errors
        statuses = {t["tenant_id"]: t["status"] for t in report(tmp_path / "mine")["tenants"]}
        assert statuses["acme"] == "pass"
        assert "error" not in statuses.values()
        assert len(statuses) == 6
        # The same store: this audit is the third run in the demo's history.
        history = run_auditor(["history", "--config", command[3], "--tenant", "acme"], env)
        assert sum(1 for line in history.stdout.splitlines() if "Z  " in line) == 3
    finally:
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        try:
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0
    assert time.monotonic() - started < 30
    assert "stopped" in process.stderr.read()
    assert Path(tmp_path / "served" / "state.db").is_file()


def test_a_state_folder_that_cannot_be_written_exits_2_before_starting(run_auditor, tmp_path):
    """`demo --state <a file>` says which folder and what to pass, exit 2, no traceback."""
    (tmp_path / "taken").write_text("not a folder")
    ran = run_auditor(["demo", "--state", "taken/sub"], NO_AWS)
    assert ran.returncode == 2
    assert "cannot keep the demo's state in taken/sub" in ran.stderr
    assert "--state" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert "starting the Okta emulator" not in ran.stderr
