"""Where the auditor keeps its local state, derived from the config's ``store:`` URL."""

from __future__ import annotations

from pathlib import Path

from auditor.config import DEFAULT_STORE

_SQLITE_PREFIX = "sqlite:///"


def state_dir(store_url: str = DEFAULT_STORE) -> Path:
    """The folder beside an SQLite store (or ``.auditor/`` for a server database)."""
    if store_url.startswith(_SQLITE_PREFIX):
        return Path(store_url.removeprefix(_SQLITE_PREFIX)).parent
    return Path(".auditor")


def fingerprint_key_path(store_url: str = DEFAULT_STORE) -> Path:
    """The installation's secret-fingerprint key: beside the store, never inside it."""
    return state_dir(store_url) / "fingerprint.key"
