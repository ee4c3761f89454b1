"""A Slack-compatible incoming webhook on loopback, for ``auditor demo``.

The demo has no Slack workspace, so it starts this receiver, routes its alerts to it
like any Slack route (same client, retries and Block Kit), and then prints what Slack
would show with :func:`auditor.alerts.slack.preview`. It answers ``ok`` as Slack does,
keeps every JSON body it receives in memory, and listens on 127.0.0.1 only: nothing
leaves the machine. Standard library only; it is not a test double for the tests, which
run their own scriptable receivers.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from auditor.alerts.config import AlertsConfig, RouteConfig, SlackDestination
from auditor.localserver import ServerThread, StartStop

if TYPE_CHECKING:
    from collections.abc import Callable

DEMO_ROUTE = "demo-slack"
_LOOPBACK = "127.0.0.1"  # nothing leaves the machine
_MAX_BODY = 1 << 20  # Slack refuses far smaller messages; more is not a message


class LocalSlack(StartStop):
    """``with LocalSlack() as slack:`` a receiver on a free loopback port until the block ends."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._shown = 0
        self._lock = threading.Lock()
        # Like a real incoming webhook, the path is the credential: unguessable per run.
        self._path = f"/services/TDEMO/BDEMO/{secrets.token_urlsafe(12)}"
        server = ThreadingHTTPServer((_LOOPBACK, 0), self._handler())
        server.daemon_threads = True
        self._serving = ServerThread(server, "demo-slack")

    @property
    def url(self) -> str:
        """The incoming-webhook URL to configure (plain http: loopback only)."""
        return f"http://{_LOOPBACK}:{self._serving.port}{self._path}"

    def alerts_config(self) -> AlertsConfig:
        """An ``alerts:`` block with one Slack route to this receiver.

        Needs ``AUDITOR_ALLOW_HTTP_LOOPBACK=1``, as every loopback destination does.
        """
        from pydantic import SecretStr  # noqa: PLC0415 - pydantic is loaded by the config anyway

        route = RouteConfig(
            name=DEMO_ROUTE, slack=SlackDestination(webhook_url=SecretStr(self.url))
        )
        return AlertsConfig(routes=[route])

    def show(self, say: Callable[[str], object]) -> int:
        """Print, through ``say``, what Slack would show of the messages not shown yet."""
        from auditor.alerts.slack import preview  # noqa: PLC0415 - slack_sdk on first use

        with self._lock:
            fresh = self.messages[self._shown :]
            self._shown = len(self.messages)
        if not fresh:
            say("demo: Slack got no message (nothing changed for the route)")
        for number, body in enumerate(fresh, start=1):
            say(f"demo: Slack message {number} of {len(fresh)}, as the channel would show it:")
            for line in preview(body).splitlines():
                say(f"  | {line}")
        return len(fresh)

    def start(self) -> None:
        """Receive on a daemon thread (``with`` calls this)."""
        self._serving.start()

    def stop(self) -> None:
        """Stop receiving and close the port."""
        self._serving.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != receiver._path or not 0 < length <= _MAX_BODY:
                    self._answer(404 if self.path != receiver._path else 400, b"invalid_token")
                    return
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    self._answer(400, b"invalid_payload")
                    return
                if not isinstance(body, dict):
                    self._answer(400, b"invalid_payload")
                    return
                with receiver._lock:
                    receiver.messages.append(body)
                self._answer(200, b"ok")

            def _answer(self, status: int, text: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib
                """Quiet: the demo's own output tells the story (and the path is a secret)."""

        return Handler
