"""Engines and transactions: SQLite set up for a store, PostgreSQL through psycopg 3.

SQLite: foreign keys on (per connection, SQLite's default is off), WAL journal (readers
never block the writer), a busy timeout, and SQLAlchemy (not the sqlite3 module) emits
``BEGIN``: plain ``BEGIN`` for reads, ``BEGIN IMMEDIATE`` for writes, so a writer takes
the write lock up front and waits its turn instead of failing half-way with "database is
locked" when it upgrades a read lock.

PostgreSQL: every write transaction first takes one transaction-scoped advisory lock, so
writers (two overlapping runs, a migration) are serialized and release it on commit,
rollback, or when a killed client's connection drops.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from auditor.redact import redact_url
from auditor.store.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Iterator

BUSY_TIMEOUT_SECONDS = 30
# pg_advisory_xact_lock key of the store's writers: "auditor" in ASCII.
PG_WRITE_LOCK = 0x61756469746F72
_WRITE = "auditor_store_write"


def normalize_url(url: str) -> URL:
    """The URL to connect to: ``postgresql://`` means psycopg 3 (psycopg2 is not used)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str) -> Engine:
    """An engine for the store at ``url``; an SQLite file's folder is created."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        _prepare_file(Path(database), url)
    connect_args: dict[str, Any] = {}
    if "timeout" not in url.query:
        connect_args["timeout"] = BUSY_TIMEOUT_SECONDS
    engine = create_engine(url, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:  # noqa: ANN401 - sqlite3.Connection
        # Let SQLAlchemy emit BEGIN (see _on_begin) instead of sqlite3's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _use_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _prepare_file(database: Path, url: URL) -> None:
    """Make the SQLite file's folder and the file, or say in one line why they cannot be.

    Opened here rather than left to SQLite, whose "unable to open database file" names
    neither the path nor the reason (a folder that is a file, no permission).
    """
    shown = redact_url(url.render_as_string(hide_password=False))
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        # An empty file is a valid empty database; 0600: run history is not for others.
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        if isinstance(exc, (NotADirectoryError, FileExistsError)):
            why = "a part of its folder path is a file, not a folder"
        elif isinstance(exc, IsADirectoryError):
            why = "it is a folder; name a database file in it"
        elif isinstance(exc, OSError) and exc.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
            why = f"no permission to write there ({exc.strerror})"
        else:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(
            f"cannot open the store {shown}: {why}; fix the config's store: URL or the "
            "folder's permissions"
        ) from None


def _use_wal(cursor: Any) -> None:  # noqa: ANN401 - sqlite3.Cursor
    """Switch the file to WAL journaling (persistent: a no-op once done).

    The switch needs the file to itself, and SQLite does not apply the busy timeout to
    it: on a fresh file that several connections open at once it fails at once with
    "database is locked" (seen under load in the concurrent-open test). Retry until the
    busy timeout instead.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
        else:
            return


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Session]:
    """One database transaction as an ORM session: committed on success, else rolled back.

    ``write=True`` serializes against the store's other writers (see the module doc).
    """
    with engine.connect() as conn:
        if write:
            conn.execution_options(**{_WRITE: True})
        with conn.begin():
            if write and conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})
            with Session(bind=conn, autoflush=True, expire_on_commit=False) as session:
                yield session
                session.flush()
