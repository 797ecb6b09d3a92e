"""Database failures as the typed errors of ``sources.errors``, without SQL or parameters.

A driver's message may quote a bound value (PostgreSQL: ``invalid input syntax for type
integer: "<key>"``), and SQLAlchemy's adds the statement: neither goes into an error read
during a request. ``detail`` holds the operation, the driver's error class and its code
only; the original exception is not chained (``from None`` at the raise), so a logged
traceback cannot show it either.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import exc as sa

from sources.errors import SourceError, SourceTimeout, SourceUnavailable

PG_QUERY_CANCELED = "57014"
MYSQL_TIMEOUT_CODES = frozenset({1969, 3024})
"""MariaDB's max_statement_time exceeded, MySQL's max_execution_time exceeded."""
MYSQL_CONNECT_CODES = frozenset({2002, 2003, 2006, 2013, 1040})
"""Could not connect, server gone, lost connection, too many connections: the statement
never ran, so a read may be tried again."""


def database_error(system: str, operation: str, error: BaseException) -> SourceError:
    """The typed error for ``error`` raised while ``operation`` read ``system``."""
    if isinstance(error, SourceError):
        return error
    if isinstance(error, TimeoutError):
        return SourceTimeout(system, f"{operation}: no answer within the timeout")
    if isinstance(error, sa.TimeoutError):  # the pool had no free connection in time
        return SourceUnavailable(
            system, f"{operation}: no free database connection", message="The system is busy."
        )
    if isinstance(error, OSError):
        return SourceUnavailable(
            system, f"{operation}: cannot connect ({type(error).__name__})", retryable=True
        )
    orig: Any = getattr(error, "orig", None)
    code = _code(orig)
    described = f"{operation}: {type(orig or error).__name__}" + (f" {code}" if code else "")
    if _is_timeout(orig, code):
        return SourceTimeout(system, f"{described}: statement timeout")
    if isinstance(error, sa.DBAPIError) and (
        error.connection_invalidated or code in {str(c) for c in MYSQL_CONNECT_CODES}
    ):
        return SourceUnavailable(system, f"{described}: connection failed", retryable=True)
    if isinstance(error, sa.OperationalError | sa.InterfaceError):
        return SourceUnavailable(system, f"{described}: database unavailable")
    return SourceUnavailable(system, f"{described}: the database refused the statement")


def _code(orig: Any) -> str | None:
    """The driver's error code: SQLSTATE (PostgreSQL), error number (MariaDB/MySQL)."""
    if orig is None:
        return None
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return str(args[0])
    return str(sqlstate) if sqlstate else None


def _is_timeout(orig: Any, code: str | None) -> bool:
    if orig is None:
        return False
    if code == PG_QUERY_CANCELED:
        return True
    if code is not None and code.isdigit() and int(code) in MYSQL_TIMEOUT_CODES:
        return True
    # SQLite: the progress handler stopped the statement at its deadline
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    return isinstance(orig, sqlite3.OperationalError) and args[:1] == ("interrupted",)
