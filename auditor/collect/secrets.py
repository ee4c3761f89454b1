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
import secrets
from typing import TYPE_CHECKING

from auditor.snapshot import SecretRef

if TYPE_CHECKING:
    from pathlib import Path

FINGERPRINT_KEY_ENV = "AUDITOR_FINGERPRINT_KEY"  # read by auditor.store_paths
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
        """The key from ``$AUDITOR_FINGERPRINT_KEY``, else from ``key_file`` (made if new).

        An unusable key is an InputError naming the variable or file (see
        :func:`auditor.store_paths.installation_key`).
        """
        from auditor.store_paths import installation_key  # noqa: PLC0415 - it imports config

        return cls(installation_key(key_file))

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
