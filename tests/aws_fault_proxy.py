"""A loopback HTTP server in front of moto that answers chosen AWS operations wrongly.

What moto cannot do (throttle, deny, time out, answer oddly) is injected here; every
other request is forwarded to moto unchanged. Used by the Cognito collector's tests and
by the fault campaign (tests/faults).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs

RawKind = Literal[
    "timeout", "reset", "5xx", "429", "malformed_json", "redirect", "content_type", "big_body"
]


@dataclass
class _Fault:
    status: int
    body: dict[str, Any]
    times: int | None  # None: every time
    kind: RawKind | None = None  # None: an AWS error or answer with ``body``
    match: str | None = None  # only requests whose body contains this
    location: str = ""  # redirect target
    delay: float = 0.0  # timeout: seconds before answering

    def payload(self, *, query: bool) -> bytes:
        if not query:
            return json.dumps(self.body).encode()
        # STS (query protocol) speaks XML.
        return (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{self.body['__type']}</Code><Message>{self.body['message']}</Message>"
            "</Error><RequestId>1</RequestId></ErrorResponse>"
        ).encode()


@dataclass
class FaultProxy:
    """Loopback HTTP server in front of moto: answers chosen operations, forwards the rest."""

    upstream: str
    faults: dict[str, _Fault] = field(default_factory=dict)
    # (operation, access key id) of every request received, faulted or forwarded.
    seen: list[tuple[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(
        self, operation: str, code: str, message: str = "", *, times: int | None = None
    ) -> None:
        """Answer ``operation`` with this AWS error ``times`` times (None: always)."""
        self.faults[operation] = _Fault(400, {"__type": code, "message": message}, times)

    def answer(self, operation: str, body: dict[str, Any]) -> None:
        """Answer ``operation`` with this 200 body, always."""
        self.faults[operation] = _Fault(200, body, None)

    def inject(
        self,
        operation: str,
        kind: RawKind,
        *,
        match: str | None = None,
        location: str = "",
        delay: float = 3.0,
    ) -> None:
        """Misbehave at the HTTP level on ``operation`` (for requests containing ``match``)."""
        status = {"5xx": 500, "429": 429, "redirect": 302}.get(kind, 200)
        self.faults[operation] = _Fault(
            status, {}, None, kind=kind, match=match, location=location, delay=delay
        )

    def clear(self) -> None:
        """No fault any more."""
        self.faults.clear()

    def count(self, operation: str) -> int:
        """How many requests for ``operation`` arrived (attempts, retries included)."""
        return sum(1 for op, _ in self.seen if op == operation)

    def start(self) -> None:
        """Serve on 127.0.0.1 and a free port, in a daemon thread."""
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target")
        if target:
            operation = target.rsplit(".", 1)[-1]
        else:  # STS speaks the query protocol
            operation = parse_qs(body.decode()).get("Action", ["?"])[0]
        key = re.search(r"Credential=([^/]+)/", self.headers.get("Authorization", ""))
        proxy.seen.append((operation, key.group(1) if key else ""))
        fault = proxy.faults.get(operation)
        if fault is not None and fault.times != 0 and (
            fault.match is None or fault.match.encode() in body
        ):
            if fault.times is not None:
                fault.times -= 1
            if fault.kind in _ALTERED:
                # moto's real answer, only padded or mislabelled: valid if read whole.
                status, payload, headers = self.forward(body)
                content_type = headers.get("Content-Type", "application/x-amz-json-1.1")
                if fault.kind == "big_body":
                    payload += b" " * 10_000_000
                else:
                    content_type = "text/html"
                self.send(status, payload, {"Content-Type": content_type})
            elif fault.kind is not None:
                _MISBEHAVE[fault.kind](self, fault)
            else:
                self.send(fault.status, fault.payload(query=not target), None)
            return
        self.send(*self.forward(body))

    def forward(self, body: bytes) -> tuple[int, bytes, Any]:
        """The answer moto gives this request: status, body, headers."""
        request = urllib.request.Request(  # noqa: S310 - loopback moto URL
            self.server.proxy.upstream + self.path,
            data=body,
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # a connection reset on purpose
            super().finish()

    def send(self, status: int, payload: bytes, headers: Any) -> None:
        """Answer ``status`` with ``payload`` (AWS JSON, or XML for a body that is XML)."""
        self.send_response(status)
        content_type = headers.get("Content-Type") if headers else None
        if content_type is None:
            content_type = "application/x-amz-json-1.1"
            if payload.startswith(b"<"):
                content_type = "text/xml"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (a timeout, a refused body)
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _timeout(handler: _Handler, fault: _Fault) -> None:
    time.sleep(fault.delay)
    handler.send(500, b"{}", None)


def _reset(handler: _Handler, fault: _Fault) -> None:  # noqa: ARG001 - one signature for all
    # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def _redirect(handler: _Handler, fault: _Fault) -> None:
    handler.send_response(302)
    handler.send_header("Location", fault.location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


_MISBEHAVE: dict[RawKind, Any] = {
    "timeout": _timeout,
    "reset": _reset,
    "5xx": lambda h, _f: h.send(500, b'{"__type":"InternalErrorException","message":"boom"}', None),
    "429": lambda h, _f: h.send(429, b"Too Many Requests", {"Content-Type": "text/plain"}),
    "malformed_json": lambda h, _f: h.send(200, b'{"IdentityProvider": {"ProviderName": "x"', None),
    "redirect": _redirect,
}
_ALTERED = ("content_type", "big_body")
