"""Child process of the SIGKILL test: starts a write, says so, then hangs until killed.

Usage: hang_child.py URL PAYLOAD.json MARKER {save_run|migration}

``save_run``: opens the store, saves the payload's run, and hangs right after the first
result row is inserted (inside the transaction). ``migration``: hangs inside the first
migration, right after the ``results`` table is created. Either way the MARKER file is
written at the hang, and the parent SIGKILLs this process.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

import auditor.store.engine as engine_module
from auditor.results import RunReport
from auditor.store import open_store


def main() -> None:
    url, payload_path, marker, hang_at = sys.argv[1:5]
    trigger = "INSERT INTO results" if hang_at == "save_run" else "CREATE TABLE results"

    def hang(*args: Any) -> None:
        statement = str(args[2])
        if statement.lstrip().startswith(trigger):
            Path(marker).write_text(statement, encoding="utf-8")
            time.sleep(120)

    make_engine = engine_module.make_engine

    def hooked(url: str) -> Engine:
        engine = make_engine(url)
        if hang_at == "migration":
            event.listen(engine, "after_cursor_execute", hang)
        return engine

    engine_module.make_engine = hooked
    store = open_store(url)
    event.listen(store.engine, "after_cursor_execute", hang)
    payload = json.loads(Path(payload_path).read_text(encoding="utf-8"))
    store.save_run(RunReport.model_validate(payload["report"]), payload["snapshots"])
    sys.exit("the child was not killed")


if __name__ == "__main__":
    main()
