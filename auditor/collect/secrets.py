"""Turning secret values into references that are safe to keep.

A client secret must never reach a report, a log line, the store or an alert, yet two
things need to know about it:

* the cross-half rule must know whether Cognito holds the same secret as Okta: it
  compares SHA-256 digests, kept in memory only (``SecretRef.sha256`` is never dumped);
* drift must know whether a secret changed between runs: it compares a *keyed*
  fingerprint (HMAC-SHA256 with this installation's key, truncated). Without the key the
  fingerprint says nothing about the secret, not even which other secrets equal it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import TYPE_CHECKING

from auditor.snapshot import SecretRef

if TYPE_CHECKING:
    from pathlib import Path

FINGERPRINT_KEY_ENV = "AUDITOR_FINGERPRINT_KEY"
_FINGERPRINT_HEX_CHARS = 24


def is_masked(value: str) -> bool:
    """Okta masks secrets it will not reveal: ``abc*****`` or ``abc...``."""
    return "*" in value or "..." in value


class SecretHasher:
    """Makes :class:`SecretRef` values with one installation's fingerprint key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the fingerprint key must be at least 16 bytes")
        self._key = key

    @classmethod
    def ephemeral(cls) -> SecretHasher:
        """A throw-away key: fingerprints are comparable only within this process."""
        return cls(secrets.token_bytes(32))

    @classmethod
    def for_installation(cls, key_file: Path) -> SecretHasher:
        """The key from ``$AUDITOR_FINGERPRINT_KEY``, else from ``key_file`` (made if new)."""
        from_env = os.environ.get(FINGERPRINT_KEY_ENV)
        if from_env:
            return cls(from_env.encode())
        if key_file.is_file():
            return cls(bytes.fromhex(key_file.read_text(encoding="ascii").strip()))
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        # Created 0600 from the start: the key never exists world-readable.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex())
        return cls(key)

    def ref(self, value: str) -> SecretRef:
        """A reference to ``value``: fingerprint and in-memory digest, or just 'masked'."""
        if is_masked(value):
            return SecretRef(masked=True)
        raw = value.encode()
        fingerprint = hmac.new(self._key, raw, hashlib.sha256).hexdigest()
        return SecretRef(
            fingerprint=fingerprint[:_FINGERPRINT_HEX_CHARS],
            sha256=hashlib.sha256(raw).hexdigest(),
        )
