"""Operators on secrets: compared by SHA-256 digest in memory, never shown.

They look only at ``SecretRef.sha256`` and never put a digest (or anything derived from
it) in a message, an expected value or an actual value.
"""

from __future__ import annotations

import hmac

from auditor.rules.operators.base import FAIL, NOT_EVALUATED, PASS, Check, register
from auditor.rules.outcome import Verdict
from auditor.snapshot import SecretRef


def _digest(side: str, ref: object) -> str | Verdict:
    """The in-memory digest of a secret, or why it cannot be compared (never the digest)."""
    if ref is None:
        return Verdict(FAIL, f"{side} is missing", "missing")
    if not isinstance(ref, SecretRef):
        return Verdict(FAIL, f"{side} is not a secret", "not a secret")
    if ref.masked:
        message = (
            f"{side} is masked by Okta (only part of the secret is returned), so it cannot "
            "be compared"
        )
        return Verdict(NOT_EVALUATED, message, "masked")
    if ref.sha256 is None:
        return Verdict(NOT_EVALUATED, f"{side} was not read in this run", "not read")
    return ref.sha256


def _digest_view(check: Check) -> object:
    source = check.operand.source if check.operand and check.operand.source else "the operand"
    return f"the same secret as {source}"


@register("digest_equals", expected=_digest_view, operand="any")
def _digest_equals(check: Check) -> Verdict:
    """Two secrets are equal (SHA-256 digests compared in memory, never shown)."""
    theirs = check.operand.source if check.operand and check.operand.source else "the secret"
    mine = check.subject or "the secret"
    my_digest = _digest(mine, check.actual)
    if isinstance(my_digest, Verdict):
        return my_digest
    their_digest = _digest(theirs, check.want)
    if isinstance(their_digest, Verdict):
        return their_digest
    if hmac.compare_digest(my_digest, their_digest):
        return Verdict(PASS, f"{mine} matches {theirs}", "same")
    return Verdict(FAIL, f"{mine} differs from {theirs}", "different")


@register("digest_in", expected=_digest_view, operand="any")
def _digest_in(check: Check) -> Verdict:
    """The secret equals one of a list of secrets (digests, never shown)."""
    mine = check.subject or "the secret"
    my_digest = _digest(mine, check.actual)
    if isinstance(my_digest, Verdict):
        return my_digest
    theirs = check.operand.source if check.operand and check.operand.source else "the secrets"
    candidates = check.want if isinstance(check.want, list) else []
    if not candidates:
        return Verdict(FAIL, f"there is no secret in {theirs} to compare {mine} with", "none")
    unknown: list[Verdict] = []
    for candidate in candidates:
        their_digest = _digest(theirs, candidate)
        if isinstance(their_digest, Verdict):
            unknown.append(their_digest)
        elif hmac.compare_digest(my_digest, their_digest):
            return Verdict(PASS, f"{mine} matches one of {theirs}", "same")
    if any(verdict.status is NOT_EVALUATED for verdict in unknown):
        message = f"{mine} matches none of the readable secrets in {theirs}; some are masked"
        return Verdict(NOT_EVALUATED, message, "masked")
    count = len(candidates)
    return Verdict(FAIL, f"{mine} matches none of the {count} secrets in {theirs}", "different")
