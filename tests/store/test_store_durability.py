"""Migrations, SQLite settings, concurrent opens, and runs killed half-way (SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from store_builders import FAIL, PASS, at, run_report, snapshot, snapshots_for

from auditor.store import Store, fingerprint, open_store
from auditor.store.engine import make_engine, transaction
from auditor.store.migrate import current_revisions, head_revisions, upgrade_to_head
from auditor.store.schema import Base, ResultRow, RunRow, TenantRunRow

TABLES = {"alembic_version", "runs", "tenant_runs", "results", "findings", "baselines"}
TABLES |= {"alert_findings", "alert_tenant_errors", "alert_outbox"}  # issue 7: alerts
TABLES |= {"leases"}  # issue 8: one run per slot across replicas
TABLES |= {"run_group_shards"}  # issue 9: sharded fleet runs
CHILD = Path(__file__).with_name("hang_child.py")
FP = fingerprint("acme", "okta_app_active")


def test_migrations_create_the_schema_on_an_empty_file(tmp_path: Path) -> None:
    """open_store on an empty SQLite file (in a missing folder) creates every table."""
    path = tmp_path / "deep" / "er" / "state.db"
    path.parent.mkdir(parents=True)
    path.touch()
    store = open_store(f"sqlite:///{path}")
    try:
        with store.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == TABLES
            assert current_revisions(conn) == head_revisions() == {"0004"}
    finally:
        store.close()
    missing = tmp_path / "not" / "yet" / "state.db"
    open_store(f"sqlite:///{missing}").close()
    assert missing.is_file()


def test_migrated_schema_matches_the_models(store_url: str) -> None:
    """The migrations build exactly the tables, columns and indexes the models declare."""
    open_store(store_url).close()
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == TABLES
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_opening_twice_is_a_no_op(store_url: str) -> None:
    """A second open_store applies nothing and keeps what the store holds."""
    store = open_store(store_url)
    report = run_report("r1", at(0), {"acme": {}})
    store.save_run(report, snapshots_for(report))
    store.close()

    engine = make_engine(store_url)
    try:
        assert upgrade_to_head(engine) is False
    finally:
        engine.dispose()
    with open_store(store_url) as again:
        assert [r.id for r in again.runs()] == ["r1"]


def test_concurrent_opens_of_a_fresh_store(store_url: str) -> None:
    """Several processes' worth of open_store racing on a fresh store all succeed."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        stores = list(pool.map(lambda _: open_store(store_url), range(4)))
    try:
        with stores[0].engine.connect() as conn:
            assert current_revisions(conn) == head_revisions()
    finally:
        for store in stores:
            store.close()


def test_sqlite_store_settings(tmp_path: Path) -> None:
    """SQLite connections have foreign keys on, WAL journaling and a busy timeout."""
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def _run_child_until_it_hangs(store_url: str, tmp_path: Path, hang_at: str) -> None:
    report = run_report("killed", at(1), {"acme": {"okta_app_active": PASS}})
    payload = tmp_path / "payload.json"
    payload.write_text(
        json.dumps({"report": report.model_dump(mode="json"), "snapshots": snapshots_for(report)}),
        encoding="utf-8",
    )
    marker = tmp_path / "hanging"
    child = subprocess.Popen(  # noqa: S603 - our own script, our own interpreter
        [sys.executable, str(CHILD), store_url, str(payload), str(marker), hang_at],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            if child.poll() is not None:
                _, err = child.communicate()
                pytest.fail(f"the child ended before hanging: {err.decode(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail("the child never reached its hang point")
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL


def test_run_killed_while_saving_leaves_the_store_consistent(
    store_url: str, tmp_path: Path
) -> None:
    """A save_run SIGKILLed mid-transaction leaves no trace, and the next run saves."""
    with open_store(store_url) as store:
        first = run_report("first", at(0), {"acme": {"okta_app_active": FAIL}})
        store.save_run(first, snapshots_for(first, label="first"))
        findings = store.finding_states("acme")

    _run_child_until_it_hangs(store_url, tmp_path, "save_run")

    with open_store(store_url) as store:
        assert [r.id for r in store.runs()] == ["first"]
        assert store.latest_snapshot("acme") == snapshot("acme", "first")
        assert store.finding_states("acme") == findings
        _assert_counts(store, runs=1, tenant_runs=1, results=3)

        clean = run_report("clean", at(2), {"acme": {"okta_app_active": PASS}})
        store.save_run(clean, snapshots_for(clean, label="clean"))
        assert [r.id for r in store.runs()] == ["clean", "first"]
        assert store.finding_states("acme")[FP].resolved_at == at(2)
        assert store.results("acme", "clean")[0].lifecycle == "resolved"
        _assert_counts(store, runs=2, tenant_runs=2, results=6)


def test_open_killed_while_migrating_then_a_clean_open(store_url: str, tmp_path: Path) -> None:
    """open_store SIGKILLed inside the first migration leaves an empty store that migrates."""
    _run_child_until_it_hangs(store_url, tmp_path, "migration")

    with open_store(store_url) as store:
        with store.engine.connect() as conn:
            assert current_revisions(conn) == head_revisions()
        report = run_report("clean", at(2), {"acme": {"okta_app_active": FAIL}})
        store.save_run(report, snapshots_for(report))
        assert store.results("acme", "clean")[0].lifecycle == "new"


def _assert_counts(store: Store, *, runs: int, tenant_runs: int, results: int) -> None:
    with transaction(store.engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(RunRow)) == runs
        assert session.scalar(select(func.count()).select_from(TenantRunRow)) == tenant_runs
        assert session.scalar(select(func.count()).select_from(ResultRow)) == results
