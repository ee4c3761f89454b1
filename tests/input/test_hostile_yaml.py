"""Hostile YAML and hostile files: refused with file and line, in bounded time and memory.

The loader (``auditor.yamlsource``) reads the config, the waivers file and the rule
pack, so each case here goes through the public entry points that use it.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from typing import TYPE_CHECKING

import pytest

from auditor import yamlsource
from auditor.cli import main
from auditor.config import load_config
from auditor.errors import EXIT_USAGE, InputError
from auditor.waivers import load_waivers
from tests.input.hostile import (
    HOSTILE_BYTES,
    HOSTILE_DOCUMENTS,
    VALID_TENANT,
    alias_bomb,
    hostile_files,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# Generous for a loaded 2-core machine; the bugs these guard against took minutes and
# hundreds of megabytes.
SECONDS = 3.0
PEAK_BYTES = 64 * 1024 * 1024


def refused(load: Callable[[], object]) -> tuple[InputError, float, int]:
    """The InputError ``load`` raises, the seconds it took and its peak allocation."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(InputError) as info:
            load()
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return info.value, elapsed, peak


@pytest.mark.parametrize("name", sorted(HOSTILE_DOCUMENTS) + sorted(HOSTILE_BYTES))
def test_hostile_config_is_refused_with_a_line_quickly(tmp_path: Path, name: str) -> None:
    """Every hostile document is an InputError naming the file and a line, fast and small."""
    path = tmp_path / "auditor.yaml"
    if name in HOSTILE_DOCUMENTS:
        path.write_text(HOSTILE_DOCUMENTS[name], encoding="utf-8")
    else:
        path.write_bytes(HOSTILE_BYTES[name])
    error, elapsed, peak = refused(lambda: load_config(path))
    assert error.path == path
    assert error.line is not None
    assert elapsed < SECONDS
    assert peak < PEAK_BYTES
    assert "\n" not in str(error)


@pytest.mark.parametrize("where", ["config", "waivers"])
def test_alias_bomb_is_refused_at_its_line(tmp_path: Path, where: str) -> None:
    """The 400-byte billion-laughs document stops where it passes the value limit."""
    path = tmp_path / f"{where}.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    load = (lambda: load_config(path)) if where == "config" else (lambda: load_waivers(path))
    error, elapsed, peak = refused(load)
    # Lines a..e hold 9 + 81 + ... + 59,049 values; f's 531,441 pass the limit.
    assert error.line == 6
    assert "more than 400,000 values" in error.message
    assert elapsed < SECONDS
    assert peak < PEAK_BYTES


def test_recursive_alias_is_named(tmp_path: Path) -> None:
    """An alias inside the value it names is refused, not walked until RecursionError."""
    path = tmp_path / "auditor.yaml"
    path.write_text("version: 1\n\ntenants: &t\n  - *t\n", encoding="utf-8")
    error, _, _ = refused(lambda: load_config(path))
    assert error.line == 4
    assert "recursive alias" in error.message


@pytest.mark.parametrize("depth", [65, 50_000])
def test_deep_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    """Nesting past the limit is an error at its line, not a RecursionError."""
    path = tmp_path / "auditor.yaml"
    path.write_text("version: 1\ntenants: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    error, _, _ = refused(lambda: load_config(path))
    assert error.line == 2
    assert "nest" in error.message


def test_control_character_is_named_with_line_and_column(tmp_path: Path) -> None:
    """A NUL byte is reported by line and column, instead of PyYAML's ReaderError."""
    path = tmp_path / "auditor.yaml"
    path.write_text(VALID_TENANT.replace("acme\n", "ac\x00me\n", 1), encoding="utf-8")
    error, _, _ = refused(lambda: load_config(path))
    assert (error.line, error.message) == (
        3, "control character U+0000 at column 11 is not allowed in YAML: remove it"
    )


@pytest.mark.parametrize(
    "name",
    [
        "/dev/zero",
        "/dev/urandom",
        "a FIFO with no writer",
        "a directory",
        "a file over the size limit",
        "a missing file",
    ],
)
def test_non_regular_or_huge_file_is_refused_without_reading_it(
    tmp_path: Path, name: str
) -> None:
    """Devices, a FIFO (which would block open), folders and huge files end at once."""
    path = hostile_files(tmp_path, yamlsource.MAX_BYTES)[name]
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_config(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)
        else:
            outcome.append(None)

    # A thread, so that a loader that blocks on the FIFO fails the test instead of
    # hanging the session.
    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(SECONDS)
    assert not worker.is_alive(), f"loading {name} blocked"
    (error,) = outcome
    assert isinstance(error, InputError)
    assert error.path == path
    assert "Traceback" not in str(error)


def test_cli_prints_one_line_and_exits_2_for_an_alias_bomb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`auditor audit` on a bomb config exits 2 with one stderr line naming file and line."""
    path = tmp_path / "auditor.yaml"
    path.write_text(HOSTILE_DOCUMENTS["alias bomb in a valid config"], encoding="utf-8")
    code = main(["audit", "--all", "--config", str(path), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.count("\n") == 1
    assert err.startswith(f"auditor: {path}, line ")
    assert not (tmp_path / "out").exists()


def test_a_large_honest_config_is_within_the_limits(tmp_path: Path) -> None:
    """2,000 tenants (about 600 kB) load: the limits leave room for a real fleet."""
    tenant = VALID_TENANT.split("tenants:\n", 1)[1]
    body = "".join(tenant.replace("acme", f"t{i}") for i in range(2000))
    path = tmp_path / "auditor.yaml"
    path.write_text("version: 1\ntenants:\n" + body, encoding="utf-8")
    config = load_config(path)
    assert len(config.tenants) == 2000
    assert config.tenants[-1].id == "t1999"
