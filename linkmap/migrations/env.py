"""Alembic environment of the link map (async).

The database URL is taken from, in order: ``config.attributes["url"]`` (set by
:mod:`linkmap.migrate`), ``-x url=...`` on the alembic command line, the environment
variable ``KEYLINK_LINKMAP__URL``, ``sqlalchemy.url`` in the ini file, and finally
``sqlite+aiosqlite:///keylink.db``. If ``config.attributes["connection"]`` holds a
SQLAlchemy ``Connection`` the migrations run on it (the caller commits); otherwise an
engine from :func:`linkmap.db.create_engine` is used and the migration commits.
"""

from __future__ import annotations

import asyncio
import os
import threading
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from linkmap.db import WRITE, create_engine
from linkmap.migrate import MIGRATION_LOCK_ID
from linkmap.models import Base

DEFAULT_URL = "sqlite+aiosqlite:///keylink.db"
ENV_VAR = "KEYLINK_LINKMAP__URL"

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """Return the URL to migrate, by the precedence in the module docstring."""
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or os.environ.get(ENV_VAR) or config.get_main_option("sqlalchemy.url")
    return str(url or DEFAULT_URL)


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    dialect = connection.dialect.name if connection is not None else None
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        compare_type=True,
        transactional_ddl=True,  # SQLite can roll DDL back too: a failed revision leaves no trace
        # SQLite cannot ALTER most things; later revisions get copy-and-move batches.
        render_as_batch=dialect == "sqlite" or (url or "").startswith("sqlite"),
        literal_binds=connection is None,
    )


def do_run_migrations(connection: Connection) -> None:
    """Run the pending migrations on ``connection`` inside one transaction. Concurrent
    runs (N replicas migrating on start) serialise: on PostgreSQL through a transaction-
    scoped advisory lock, on SQLite through the write lock; the later runs then find the
    schema current and do nothing."""
    _configure(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    """Open an engine on ``url``, run the migrations on it and dispose it."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(**{WRITE: True})
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_in_fresh_loop(url: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run_async_migrations(url))
        return
    # Called from inside a running loop: run on our own loop in a worker thread.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run_async_migrations(url))
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="linkmap-migrate")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


def run_migrations_online() -> None:
    """Run migrations against a live database (shared connection or own engine)."""
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        do_run_migrations(connection)
    else:
        _run_in_fresh_loop(database_url())


def run_migrations_offline() -> None:
    """Emit the migration SQL for the configured URL's dialect without connecting."""
    _configure(url=database_url())
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
