"""Exit codes (CONTRACT section 3) and the errors that end a command with code 2."""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0  # no failing result at or above --fail-on
EXIT_FINDINGS = 1  # failing results
EXIT_USAGE = 2  # bad usage, config or rule pack: nothing audited
EXIT_COLLECTION_ERROR = 3  # a tenant could not be fully audited (or the run not recorded)
EXIT_UNAVAILABLE = EXIT_COLLECTION_ERROR  # the store could not be reached


class InputError(Exception):
    """A config or rule file is wrong; carries the file, the line and what to fix."""

    def __init__(self, path: Path | str | None, line: int | None, message: str) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path) if self.path is not None else "<input>"
        if self.line is not None:
            where += f", line {self.line}"
        return f"{where}: {self.message}"


class UnavailableError(Exception):
    """Something a command needs (the store) cannot be reached; the command exits 3."""


class UsageError(Exception):
    """The command line asks for something impossible (unknown tenant, bad flag value)."""
