"""Store fixtures: every store test runs on an SQLite file and, when configured, PostgreSQL.

PostgreSQL is the server ``.ci/postgres.sh`` starts; its URL comes from
``AUDITOR_TEST_POSTGRES_URL``. Each test gets its own schema (selected through the
connection's ``search_path``), dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine

from auditor.store import Store, open_store
from auditor.store.engine import normalize_url

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

POSTGRES_ENV = "AUDITOR_TEST_POSTGRES_URL"
POSTGRES_SKIP = f"set {POSTGRES_ENV} (see .ci/postgres.sh) to run the store tests on PostgreSQL"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | None]:
    """An engine on the test PostgreSQL database, or None when none is configured."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        yield None
        return
    engine = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin: Engine | None
) -> Iterator[str]:
    """A URL to an empty store: a file under tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'state.db'}"
        return
    if postgres_admin is None:
        pytest.skip(POSTGRES_SKIP)
    schema = f"store_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated, empty store."""
    opened = open_store(store_url)
    yield opened
    opened.close()
