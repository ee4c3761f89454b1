"""Where the auditor keeps its local state, derived from the config's ``store:`` URL."""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from auditor.config import DEFAULT_STORE
from auditor.errors import InputError
from auditor.yamlsource import read_regular_file

_SQLITE_PREFIX = "sqlite:///"
FINGERPRINT_KEY_ENV = "AUDITOR_FINGERPRINT_KEY"
MIN_KEY_BYTES = 16
_KEY_BYTES = 32
_KEY_FILE_MAX = 4096  # a key is 64 hex digits; anything much bigger is the wrong file
# What every message about a bad key file says: deleting it is safe but visible.
_NEW_KEY = (
    "delete it to make a new key (every secret then shows as rotated once in drift), "
    "or restore the old file"
)


def state_dir(store_url: str = DEFAULT_STORE) -> Path:
    """The folder beside an SQLite store (or ``.auditor/`` for a server database)."""
    if store_url.startswith(_SQLITE_PREFIX):
        return Path(store_url.removeprefix(_SQLITE_PREFIX)).parent
    return Path(".auditor")


def fingerprint_key_path(store_url: str = DEFAULT_STORE) -> Path:
    """The installation's secret-fingerprint key: beside the store, never inside it."""
    return state_dir(store_url) / "fingerprint.key"


def installation_key(key_file: Path) -> bytes:
    """The fingerprint key: ``$AUDITOR_FINGERPRINT_KEY``, else ``key_file`` (made if new).

    An unusable key is an :class:`InputError` (exit 2) naming the variable or the file
    and what to do: a variable under 16 bytes, a file that is not hex, is empty, is a
    folder or cannot be read or created. Nothing is overwritten: a damaged key file is
    the user's to replace, because a new key changes every stored fingerprint.
    """
    from_env = os.environ.get(FINGERPRINT_KEY_ENV)
    if from_env:  # set and not empty (an empty variable reads as unset, as before)
        key = from_env.encode()
        if len(key) < MIN_KEY_BYTES:
            raise InputError(
                FINGERPRINT_KEY_ENV, None,
                f"is {len(key)} bytes; it must be at least {MIN_KEY_BYTES} (for example "
                "the output of `openssl rand -hex 32`), or unset it to use a key file",
            )
        return key
    if key_file.exists() or key_file.is_symlink():
        return _read_key(key_file)
    return _create_key(key_file)


def _read_key(key_file: Path) -> bytes:
    data = read_regular_file(key_file, _KEY_FILE_MAX)
    text = data.decode("ascii", errors="replace").strip()
    if not text or any(c not in string.hexdigits for c in text) or len(text) % 2:
        raise InputError(key_file, 1, f"is not a hex fingerprint key: {_NEW_KEY}")
    key = bytes.fromhex(text)
    if len(key) < MIN_KEY_BYTES:
        raise InputError(
            key_file, 1, f"holds {len(key)} bytes; a fingerprint key has at least "
            f"{MIN_KEY_BYTES}: {_NEW_KEY}",
        )
    return key


def _create_key(key_file: Path) -> bytes:
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: the key never exists world-readable.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex())
    except OSError as exc:
        raise InputError(
            key_file, None,
            f"cannot create the fingerprint key here ({exc.strerror or exc}): the store's "
            f"folder must be a writable folder, or set {FINGERPRINT_KEY_ENV}",
        ) from None
    return key
