"""What the auditor's in-process loopback servers share: a thread to serve on, and `with`.

Five servers run on a thread of this process: the Okta emulator and the quota proxy
(aiohttp, on an asyncio loop of their own), moto's Cognito (moto owns its thread), the
service's ``/metrics`` and ``/healthz`` (wsgiref) and the demo's Slack receiver
(http.server). Each starts, says where it listens, and stops; the lifecycle they have in
common lives here so that a fix to it (a join that can hang, a loop left open) is made
once. Standard library only: the CLI imports its commands' modules lazily, and this one
must not pull a web framework in before a command runs.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Self, TypeVar

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from socketserver import TCPServer
    from types import TracebackType

_T = TypeVar("_T")

# A stopped server's thread ends at once; a longer wait means it is stuck, and the
# process should go on exiting rather than hang on a daemon thread.
_JOIN_SECONDS = 10


class StartStop:
    """``with server:`` starts it and stops it when the block ends, however it ends."""

    def start(self) -> object:
        """Start serving (each server says what it returns)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and let go of the port."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class LoopThread:
    """An asyncio event loop run by a daemon thread; other threads hand it coroutines."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float = 30) -> _T:
        """Run ``coro`` on the loop and wait: its result, or its exception raised here."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout)

    def close(self) -> None:
        """Stop the loop, wait for its thread, close the loop."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_JOIN_SECONDS)
        self._loop.close()


class ServerThread:
    """A ``socketserver`` server (http.server, wsgiref) serving on a daemon thread."""

    def __init__(self, server: TCPServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)

    @property
    def port(self) -> int:
        """The port bound (the one asked for, or the one the OS chose for port 0)."""
        return int(self.server.server_address[1])

    def start(self) -> None:
        """Serve on the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (a server never started is only closed)."""
        # shutdown() waits for serve_forever to notice: it would wait forever unstarted.
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=_JOIN_SECONDS)
        self.server.server_close()
