"""SIGTERM and Ctrl-C during a run: finish what is under way, then stop with a report.

A container runtime sends SIGTERM and waits (Kubernetes: 30 s by default) before
SIGKILL. Dying at once would lose the run: nothing recorded, no report. Instead the
handler sets an event the run checks before each tenant (see
:func:`auditor.audit.stream_audit`): tenants under way finish, the others become ``error``
"interrupted", and the run is recorded and its reports written as usual (the report
files are replaced atomically, so none is ever torn). A second signal stops at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first SIGTERM / SIGINT inside the block; the old handlers after.

    Call from the main thread (Python delivers signals there only).
    """
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: the operator means now
        stop.set()
        print(
            f"auditor: {signal.Signals(signum).name}, finishing the tenants under way; "
            "the others are reported as interrupted (send it again to stop at once)",
            file=sys.stderr, flush=True,
        )

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
