"""Engines and sessions for the link map database.

Supported URLs: ``sqlite+aiosqlite:///path.db`` (embedded default) and
``postgresql+asyncpg://user@host/db`` (shared by N replicas).

Promises of :func:`create_engine`:

* SQLite: foreign keys are enforced on every connection (``PRAGMA foreign_keys=ON``),
  file databases run in WAL mode (readers never block the writer), a busy connection
  waits up to ``busy_timeout`` seconds instead of failing at once, and transactions
  opened with the :data:`WRITE` execution option start with ``BEGIN IMMEDIATE`` so two
  concurrent writers serialise instead of dead-locking on lock upgrade. An in-memory
  database is held by exactly one pooled connection (concurrent users queue for it).
* PostgreSQL: ``pool_pre_ping`` so connections dropped by the server are replaced.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

log = logging.getLogger(__name__)

WRITE: Final = "keylink_write"
"""Execution option: ``engine.execution_options(**{WRITE: True})`` marks transactions that
will write. On SQLite they take the write lock up front (``BEGIN IMMEDIATE``); on other
databases the option has no effect."""


def is_sqlite(url: str | URL) -> bool:
    """Return True if ``url`` names a SQLite database (any driver)."""
    return make_url(url).get_backend_name() == "sqlite"


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def create_engine(url: str | URL, *, echo: bool = False, busy_timeout: float = 15.0) -> AsyncEngine:
    """Create the AsyncEngine for the link map at ``url`` with the settings promised in the
    module docstring; SQL parameters never appear in its errors or logs. The caller owns
    the engine and must ``await engine.dispose()``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _create_async_engine(
            parsed, echo=echo, pool_pre_ping=True, pool_recycle=1800, hide_parameters=True
        )

    kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_timeout}, "hide_parameters": True}
    memory = _is_memory(parsed)
    if memory:
        # One connection holds the whole database; never recycle it, queue other users.
        kwargs.update(poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0)
    engine = _create_async_engine(parsed, echo=echo, **kwargs)
    _install_sqlite_events(engine, wal=not memory)
    return engine


def _install_sqlite_events(engine: AsyncEngine, *, wal: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                _enable_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enable_wal(cursor: Any) -> None:
    """Switch the database to WAL unless it already is, and use ``synchronous=NORMAL``
    (safe with WAL) on this connection. Switching needs a moment of exclusive access; if
    another connection holds a lock right now the database stays in rollback-journal mode
    (correct, only less concurrent) and a later connection retries."""
    cursor.execute("PRAGMA journal_mode")
    row = cursor.fetchone()
    mode = str(row[0]).lower() if row else ""
    if mode != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            row = cursor.fetchone()
            mode = str(row[0]).lower() if row else ""
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            log.info("SQLite database busy; WAL mode not enabled on this connection")
    if mode == "wal":
        cursor.execute("PRAGMA synchronous=NORMAL")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return a factory of AsyncSessions bound to ``engine``; objects stay usable after
    commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, expire_on_commit=False)
