"""An asyncio event loop on a virtual clock: timers fire at once, time jumps to them.

``loop.time()`` (what ``asyncio.sleep`` and aiolimiter read) starts at 0 and advances
only when the loop would otherwise wait for a timer, by exactly that wait. Rate tests
then count acquisitions per virtual second, deterministically, however busy the machine.
Only for code that waits on timers, not on sockets.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Coroutine

T = TypeVar("T")


class _AdvancingSelector(selectors.BaseSelector):
    """The real selector, polled without waiting; a wait advances the loop's clock."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # nothing scheduled: only I/O can wake the loop
            return self._real.select(None)
        ready = self._real.select(0)
        if not ready:
            # Every turn of the loop costs a microsecond, as real time always moves on:
            # a limiter whose float arithmetic plans its wake-up for "now" would otherwise
            # spin on a frozen clock.
            self._loop.clock += max(timeout, 1e-6)
        return ready

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Any:
        return self._real.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is :attr:`clock`."""

    def __init__(self) -> None:
        self.clock = 0.0
        super().__init__(_AdvancingSelector(self))

    def time(self) -> float:
        """The virtual clock, in seconds from the loop's start."""
        return self.clock


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualTimeLoop`."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
