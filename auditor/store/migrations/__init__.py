r"""Alembic migrations of the store, shipped inside the package and run by ``open_store``.

There is no ``alembic.ini``: :func:`auditor.store.migrate.alembic_config` builds the
configuration. To write the next revision after changing ``auditor/store/schema.py``::

    .venv/bin/python -c "from alembic import command; \\
        from auditor.store.migrate import alembic_config; \\
        command.revision(alembic_config('sqlite:///dev.db'), 'what changed', \\
                         autogenerate=True, rev_id='0002')"

(``dev.db`` must be at the current head first: ``open_store('sqlite:///dev.db')``.)
Rename the new file ``rNNNN_<slug>.py``, review it, and keep SQLite in mind: alter
tables inside ``op.batch_alter_table`` (autogenerate does so: ``render_as_batch``).
"""
