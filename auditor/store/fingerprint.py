"""The stable identity of a finding: which tenant, which rule, and (optionally) what.

A fingerprint must not change between runs, releases or machines, because the store
keys a finding's history (first seen, resolved, regressed) and waivers on it. It is
``sha256`` over a canonical JSON array ``[tenant_id, rule_id, subject]`` (no spaces,
ASCII-escaped), so no choice of separator can make two different triples collide, and
it is shortened to its first 16 hex digits (64 bits: ample within one installation).
Nothing secret goes in: a subject names an object (a redirect URI, a scope), never a
value such as a client secret.
"""

from __future__ import annotations

import hashlib
import json

FINGERPRINT_HEX_DIGITS = 16


def fingerprint(tenant_id: str, rule_id: str, subject: str | None = None) -> str:
    """The finding's fingerprint: 16 lower-case hex digits, the same on every run."""
    canonical = json.dumps([tenant_id, rule_id, subject], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:FINGERPRINT_HEX_DIGITS]
