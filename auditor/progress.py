"""Progress on long runs: a one-line bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from auditor.snapshot import TenantSnapshot

log = logging.getLogger(__name__)

_BAR_WIDTH = 30
_LOG_EVERY_SECONDS = 10.0


class Progress:
    """Counts tenants as they finish; safe to call from the collector's callbacks."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.errored = 0
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._lock = threading.Lock()
        self._last_log = time.monotonic()

    def __call__(self, snapshot: TenantSnapshot) -> None:
        """Count one finished tenant and show the progress."""
        with self._lock:
            self.done += 1
            self.errored += snapshot.has_errors
            if self._tty:
                self._draw()
            elif time.monotonic() - self._last_log >= _LOG_EVERY_SECONDS:
                self._last_log = time.monotonic()
                log.info("audited %d/%d tenants (%d with errors)",
                         self.done, self.total, self.errored)

    def _draw(self) -> None:
        filled = _BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        errors = f", {self.errored} with errors" if self.errored else ""
        self._stream.write(f"\r[{bar}] {self.done}/{self.total} tenants{errors}")
        if self.done == self.total:
            self._stream.write("\n")
        self._stream.flush()
