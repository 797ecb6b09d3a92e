"""The SQL source (``adapter: sql``): an ERP, CRM or timesheet system read through its
database, PostgreSQL (asyncpg), MariaDB/MySQL (asyncmy), SQLite (aiosqlite); SQL Server
(aioodbc) is accepted but untested here.

``config`` (the ``systems:`` entry), ``spec`` (the YAML spec: one SELECT per operation),
``engine`` (pool, read-only sessions, statement timeout), ``failures`` (database errors as
typed source errors), ``source`` (the reads and the record mapping; registers the adapter)
and ``check`` (start-up validation against the live database).
"""

from sources.sql.check import SpecProblem, SqlSpecMismatch, check_sql_source, validate_sql_source
from sources.sql.config import SqlConfig
from sources.sql.source import SqlSource
from sources.sql.spec import SqlOperation, SqlSpec

__all__ = [
    "SpecProblem",
    "SqlConfig",
    "SqlOperation",
    "SqlSource",
    "SqlSpec",
    "SqlSpecMismatch",
    "check_sql_source",
    "validate_sql_source",
]
