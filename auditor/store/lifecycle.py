"""A finding's lifecycle across runs: pure functions, no database.

The lead computes the lifecycle shown in the reports with :func:`lifecycle_of` before the
run is saved; :meth:`auditor.store.Store.save_run` moves the stored state forward with
:func:`next_state`, the same rules, so what the report says and what the store keeps
agree. ``seen_at`` is always the run's ``started_at``.

=========  ============================  ============  ========================
result     prior finding                 lifecycle     stored state afterwards
=========  ============================  ============  ========================
fail       none                          ``new``       open, first = last = run
fail       open                          ``persisting``  open, last = run
fail       closed (resolved before)      ``regressed``   open again, last = run
pass       open                          ``resolved``    closed, resolved_at = run
pass       none or closed                None          unchanged
error /    anything                      None          unchanged: nothing was
not_eval.                                              learnt about the finding
=========  ============================  ============  ========================

A regressed finding keeps its original ``first_seen``: it is the same finding (same
fingerprint) coming back, and ``regressed`` already says that it had gone away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NamedTuple

from auditor.results import Lifecycle, ResultStatus


@dataclass(frozen=True, slots=True)
class FindingState:
    """What the store knows about one finding before a run (times are aware UTC)."""

    fingerprint: str
    rule_id: str
    subject: str | None
    open: bool
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None


class LifecycleView(NamedTuple):
    """A result's place in its finding's history; all three are None when none applies."""

    lifecycle: Lifecycle | None
    first_seen: datetime | None
    last_seen: datetime | None

    def result_fields(self) -> dict[str, str | None]:
        """The ``RuleResult`` fields (``lifecycle``, ``first_seen``, ``last_seen``) as text.

        Use as ``result.model_copy(update={**view.result_fields(), "fingerprint": fp})``.
        """
        return {
            "lifecycle": self.lifecycle,
            "first_seen": rfc3339(self.first_seen),
            "last_seen": rfc3339(self.last_seen),
        }


_NO_LIFECYCLE = LifecycleView(None, None, None)


def rfc3339(moment: datetime | None) -> str | None:
    """``2025-01-01T00:00:00Z`` (microseconds kept only when there are any)."""
    if moment is None:
        return None
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def lifecycle_of(
    status: ResultStatus, prior: FindingState | None, *, seen_at: datetime
) -> LifecycleView:
    """The lifecycle of a result with ``status`` given the finding's ``prior`` state."""
    seen_at = as_utc(seen_at)
    if status is ResultStatus.FAIL:
        if prior is None:
            return LifecycleView("new", seen_at, seen_at)
        return LifecycleView("persisting" if prior.open else "regressed", prior.first_seen, seen_at)
    if status is ResultStatus.PASS and prior is not None and prior.open:
        return LifecycleView("resolved", prior.first_seen, prior.last_seen)
    return _NO_LIFECYCLE


def next_state(  # noqa: PLR0913 - a finding's identity plus the verdict that moves it
    prior: FindingState | None,
    status: ResultStatus,
    *,
    fingerprint: str,
    rule_id: str,
    subject: str | None,
    seen_at: datetime,
) -> FindingState | None:
    """The finding's state after a result with ``status``; None: no finding (yet)."""
    seen_at = as_utc(seen_at)
    if status is ResultStatus.FAIL:
        if prior is None:
            return FindingState(fingerprint, rule_id, subject, True, seen_at, seen_at)  # noqa: FBT003
        return replace(prior, open=True, last_seen=seen_at, resolved_at=None)
    if status is ResultStatus.PASS and prior is not None and prior.open:
        return replace(prior, open=False, resolved_at=seen_at)
    return prior


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused (its zone would be a guess)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; the store keeps aware UTC times")
    return moment.astimezone(UTC)
