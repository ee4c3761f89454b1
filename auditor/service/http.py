"""``/metrics`` and ``/healthz`` over HTTP, on a thread beside the scheduler.

The standard library's WSGI server (threaded, so a slow scrape never holds up a probe)
with prometheus-client's own WSGI app for ``/metrics`` (it handles content negotiation
and gzip). Nothing else is served; requests are logged at debug only, since probes come
every few seconds.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from auditor.localserver import ServerThread, StartStop

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from wsgiref.types import StartResponse, WSGIEnvironment

    from auditor.service.health import Health
    from auditor.service.metrics import Metrics

log = logging.getLogger(__name__)

PATHS = ("/metrics", "/healthz")

DEFAULT_LISTEN = "127.0.0.1:9464"  # 9464: the port Prometheus' registry lists for exporters like us


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6) as a (host, port) pair; ValueError says how."""
    host, sep, port_text = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(
            f"listen address {text!r} must be HOST:PORT, e.g. {DEFAULT_LISTEN} "
            "(0.0.0.0:9464 for every interface, [::1]:9464 for IPv6)"
        )
    return host, int(port_text)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # an open scrape never keeps the process from exiting


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - the stdlib's signature
        log.debug("http: " + format, *args)  # noqa: G003 - the stdlib hands us a format string


class ServiceHTTP(StartStop):
    """The HTTP server of ``auditor schedule --listen``: start, serve on a thread, stop."""

    def __init__(
        self, host: str, port: int, metrics: Metrics, health: Callable[[], Health]
    ) -> None:
        self._metrics_app = make_wsgi_app(metrics.registry)
        self._health = health
        server_class = _IPv6Server if _is_ipv6(host) else _Server
        server = make_server(
            host, port, self._app, server_class=server_class, handler_class=_QuietHandler
        )
        self._serving = ServerThread(server, "auditor-http")

    @property
    def port(self) -> int:
        """The port bound (the one asked for, or the one the OS chose for port 0)."""
        return self._serving.port

    def start(self) -> None:
        """Serve on a daemon thread."""
        self._serving.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._serving.stop()

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            served: Iterable[bytes] = self._metrics_app(environ, start_response)
            return served
        if path == "/healthz":
            try:
                health = self._health()
            except Exception:
                log.exception("the health check failed")
                return _json(start_response, 500, {"status": "error", "reason": "check failed"})
            return _json(start_response, health.status_code, health.to_jsonable())
        return _json(start_response, 404, {"status": "not found", "paths": [*PATHS]})


def _json(start_response: StartResponse, code: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        f"{code} {HTTPStatus(code).phrase}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [data]


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False  # a name: resolved as IPv4, like the stdlib server does
