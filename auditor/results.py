"""Verdicts: what the rule engine says about a snapshot, and the run report around them.

These models are the JSON report's shape (CONTRACT section 4); reporters render them,
they never compute anything new.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class DriftEntry(Frozen):
    """One field that changed since the previous run or the approved baseline."""

    path: str
    before: JsonValue = None
    after: JsonValue = None
    against: Literal["previous", "baseline"]


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


class Summary(Frozen):
    """Tenant counts by verdict."""

    tenants: int
    passed: int
    failed: int
    errored: int


class RunReport(Frozen):
    """The whole ``report.json``."""

    schema_version: str = REPORT_SCHEMA_VERSION
    run: RunInfo
    summary: Summary
    tenants: list[TenantReport]
