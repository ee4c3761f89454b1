"""The lifecycle pieces the in-process loopback servers share (auditor.localserver)."""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auditor.localserver import LoopThread, ServerThread


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib
        """Quiet."""


def test_a_server_thread_serves_on_its_port_until_stopped() -> None:
    """A started ServerThread answers on its port; after stop() the port refuses."""
    serving = ServerThread(ThreadingHTTPServer(("127.0.0.1", 0), _Hello), "test-hello")
    serving.start()
    url = f"http://127.0.0.1:{serving.port}/"
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.read() == b"hello"
    serving.stop()
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen(url, timeout=5)


def test_stopping_a_server_thread_never_started_returns_and_frees_the_port() -> None:
    """stop() before start() closes the socket at once instead of waiting on shutdown()."""
    serving = ServerThread(ThreadingHTTPServer(("127.0.0.1", 0), _Hello), "test-unstarted")
    done = threading.Event()
    worker = threading.Thread(target=lambda: (serving.stop(), done.set()), daemon=True)
    worker.start()
    assert done.wait(5), "stop() of an unstarted server hung"
    assert serving.server.socket.fileno() == -1


def test_a_loop_thread_runs_coroutines_and_raises_their_errors_here() -> None:
    """call() returns a coroutine's result, raises its exception, and close() ends the thread."""

    async def double(value: int) -> int:
        return value * 2

    async def fail() -> None:
        raise ValueError("from the loop")

    loop = LoopThread("test-loop")
    assert loop.call(double(21)) == 42
    with pytest.raises(ValueError, match="from the loop"):
        loop.call(fail())
    loop.close()
    assert not any(t.name == "test-loop" for t in threading.enumerate())
