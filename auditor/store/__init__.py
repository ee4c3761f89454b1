"""The run history (issue 4): what every run saw and concluded, kept in a database.

``open_store(url)`` opens the store at the config's ``store:`` URL (an SQLite file by
default, PostgreSQL through psycopg 3), migrating its schema first. Everything else is a
method of :class:`Store`; :func:`lifecycle_of` and :func:`fingerprint` are pure
functions the run pipeline uses before saving, so the reports can show them, and
:func:`tenant_trends` reads each tenant's recent outcomes for the report's trend strip.
:mod:`auditor.store.lease` keeps one replica per scheduled slot and one process per
tenant at a time (its functions are used as ``lease.acquire(...)``).
"""

from __future__ import annotations

from auditor.store.alerts import AlertStore
from auditor.store.errors import NoRunRecorded, RunAlreadyStored, StoreError, UnknownRun
from auditor.store.fingerprint import fingerprint
from auditor.store.lease import (
    Heartbeat,
    Lease,
    LeaseBusy,
    LeaseInfo,
    LeaseLost,
    LeaseState,
    new_holder,
    slot_lease_name,
    tenant_lease_name,
)
from auditor.store.lifecycle import FindingState, LifecycleView, lifecycle_of, rfc3339
from auditor.store.run_groups import (
    DamagedShardReport,
    GroupShard,
    ReportHead,
    RunGroupMismatch,
    RunGroups,
    ShardEntry,
    check_run_group,
)
from auditor.store.store import (
    Baseline,
    Store,
    StoredResult,
    StoredRun,
    open_store,
    parse_time,
)
from auditor.store.trend import TREND_RUNS, TrendPoint, tenant_trends

__all__ = [
    "TREND_RUNS",
    "AlertStore",
    "Baseline",
    "DamagedShardReport",
    "FindingState",
    "GroupShard",
    "Heartbeat",
    "Lease",
    "LeaseBusy",
    "LeaseInfo",
    "LeaseLost",
    "LeaseState",
    "LifecycleView",
    "NoRunRecorded",
    "ReportHead",
    "RunAlreadyStored",
    "RunGroupMismatch",
    "RunGroups",
    "ShardEntry",
    "Store",
    "StoreError",
    "StoredResult",
    "StoredRun",
    "TrendPoint",
    "UnknownRun",
    "check_run_group",
    "fingerprint",
    "lifecycle_of",
    "new_holder",
    "open_store",
    "parse_time",
    "rfc3339",
    "slot_lease_name",
    "tenant_lease_name",
    "tenant_trends",
]
