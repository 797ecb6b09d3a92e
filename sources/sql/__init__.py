"""The SQL source (``adapter: sql``): an ERP, CRM or timesheet system read through its
database, PostgreSQL (asyncpg), MariaDB/MySQL (asyncmy), SQLite (aiosqlite); SQL Server
(aioodbc) is accepted but untested here.

``config`` (the ``systems:`` entry), ``spec`` (the YAML spec: one SELECT per operation),
``write_spec`` (its optional ``writes:`` section: the statements behind order-line edits),
``engine`` (pool, read-only sessions, statement timeout; the write pool on SQLite),
``failures`` (database errors as typed source errors), ``source`` (the reads and the record
mapping; registers the adapter), ``writes`` (each edit in one transaction with a version
check), ``versions`` (row-hash versions) and ``check`` (start-up validation against the
live database).
"""

from sources.sql.check import SqlSpecMismatch, check_sql_source, validate_sql_source
from sources.sql.config import SqlConfig
from sources.sql.source import SqlSource
from sources.sql.spec import SqlOperation, SqlSpec
from sources.sql.write_spec import SqlWrites

__all__ = [
    "SqlConfig",
    "SqlOperation",
    "SqlSource",
    "SqlSpec",
    "SqlSpecMismatch",
    "SqlWrites",
    "check_sql_source",
    "validate_sql_source",
]
