"""The HTML report's trend strip: each tenant's last 30 runs, read from a real store."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from markupsafe import escape
from report_builders import failing, run_of, tenant
from sqlalchemy import create_engine

from auditor.audit import run_audit
from auditor.collect.secrets import SecretHasher
from auditor.report import ReportFormat, render
from auditor.report.html_report import templates_dir, trend_view
from auditor.results import (
    ResultStatus,
    RunInfo,
    RunReport,
    TenantError,
    TenantReport,
    TenantStatus,
)
from auditor.rules import load_rule_pack
from auditor.store import TREND_RUNS, Store, TrendPoint, open_store, tenant_trends
from auditor.store.engine import normalize_url

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

EPOCH = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
POSTGRES_ENV = "AUDITOR_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store: an SQLite file, or a fresh schema on the test PostgreSQL server."""
    if request.param == "sqlite":
        with open_store(f"sqlite:///{tmp_path / 'state.db'}") as opened:
            yield opened
        return
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"set {POSTGRES_ENV} to run the trend query on PostgreSQL")
    admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    schema = f"trend_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    scoped = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        with open_store(scoped.render_as_string(hide_password=False)) as opened:
            yield opened
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _tenant_in(tenant_id: str, outcome: str) -> TenantReport:
    if outcome == "bare":  # no results: keeps big fleets quick to save
        return TenantReport(tenant_id=tenant_id, status=TenantStatus.PASS, results=[])
    if outcome == "fail":
        return tenant(tenant_id, failing("okta_app_assigned"))
    if outcome == "error":
        return tenant(tenant_id, errors=[TenantError(source="okta", message="timeout")])
    return tenant(tenant_id)


def _save(store: Store, run_id: str, day: int, outcomes: dict[str, str]) -> None:
    started = EPOCH + timedelta(days=day)
    report = run_of(*(_tenant_in(t, o) for t, o in outcomes.items()))
    report = report.model_copy(
        update={
            "run": RunInfo(
                id=run_id,
                started_at=_stamp(started),
                finished_at=_stamp(started + timedelta(minutes=3)),
            )
        }
    )
    store.save_run(report, {t: {"tenant_id": t} for t in outcomes})


def _outcome(day: int) -> str:
    return "error" if day % 7 == 6 else "fail" if day % 3 == 0 else "pass"


def test_trend_is_each_tenants_last_30_runs_oldest_first(store: Store) -> None:
    """35 nightly runs: acme gets the last 30 in order; a tenant in 3 runs gets 3; none gets []."""
    for day in range(35):
        outcomes = {"acme": _outcome(day)}
        if day >= 32:
            outcomes["globex"] = "pass"
        _save(store, f"run-{day:02d}", day, outcomes)

    trends = tenant_trends(store, ["acme", "globex", "initech"])

    assert [p.run_id for p in trends["acme"]] == [f"run-{d:02d}" for d in range(5, 35)]
    assert [p.status.value for p in trends["acme"]] == [_outcome(d) for d in range(5, 35)]
    assert trends["acme"][0].started_at == EPOCH + timedelta(days=5)
    assert [p.run_id for p in trends["globex"]] == ["run-32", "run-33", "run-34"]
    assert trends["initech"] == []
    assert len(trends["acme"]) == TREND_RUNS


def test_trend_until_leaves_out_later_runs(store: Store) -> None:
    """A report rebuilt for an older run shows the trend as it was then."""
    for day in range(5):
        _save(store, f"run-{day}", day, {"acme": "pass"})
    trends = tenant_trends(store, ["acme"], until=EPOCH + timedelta(days=2), limit=2)
    assert [p.run_id for p in trends["acme"]] == ["run-1", "run-2"]
    with pytest.raises(ValueError, match="at least 1"):
        tenant_trends(store, ["acme"], limit=0)


def test_trend_reads_a_fleet_larger_than_one_query_batch(store: Store) -> None:
    """1,200 tenants (three batches of ids) each get their own runs back."""
    tenants = [f"t{i:04d}" for i in range(1200)]
    for day in range(2):
        _save(store, f"run-{day}", day, dict.fromkeys(tenants, "bare"))
    trends = tenant_trends(store, tenants)
    assert set(trends) == set(tenants)
    assert {len(points) for points in trends.values()} == {2}


def test_report_shows_the_stores_trend_as_an_inline_svg(store: Store) -> None:
    """The HTML from a real store's trend: one strip per tenant, its label counting runs."""
    for day in range(35):
        _save(store, f"run-{day:02d}", day, {"acme": _outcome(day), "globex": "pass"})
    report = run_of(tenant("acme"), tenant("globex"), tenant("initech"))
    trends = tenant_trends(store, [t.tenant_id for t in report.tenants])
    html = render(ReportFormat.HTML, report, trends=trends).decode()

    counts = [_outcome(d) for d in range(5, 35)]
    label = (
        f"Last 30 runs (2026-10-06 to 2026-11-04, newest on the right): "
        f"{counts.count('pass')} pass, {counts.count('fail')} fail, "
        f"{counts.count('error')} error"
    )
    acme = html[html.index('data-tenant="acme"') :]
    acme = acme[: acme.index("</summary>")]
    assert '<svg class="tr" viewBox="0 0 178 16" role="img">' in acme
    assert f"<title>{label}</title>" in acme
    bars = re.findall(r"M(\d+) (?:0v16|9v7)", acme)
    assert len(bars) == 30
    assert "Last 30 runs" in html[html.index('data-tenant="globex"') :]
    # initech was never recorded: no strip, and the page still renders.
    initech = html[html.index('data-tenant="initech"') :]
    assert "<svg" not in initech[: initech.index("</summary>")]


def test_report_without_a_store_has_no_trend() -> None:
    """Without trends the page renders exactly as before: no SVG at all."""
    html = render(ReportFormat.HTML, run_of(tenant("acme"))).decode()
    assert "<svg" not in html


def test_trend_bars_are_right_aligned_and_sized_by_status() -> None:
    """Three runs fill the last three slots; pass bars are short, fail and error bars full."""
    points = [
        TrendPoint("r1", EPOCH, "pass"),  # type: ignore[arg-type] - a stored status string
        TrendPoint("r2", EPOCH + timedelta(days=1), ResultStatus.FAIL),  # type: ignore[arg-type]
        TrendPoint("r3", EPOCH + timedelta(days=1), "error"),  # type: ignore[arg-type]
    ]
    view = trend_view(points)
    assert view is not None
    assert view.paths == [
        ("pass", "M164 9v7"),
        ("fail", "M170 0v16"),
        ("error", "M176 0v16"),
    ]
    assert view.label == (
        "Last 3 runs (2026-10-01 to 2026-10-02, newest on the right): 1 pass, 1 fail, 1 error"
    )
    assert trend_view([]) is None
    # The strip's box in report.css fits the 30 slots drawn.
    full = trend_view([points[0]] * 30)
    assert full is not None
    css = (templates_dir() / "report.css").read_text("utf-8")
    assert f"width:{full.width}px;height:{full.height}px" in css


def test_hostile_tenant_ids_stay_escaped_next_to_their_trend() -> None:
    """A tenant id carrying markup is escaped in the summary that holds its strip."""
    evil = '"><svg onload=alert(1)>'
    point = TrendPoint("r1", EPOCH, "fail")  # type: ignore[arg-type] - a stored status string
    html = render(
        ReportFormat.HTML, run_of(tenant(evil)), trends={evil: [point]}
    ).decode()
    assert "<svg onload" not in html
    assert str(escape(evil)) in html
    assert html.count('<svg class="tr"') == 1


def test_a_real_runs_times_carry_milliseconds() -> None:
    """Run start and end carry milliseconds, so a sub-second run's header shows two times."""
    pack = load_rule_pack()
    run = asyncio.run(
        run_audit([], "rapticore.io", pack, SecretHasher(b"k" * 32), concurrency=1)
    )
    info = run.report.run
    for stamp in (info.started_at, info.finished_at):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    assert info.finished_at >= info.started_at
    assert isinstance(RunReport.model_validate(run.report.model_dump()), RunReport)

