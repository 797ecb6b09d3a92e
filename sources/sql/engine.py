"""One pooled, read-only, time-limited database engine per SQL system.

Every connection the pool opens is set up once, on connect, for its database:

- PostgreSQL: ``statement_timeout`` and ``default_transaction_read_only`` as server
  settings of the connection (no extra round trip per read).
- MariaDB: ``max_statement_time`` (MySQL: ``max_execution_time``) and
  ``SET SESSION TRANSACTION READ ONLY``.
- SQLite: ``PRAGMA query_only`` and a progress handler that interrupts a statement running
  past its deadline (``statement_deadline`` sets it around each read).
- SQL Server (untested here): ``SET LOCK_TIMEOUT`` only; read-only is left to the login's
  rights, and a long statement is bounded by the source's own asyncio timeout.

Parameters are hidden from SQLAlchemy's own messages and logs (``hide_parameters``) and
from aiosqlite's DEBUG records (its logger is kept at INFO).

Writes (``make_write_engine``) use the same engine, except on SQLite: there a second pool
whose transactions start with ``BEGIN IMMEDIATE``, so an edit holds the database's write
lock from its first read (SQLite has no ``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from sources.sql.config import SqlConfig

SQLITE_PROGRESS_STEPS = 1000
"""SQLite virtual-machine steps between two checks of the deadline."""

_DEADLINE = "keylink_deadline"


class Deadline:
    """The monotonic time after which a SQLite connection's running statement is stopped."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = math.inf

    def passed(self) -> bool:
        """True once the deadline is behind us (SQLite then interrupts the statement)."""
        return time.monotonic() > self.at


def make_engine(config: SqlConfig) -> AsyncEngine:
    """A pooled engine for ``config``, each connection read-only (when configured) and
    with the system's statement timeout."""
    backend = config.backend
    # no pre-ping: it would cost a round trip per read; a connection found dead fails its
    # statement as retryable (``failures``) and SQLAlchemy then renews the pool
    options: dict[str, Any] = {"hide_parameters": True}
    url = config.database_url()
    in_memory = backend == "sqlite" and (url.database in (None, "", ":memory:"))
    if not in_memory:
        options.update(
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            pool_timeout=config.pool_timeout,
            pool_recycle=1800,
        )
    options["connect_args"] = _connect_args(config)
    engine = create_async_engine(url, **options)
    if backend in ("mysql", "mariadb"):
        event.listen(engine.sync_engine, "connect", _mysql_session(config))
    elif backend == "sqlite":
        _quiet_driver_debug("aiosqlite")
        event.listen(engine.sync_engine, "connect", _sqlite_session(config))
    elif backend == "mssql":
        event.listen(engine.sync_engine, "connect", _mssql_session(config))
    return engine


def make_write_engine(config: SqlConfig, engine: AsyncEngine) -> AsyncEngine:
    """The engine order-line edits run on: ``engine`` itself, or on a SQLite file a pool
    whose every transaction is ``BEGIN IMMEDIATE`` (the write lock taken at once, so two
    edits never interleave between their version check and their writes)."""
    url = config.database_url()
    if config.backend != "sqlite" or url.database in (None, "", ":memory:"):
        return engine
    writer = create_async_engine(
        url,
        hide_parameters=True,
        pool_size=max(1, min(config.pool_size, 2)),
        max_overflow=config.max_overflow,
        pool_timeout=config.pool_timeout,
        pool_recycle=1800,
        connect_args=_connect_args(config),
    )
    session = _sqlite_session(config)

    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        session(dbapi_connection, record)
        dbapi_connection.isolation_level = None  # the driver begins nothing by itself

    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(writer.sync_engine, "connect", on_connect)
    event.listen(writer.sync_engine, "begin", on_begin)
    return writer


def _quiet_driver_debug(logger_name: str) -> None:
    """Keep a driver's DEBUG records (aiosqlite logs every statement with its bound
    values) out of the logs, whatever the root level: logs never show SQL parameters."""
    logger = logging.getLogger(logger_name)
    if logger.getEffectiveLevel() < logging.INFO or logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


def _connect_args(config: SqlConfig) -> dict[str, Any]:
    backend, timeout = config.backend, config.timeout
    if backend == "postgresql":
        settings = {
            "statement_timeout": str(max(1, round(timeout * 1000))),
            "application_name": "keylink",
        }
        if config.read_only:
            settings["default_transaction_read_only"] = "on"
        return {"server_settings": settings, "timeout": timeout}
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": max(1, math.ceil(timeout))}
    if backend == "sqlite":
        return {"timeout": timeout}
    return {}


def _mysql_session(config: SqlConfig) -> Any:
    seconds = max(0.001, config.timeout)

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT VERSION()")
            version = str(cursor.fetchone()[0])
            if "mariadb" in version.lower():
                cursor.execute(f"SET SESSION max_statement_time = {seconds:.3f}")
            else:
                cursor.execute(f"SET SESSION max_execution_time = {round(seconds * 1000)}")
            if config.read_only:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
        finally:
            cursor.close()

    return on_connect


def _sqlite_session(config: SqlConfig) -> Any:
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        deadline = Deadline()
        record.info[_DEADLINE] = deadline
        dbapi_connection.run_async(
            lambda raw: raw.set_progress_handler(deadline.passed, SQLITE_PROGRESS_STEPS)
        )
        if config.read_only:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA query_only = ON")
            finally:
                cursor.close()

    return on_connect


def _mssql_session(config: SqlConfig) -> Any:
    milliseconds = max(1, round(config.timeout * 1000))

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SET LOCK_TIMEOUT {milliseconds}")
        finally:
            cursor.close()

    return on_connect


@asynccontextmanager
async def statement_deadline(connection: AsyncConnection, seconds: float) -> AsyncIterator[None]:
    """Give the statements run on ``connection`` inside the block ``seconds`` (SQLite only:
    other databases enforce their session's statement timeout themselves); the deadline is
    lifted again on leaving, so the pool's own statements are never interrupted."""
    deadline: Deadline | None = None
    if connection.dialect.name == "sqlite":
        raw = await connection.get_raw_connection()
        found = raw.info.get(_DEADLINE)
        deadline = found if isinstance(found, Deadline) else None
    if deadline is None:
        yield
        return
    deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        deadline.at = math.inf
