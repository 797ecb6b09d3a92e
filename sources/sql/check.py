"""Start-up validation of a SQL spec against the live database.

Each operation's SELECT is run once with an empty batch of keys: the database parses and
plans it (naming a table or column it does not have) and returns no row, and the columns
it would return are compared with those the field map reads. ``check_sql_source`` is what a
``keylink check`` command calls; it reports every problem, not only the first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from sqlalchemy import exc as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sources.base import SystemProblem
from sources.sql.config import SqlConfig
from sources.sql.engine import statement_deadline
from sources.sql.failures import database_error
from sources.sql.spec import KEYS_PARAM, SqlSpec
from sources.sql.write_spec import ROW_HASH, parameters_of
from sources.sql.writes import parameter_types, typed_statement


class CheckedSource(Protocol):
    """What the check reads of a SQL source: its name, spec, config and pool."""

    @property
    def name(self) -> str:
        """The system's name."""
        ...

    @property
    def spec(self) -> SqlSpec:
        """Its SQL spec, translations applied."""
        ...

    @property
    def config(self) -> SqlConfig:
        """Its configuration (the statement timeout)."""
        ...

    @property
    def engine(self) -> AsyncEngine:
        """Its connection pool."""
        ...


class SqlSpecMismatch(ValueError):
    """The spec does not fit the database; ``problems`` names each table or column."""

    def __init__(self, problems: list[SystemProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


async def check_sql_source(source: CheckedSource) -> list[SystemProblem]:
    """Every problem between ``source``'s spec and its live database (empty: all fits).

    A database that cannot be reached is one problem; otherwise each operation whose
    SELECT the database refuses (a missing table or column, with the database's own words)
    or whose result lacks a column the field map reads is one problem each, and so is each
    SELECT of the writes section (run with values that match no row; its INSERT, UPDATE
    and DELETE statements are never run here) that is refused or lacks its column."""
    problems: list[SystemProblem] = []
    try:
        connection = await source.engine.connect()
    except Exception as exc:  # unreachable, refused, unknown database...
        error = database_error(source.name, "connect", exc)
        return [
            SystemProblem(
                source.name, None, f"cannot reach the database ({error.detail})", reachable=False
            )
        ]
    try:
        for name, operation in source.spec.operations.items():
            try:
                async with statement_deadline(connection, source.config.timeout):
                    result = await connection.execute(operation.statement(), {KEYS_PARAM: []})
                    returned = set(result.keys())
                    result.close()
            except sa.DBAPIError as exc:
                await connection.rollback()
                problems.append(SystemProblem(source.name, name, _refusal(exc)))
                continue
            missing = sorted(_columns_read(source, name) - returned)
            if missing:
                problems.append(
                    SystemProblem(
                        source.name,
                        name,
                        f"the SELECT returns no column {', '.join(missing)} "
                        f"(it returns {', '.join(sorted(returned)) or 'none'}); "
                        "the field map reads it",
                    )
                )
        problems += await _check_write_selects(source, connection)
    finally:
        await connection.close()
    return problems


WRITE_SELECT_COLUMNS = {"lock_order": "state", "lock_line": "order_key"}
"""The column each lock SELECT of a writes section must return."""


async def _check_write_selects(
    source: CheckedSource, connection: AsyncConnection
) -> list[SystemProblem]:
    """The problems of the writes section's SELECTs (lock, new line key, price)."""
    writes = source.spec.writes
    if writes is None:
        return []
    line_key_type = source.spec.operations["order_lines_by_key"].key_type
    types = parameter_types(line_key_type)
    nothing = {
        "order": "",
        "line": -1 if line_key_type == "int" else "",
        "product": "",
        "quantity": Decimal(0),
    }
    problems: list[SystemProblem] = []
    for place in ("lock_order", "lock_line", "new_line_key", "price"):
        sql: str | None = getattr(writes, place)
        if sql is None:
            continue
        what = f"writes.{place}"
        try:
            async with statement_deadline(connection, source.config.timeout):
                values = {n: nothing[n] for n in parameters_of(sql)}
                result = await connection.execute(typed_statement(sql, types), values)
                returned = set(result.keys())
                result.close()
        except sa.DBAPIError as exc:
            await connection.rollback()
            problems.append(SystemProblem(source.name, what, _refusal(exc)))
            continue
        wanted = WRITE_SELECT_COLUMNS.get(place)
        if (wanted is not None and wanted not in returned) or not returned:
            problems.append(
                SystemProblem(
                    source.name,
                    what,
                    f"the SELECT returns no column {wanted or '(none at all)'} "
                    f"(it returns {', '.join(sorted(returned)) or 'none'})",
                )
            )
    await connection.rollback()
    return problems


async def validate_sql_source(source: CheckedSource) -> None:
    """Raise ``SqlSpecMismatch`` naming every problem when the spec does not fit."""
    problems = await check_sql_source(source)
    if problems:
        raise SqlSpecMismatch(problems)


def _columns_read(source: CheckedSource, operation: str) -> frozenset[str]:
    """The columns the SELECT of ``operation`` must return: those its field map reads, the
    row hash excepted (Keylink computes it from the hashed columns, which it must return)."""
    hashed = source.spec.hashed_columns(operation)
    columns = source.spec.operations[operation].columns()
    return (columns - {ROW_HASH}) | frozenset(hashed) if hashed else columns


def _refusal(error: sa.DBAPIError) -> str:
    """The database's own words for refusing a statement run without any bound value
    (so they cannot quote a key), without SQLAlchemy's statement echo."""
    orig = error.orig
    args = getattr(orig, "args", ())
    words = next((a for a in reversed(args) if isinstance(a, str)), None) if args else None
    return f"the database refused the SELECT: {words or type(orig).__name__}"
