"""The Okta emulator's host: one aiohttp server, one loopback port per org.

:class:`OktaEmulator` runs an asyncio loop in a daemon thread. Each org added gets its own
``127.0.0.1`` port (and a second one for its custom domain), all served by a single
aiohttp application that tells orgs apart by the port a request arrived on
(:mod:`~auditor.emulator.okta.plumbing`). The endpoints live in
:mod:`~auditor.emulator.okta.management` and :mod:`~auditor.emulator.okta.oauth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import resource
import socket
import threading
from typing import TYPE_CHECKING, Any, Self, TypeVar

from aiohttp import web

from auditor.emulator.okta import management, oauth
from auditor.emulator.okta.plumbing import BINDINGS, Binding, okta_middleware
from auditor.localserver import LoopThread, StartStop

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from auditor.emulator.okta.org import OktaOrg

_FD_TARGET = 65536
_T = TypeVar("_T")


def _build_app(emulator: OktaEmulator) -> web.Application:
    app = web.Application(middlewares=[okta_middleware])
    app[BINDINGS] = emulator.binding
    management.add_routes(app.router)
    oauth.add_routes(app.router)
    return app


async def _shutdown(runner: web.AppRunner) -> None:
    """Close every connection and port at once, without waiting for answers in progress.

    Requests a latency fault is holding are dropped (the client sees a disconnect) and
    their handlers cancelled, so stopping never waits for them nor leaves them pending.
    """
    # Stop listening first: a client whose connection is dropped retries at once.
    for site in list(runner.sites):
        await site.stop()
    if runner.server is not None:
        for connection in runner.server.connections:
            connection.force_close()
    await _cancel_remaining_tasks()
    await runner.cleanup()


async def _cancel_remaining_tasks() -> None:
    """Cancel handlers still running (a long latency fault) so none is left pending."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _raise_fd_limit() -> None:
    """A thousand orgs with custom domains need a few thousand sockets."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = _FD_TARGET if hard == resource.RLIM_INFINITY else min(hard, _FD_TARGET)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class OktaEmulator(StartStop):
    """Many emulated Okta orgs in one process, each on its own loopback port.

    ``start()`` runs the server's event loop in a daemon thread; ``add_org()`` binds a
    port (and a second one for a custom domain) and points the org's ``url`` at it. Also
    a context manager. Safe to use from any thread except the emulator's own.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        if not ipaddress.IPv4Address(host).is_loopback:
            raise ValueError(f"the Okta emulator only listens on IPv4 loopback, not {host!r}")
        self.host = host
        self._loop: LoopThread | None = None
        self._runner: web.AppRunner | None = None
        self._bindings: dict[int, Binding] = {}
        self._start_lock = threading.Lock()

    # -- lifecycle

    def start(self) -> Self:
        """Start the server thread (idempotent)."""
        with self._start_lock:
            if self._loop is not None:
                return self
            _raise_fd_limit()
            self._loop = LoopThread("okta-emulator")
            runner = web.AppRunner(
                _build_app(self), access_log=None, handle_signals=False, shutdown_timeout=1.0
            )
            self._call(runner.setup())
            self._runner = runner
        return self

    def stop(self) -> None:
        """Close every port and stop the thread (idempotent)."""
        with self._start_lock:
            if self._loop is None:
                return
            if self._runner is not None:
                self._call(_shutdown(self._runner))
            self._call(_cancel_remaining_tasks())
            self._loop.close()
            self._loop = self._runner = None
            self._bindings.clear()

    # -- orgs

    def add_org(self, org: OktaOrg, *, custom_domain: bool = False) -> OktaOrg:
        """Serve ``org`` on a new port; with ``custom_domain``, on a second one too.

        Sets ``org.url`` to ``http://127.0.0.1:PORT`` (every link in its state follows)
        and, with ``custom_domain``, ``org.custom_domain`` to ``127.0.0.1:PORT2``.
        """
        self.start()
        if org in self.orgs:
            raise ValueError(f"org {org.name!r} is already served at {org.url}")
        port = self._call(self._bind(org, custom_domain=False))
        org.rebase(f"http://{self.host}:{port}")
        if custom_domain:
            custom_port = self._call(self._bind(org, custom_domain=True))
            with org.lock:
                org.custom_domain = f"{self.host}:{custom_port}"
        return org

    def remove_org(self, org: OktaOrg) -> None:
        """Stop serving ``org`` (its ports close; its state is kept)."""
        ports = [port for port, binding in self._bindings.items() if binding.org is org]
        for port in ports:
            binding = self._bindings.pop(port)
            self._call(binding.site.stop())

    @property
    def orgs(self) -> list[OktaOrg]:
        """The orgs being served, in the order they were added."""
        seen: dict[int, OktaOrg] = {}
        for binding in list(self._bindings.values()):
            seen.setdefault(id(binding.org), binding.org)
        return list(seen.values())

    def binding(self, port: int) -> Binding | None:
        """What a local port serves (used by the request middleware)."""
        return self._bindings.get(port)

    # -- internals

    async def _bind(self, org: OktaOrg, *, custom_domain: bool) -> int:
        if self._runner is None:
            raise RuntimeError("the emulator is not running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        sock.listen(128)
        sock.setblocking(False)  # noqa: FBT003 - socket API
        site = web.SockSite(self._runner, sock)
        await site.start()
        port: int = sock.getsockname()[1]
        self._bindings[port] = Binding(org, custom_domain, site)
        return port

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return self._loop.call(coro)
