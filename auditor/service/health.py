"""Is the nightly audit happening? The verdict ``/healthz`` serves, as pure logic.

Healthy while no scheduled slot has gone by without a successful run after it, allowing
each slot ``grace`` for its run to start and finish. Concretely: take the reference time,
the last success or the service's start-up if later (a service just started owes nothing
for slots before it existed); the first slot after it is *due*; unhealthy once
``due + grace`` has passed. So a run that failed, a replica that never got the slot's run
done, or a scheduler that stopped firing all turn unhealthy, one grace after the slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from auditor.store.lifecycle import rfc3339

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

DEFAULT_GRACE = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class Health:
    """The verdict, and the reasons for it (the JSON body of ``/healthz``)."""

    healthy: bool
    reason: str
    last_success: datetime | None
    due_slot: datetime | None
    deadline: datetime | None

    @property
    def status_code(self) -> int:
        """200 when healthy, 503 when the audit is overdue."""
        return 200 if self.healthy else 503

    def to_jsonable(self) -> dict[str, Any]:
        """The body of ``/healthz``."""
        return {
            "status": "ok" if self.healthy else "overdue",
            "reason": self.reason,
            "last_success": rfc3339(self.last_success),
            "due_slot": rfc3339(self.due_slot),
            "deadline": rfc3339(self.deadline),
        }


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When runs are due: the schedule's trigger, the start-up time, and each run's grace."""

    trigger: BaseTrigger
    started_at: datetime
    grace: timedelta = DEFAULT_GRACE

    def check(self, last_success: datetime | None, now: datetime | None = None) -> Health:
        """The verdict at ``now`` (default: the clock) given the last successful run."""
        at = now or datetime.now(UTC)
        reference = self.started_at
        if last_success is not None and last_success > reference:
            reference = last_success
        due: datetime | None = self.trigger.get_next_fire_time(None, reference)
        if due is None:
            return Health(
                healthy=True, reason="no scheduled run is due", last_success=last_success,
                due_slot=None, deadline=None,
            )
        deadline = due + self.grace
        if at < deadline:
            if at < due:
                reason = f"next scheduled run at {rfc3339(due)}"
            else:
                reason = (
                    f"the run scheduled at {rfc3339(due)} is under way or starting; "
                    f"it is overdue after {rfc3339(deadline)}"
                )
            return Health(
                healthy=True, reason=reason, last_success=last_success, due_slot=due,
                deadline=deadline,
            )
        since = "since start-up" if last_success is None else f"since {rfc3339(last_success)}"
        return Health(
            healthy=False,
            reason=(
                f"no successful audit {since}: the run scheduled at {rfc3339(due)} did not "
                f"succeed within the grace of {_minutes(self.grace)} (deadline "
                f"{rfc3339(deadline)}); see the service's log"
            ),
            last_success=last_success,
            due_slot=due,
            deadline=deadline,
        )


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f} min"
