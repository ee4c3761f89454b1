"""Child process: ``auditor ARGS`` on a wall clock the test controls (time_machine).

Usage: clock_child.py START JUMP_FILE -- ARGS...

The clock reads START (ISO 8601) once the heavy imports are done and ticks on from
there; when JUMP_FILE appears, the clock jumps to the time it holds and ticks on. Only
the wall clock moves: sleeps and timeouts stay real, so a jump past a scheduled time
is a scheduler that did not fire, and a START a few seconds before it is one that does.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import time_machine

# Import what `auditor schedule` imports lazily, so START is not eaten by imports.
import auditor.application
import auditor.audit
import auditor.scheduler
import auditor.service.http
import auditor.store  # noqa: F401 - imported for the side effect above
from auditor.cli import main


def _watch(jump_file: Path) -> None:
    while not jump_file.exists():
        time.sleep(0.05)
    time_machine.travel(datetime.fromisoformat(jump_file.read_text().strip()), tick=True).start()


def run() -> int:
    start, jump_file, dashes, *args = sys.argv[1:]
    assert dashes == "--", __doc__
    time_machine.travel(datetime.fromisoformat(start), tick=True).start()
    threading.Thread(target=_watch, args=(Path(jump_file),), daemon=True).start()
    return main(args)


if __name__ == "__main__":
    sys.exit(run())
