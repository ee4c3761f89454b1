"""What the store raises, so callers can tell a missing run from a broken database."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot do what was asked (its message says why and what to do)."""


class NoRunRecorded(StoreError, LookupError):  # noqa: N818 - reads as the situation it names
    """The tenant has no recorded run (a baseline needs one: audit the tenant first)."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        super().__init__(
            f"tenant {tenant_id!r} has no recorded run in the store: audit it first "
            f"(auditor audit --tenant {tenant_id}), then accept its baseline"
        )


class UnknownRun(StoreError, LookupError):  # noqa: N818 - reads as the situation it names
    """No run with this id is stored (never recorded, or pruned)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id!r} in the store (never recorded, or pruned)")


class RunAlreadyStored(StoreError, ValueError):  # noqa: N818 - reads as the situation it names
    """A run with this id was saved before; runs are immutable once saved."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id!r} is already in the store; a run is saved once")
