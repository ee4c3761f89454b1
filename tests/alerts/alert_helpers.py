"""Alert fixtures: real HTTP receivers on loopback, a real SQLite store, runs to announce.

A :class:`Receiver` is an ``http.server`` in a thread that records every request (time,
path, headers, body) and answers from a script (``500``, ``429`` with ``Retry-After``,
...) before falling back to ``200 ok``. Its URL carries a fake credential in the path,
as a Slack incoming-webhook URL does, so tests can look for it where it must not be.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from report.report_builders import CATALOG, run_of

from auditor.alerts import AlertsConfig, DeliveryPolicy
from auditor.results import RunInfo, RunReport, TenantReport
from auditor.store import Store, open_store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SLACK_TOKEN = "T0AUDIT/B0AUDIT/xoxbSecretHookToken42"
WEBHOOK_SECRET = "whsec-0123456789-abcdefghijklmnop"
# Small but real: retries and backoff happen, just fast.
FAST = DeliveryPolicy(
    request_timeout=3, retries=3, backoff=0.05, max_backoff=0.2, max_retry_after=5, deadline=30
)
RULE_IDS = [rule_id for rule_id, _ in CATALOG]


@dataclass
class Request:
    """One request the receiver got."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """A scripted HTTP receiver on 127.0.0.1."""

    server: ThreadingHTTPServer
    path: str
    requests: list[Request] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    down: bool = False  # answer 503 to everything (an outage)
    delay: float = 0.0  # seconds to wait before answering (a hanging receiver)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where to post (path included, as a route's config gives it)."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def answer(self, *responses: tuple[int, dict[str, str]]) -> None:
        """Answer the next requests with these (status, headers), then 200 again."""
        self.script.extend(responses)

    def accepted(self) -> list[Request]:
        """The requests that got a 2xx (what the destination really received)."""
        return [r for r in self.requests if r.headers.get("x-test-status", "200") == "200"]

    def clear(self) -> None:
        """Forget the requests so far."""
        with self.lock:
            self.requests.clear()


def _handler(receiver_ref: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = receiver_ref[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                if receiver.down:
                    status, headers = 503, {}
                elif receiver.script:
                    status, headers = receiver.script.pop(0)
                else:
                    status, headers = 200, {}
                seen = {k.lower(): v for k, v in self.headers.items()}
                seen["x-test-status"] = str(status)  # what we answered, for accepted()
                receiver.requests.append(Request(time.monotonic(), self.path, seen, body))
            time.sleep(receiver.delay)
            payload = b"ok" if status == 200 else b"server_error"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            """Quiet: the test output is about the auditor."""

    return Handler


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    """Start receivers on demand; all are stopped after the test."""
    started: list[Receiver] = []

    def start(path: str = f"/services/{SLACK_TOKEN}") -> Receiver:
        ref: list[Receiver] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
        receiver = Receiver(server=server, path=path)
        ref.append(receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def slack_receiver(receiver_factory: Any) -> Receiver:
    """A Slack-compatible incoming webhook."""
    return receiver_factory()


@pytest.fixture
def hook_receiver(receiver_factory: Any) -> Receiver:
    """A SIEM's webhook endpoint."""
    return receiver_factory("/hooks/sso-auditor")


@pytest.fixture(autouse=True)
def loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_ALLOW_HTTP_LOOPBACK", "1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store file."""
    opened = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def free_port_url() -> str:
    """A loopback URL where nothing listens (a receiver that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/{SLACK_TOKEN}"


def slack_route(url: str, name: str = "oncall", **options: Any) -> dict[str, Any]:
    """A Slack route's config mapping."""
    return {"name": name, "slack": {"webhook_url": url}, **options}


def hook_route(url: str, name: str = "siem", **options: Any) -> dict[str, Any]:
    """A signed webhook route's config mapping."""
    return {"name": name, "webhook": {"url": url, "secret": WEBHOOK_SECRET}, **options}


def alerts_config(*routes: dict[str, Any], **options: Any) -> AlertsConfig:
    """An ``alerts:`` block, validated as the config file's would be."""
    return AlertsConfig.model_validate({"routes": list(routes), **options})


class Runs:
    """Numbered runs, one day apart, saved in the store as the audit saves them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.number = 0

    def save(self, *tenants: TenantReport, day: int | None = None) -> RunReport:
        """A run of these tenants, recorded in the store (as the audit does first)."""
        self.number += 1
        day = self.number if day is None else day
        started = f"2025-01-{day:02d}T02:00:00Z"
        report = run_of(*tenants).model_copy(
            update={
                "run": RunInfo(
                    id=f"run-{self.number:03d}",
                    started_at=started,
                    finished_at=started.replace(":00Z", ":09Z"),
                )
            }
        )
        self.store.save_run(report, {t.tenant_id: {"tenant_id": t.tenant_id} for t in tenants})
        return report


@pytest.fixture
def runs(store: Store) -> Runs:
    """A run factory on the test's store."""
    return Runs(store)


def named(requests: list[Request]) -> list[tuple[str, str | None, str]]:
    """(tenant, rule, kind) of every event in webhook requests, in order."""
    return [(e["tenant_id"], e["rule_id"], e["kind"]) for r in requests for e in r.json()["events"]]
