"""Errors that end a command with exit code 2: bad input a person must fix."""

from __future__ import annotations

from pathlib import Path


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


class UsageError(Exception):
    """The command line asks for something impossible (unknown tenant, bad flag value)."""
