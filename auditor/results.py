"""Verdicts: what the rule engine says about a snapshot, and the run report around them.

These models are the JSON report's shape (CONTRACT section 4); reporters render them,
they never compute anything new.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collections.abc import Sequence

REPORT_SCHEMA_VERSION = "1"

JsonValue = Any  # expected/actual: whatever JSON shows the difference best


class Frozen(BaseModel):
    """Immutable, and strict about field names."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    """How bad a failing rule is; ``--fail-on`` compares against this order."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: info=0 ... critical=4."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is ``other`` or worse."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class ResultStatus(StrEnum):
    """A rule's verdict for one tenant."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    ERROR = "error"
    NOT_EVALUATED = "not_evaluated"


class TenantStatus(StrEnum):
    """A tenant's overall verdict."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    ERROR = "error"


Lifecycle = Literal["new", "persisting", "resolved", "regressed"]


class WaiverNote(Frozen):
    """The waiver that covers a failing result: who accepted the risk, why, until when."""

    reason: str
    owner: str
    expires: str = Field(description="ISO date; the waiver stops applying after it.")
    expiring_soon: bool = False


class RuleResult(Frozen):
    """One rule's verdict for one tenant."""

    rule_id: str
    status: ResultStatus
    severity: Severity
    message: str | None = None
    expected: JsonValue = None
    actual: JsonValue = None
    remediation: str | None = None
    title: str | None = None
    # Memory across runs (filled in when a store is used):
    fingerprint: str | None = Field(
        default=None, description="Stable id of the finding: tenant + rule + subject."
    )
    lifecycle: Lifecycle | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    waiver: WaiverNote | None = None

    @property
    def counts(self) -> bool:
        """A failure that counts for the exit code and alerts: failing and not waived."""
        return self.status is ResultStatus.FAIL and self.waiver is None


class DriftEntry(Frozen):
    """One field that changed since the previous run or the approved baseline."""

    path: str
    before: JsonValue = None
    after: JsonValue = None
    against: Literal["previous", "baseline"]
    # For lists diffed as sets (and keyed lists' members): what appeared / disappeared,
    # so readers need not compare two full lists. None where the field is not such a list.
    added: list[JsonValue] | None = None
    removed: list[JsonValue] | None = None


class TenantError(Frozen):
    """Something about the tenant that could finally not be collected."""

    source: Literal["okta", "cognito", "discovery"]
    message: str


class TenantReport(Frozen):
    """Everything the report says about one tenant."""

    tenant_id: str
    status: TenantStatus
    results: list[RuleResult]
    drift: list[DriftEntry] = Field(default_factory=list)
    errors: list[TenantError] = Field(default_factory=list)


class RunInfo(Frozen):
    """The run this report is about."""

    id: str
    started_at: str
    finished_at: str
    trigger: Literal["manual", "schedule", "demo"] = "manual"


class WaiverIssue(Frozen):
    """A waiver that needs attention: stale (matches nothing) or expiring soon."""

    tenant: str
    rule: str
    subject: str | None = None
    owner: str
    expires: str
    problem: Literal["stale", "expiring", "expired"]


class Summary(Frozen):
    """Tenant counts by verdict."""

    tenants: int
    passed: int
    failed: int
    errored: int
    waived: int = Field(default=0, description="Failing results covered by a waiver.")


class RunReport(Frozen):
    """The whole ``report.json``."""

    schema_version: str = REPORT_SCHEMA_VERSION
    run: RunInfo
    summary: Summary
    tenants: list[TenantReport]
    waivers: list[WaiverIssue] = Field(default_factory=list)


class RunView(Protocol):
    """What every reader of a run report needs: a :class:`RunReport`, or a streamed one.

    A fleet's run is never whole in memory (:class:`auditor.streamed_report.StreamedReport`
    reads its tenants back one at a time); readers that only iterate ``tenants`` take
    this, so they serve both.
    """

    @property
    def schema_version(self) -> str:
        """``report.json``'s schema version."""
    @property
    def run(self) -> RunInfo:
        """The run."""
    @property
    def summary(self) -> Summary:
        """Tenant counts by verdict."""
    @property
    def tenants(self) -> Sequence[TenantReport]:
        """Every tenant's report, in report order (read them in one pass where you can)."""
    @property
    def waivers(self) -> Sequence[WaiverIssue]:
        """The waivers needing care."""
