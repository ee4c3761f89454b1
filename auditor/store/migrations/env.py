"""Alembic's environment: migrate the connection ``open_store`` hands over, or a URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from auditor.store.schema import Base

config = context.config


def _configure(**kwargs: Any) -> None:  # noqa: ANN401 - context.configure's own options
    context.configure(
        target_metadata=Base.metadata, render_as_batch=True, compare_type=True, **kwargs
    )


def _run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # open_store's own connection, already in a locked transaction.
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: use alembic_config(url)")
    if context.is_offline_mode():
        _configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


_run()
