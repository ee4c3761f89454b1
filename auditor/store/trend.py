"""Each tenant's recent outcomes (pass / fail / error), for the report's trend strip.

One read, whatever the fleet's size: a window function ranks each tenant's runs newest
first and keeps the last ``limit``, in batches of tenant ids small enough for any
driver's limit on bound parameters. Both SQLite (3.25+) and PostgreSQL run it as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from auditor.results import TenantStatus
from auditor.store.engine import transaction
from auditor.store.schema import TenantRunRow

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from auditor.store.store import Store

TREND_RUNS = 30
# SQLite allows 32,766 bound parameters (999 before 3.32); stay far below both.
_BATCH = 500


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One tenant's outcome in one run."""

    run_id: str
    started_at: datetime
    status: TenantStatus


def tenant_trends(
    store: Store,
    tenant_ids: Iterable[str],
    *,
    limit: int = TREND_RUNS,
    until: datetime | None = None,
) -> dict[str, list[TrendPoint]]:
    """The last ``limit`` recorded runs of each tenant, oldest first.

    ``until`` (aware) leaves out runs that started after it, so a report rebuilt for an
    older run shows the trend as it was then. A tenant with no recorded run maps to an
    empty list.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    wanted = list(dict.fromkeys(tenant_ids))
    trends: dict[str, list[TrendPoint]] = {tenant: [] for tenant in wanted}
    with transaction(store.engine, write=False) as session:
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            rank = (
                func.row_number()
                .over(
                    partition_by=TenantRunRow.tenant_id,
                    order_by=(TenantRunRow.started_at.desc(), TenantRunRow.run_seq.desc()),
                )
                .label("rank")
            )
            inner = select(
                TenantRunRow.tenant_id,
                TenantRunRow.run_id,
                TenantRunRow.started_at,
                TenantRunRow.run_seq,
                TenantRunRow.status,
                rank,
            ).where(TenantRunRow.tenant_id.in_(batch))
            if until is not None:
                inner = inner.where(TenantRunRow.started_at <= until)
            ranked = inner.subquery()
            rows = session.execute(
                select(ranked.c.tenant_id, ranked.c.run_id, ranked.c.started_at, ranked.c.status)
                .where(ranked.c.rank <= limit)
                .order_by(ranked.c.tenant_id, ranked.c.started_at, ranked.c.run_seq)
            )
            for tenant_id, run_id, started_at, status in rows:
                trends[tenant_id].append(TrendPoint(run_id, started_at, TenantStatus(status)))
    return trends
