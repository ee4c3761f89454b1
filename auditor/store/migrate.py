"""Bring a store's schema to the package's head revision (Alembic, no alembic.ini)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from auditor.store.engine import transaction
from auditor.store.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic's configuration for the store's migrations, at a URL or on a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation: a literal % (in a password) must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    """The revisions the package's migrations end at (one, unless branches are open)."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The revisions the database is at (empty for a fresh database)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def upgrade_to_head(engine: Engine) -> bool:
    """Migrate to head; True when something was applied, False when already there."""
    heads = head_revisions()
    with transaction(engine, write=False) as session:
        if current_revisions(session.connection()) == heads:
            return False
    # Writers are serialized: a second process that raced us here finds the work done.
    with transaction(engine, write=True) as session:
        connection = session.connection()
        current = current_revisions(connection)
        if current == heads:
            return False
        known = {
            rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()
        }
        if not current <= known:
            raise StoreError(
                f"the store's schema is at revision {', '.join(sorted(current))}, which this "
                "version of the auditor does not know: it was written by a newer auditor"
            )
        command.upgrade(alembic_config(connection=connection), "head")
    return True
