"""Order-line edits through a SQL spec's ``writes:`` section, each in one transaction.

Every edit, and every preview, is one transaction on one connection:

1. the order is locked (``lock_order`` with ``FOR UPDATE`` on PostgreSQL and MariaDB/MySQL,
   read committed; on SQLite the transaction is ``BEGIN IMMEDIATE``) and its state checked:
   no such order is ``NotFound``, a state not in ``editable_states`` is ``Rejected`` with
   ``ORDER_LOCKED``;
2. for a change or removal the line is locked (``lock_line``) and read; no such line is
   ``NotFound``, a version other than the one the edit carries is ``Conflict`` with the
   line as it is now;
3. the edit's statements run in order, every value bound; the first writes the line and
   must touch exactly one row (none: ``Conflict`` with the line read again, in the same
   transaction);
4. the line and the order are read back with the spec's own reads, then the transaction
   commits (an edit) or rolls back (a preview: priced exactly as the edit would be,
   nothing kept).

Any failure before the commit rolls everything back: never a partial write, and the error
says nothing was applied (``maybe_applied`` False). Only a failure during the commit itself
leaves the outcome unknown (``maybe_applied`` True).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy import Date, Integer, Numeric, String, TextClause, bindparam, text
from sqlalchemy import exc as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeEngine

from sources.errors import Conflict, NotFound, Rejected, SourceError, SourceUnavailable, Unsupported
from sources.records import LineChanges, LineDraft, LineWrite, OrderLine, SalesOrder
from sources.sql.config import SqlConfig
from sources.sql.engine import statement_deadline
from sources.sql.failures import database_error
from sources.sql.spec import KEYS_PARAM, SqlSpec
from sources.sql.write_spec import SqlWrites, parameters_of

CENT = Decimal("0.01")
LOCKING_BACKENDS = frozenset({"postgresql", "mysql", "mariadb"})
"""Databases whose lock SELECTs get ``FOR UPDATE`` (SQLite locks by ``BEGIN IMMEDIATE``)."""
WRITABLE_BACKENDS = LOCKING_BACKENDS | {"sqlite"}
"""Databases the SQL source writes to (SQL Server, untested here, is read only)."""

Edit = Literal["add", "change", "remove"]
T = TypeVar("T")


class LineReads(Protocol):
    """What an editor needs of its SQL source: its name, config and spec, keys as bound
    values, and rows as records (``sources.sql.source.SqlSource``)."""

    name: str
    config: SqlConfig
    spec: SqlSpec

    def bound_key(self, operation: str, key: str) -> Any | None:
        """``key`` as ``operation`` binds it; None when no row can have it."""
        ...

    def records_of(
        self, operation: str, columns: list[str], rows: Sequence[Sequence[Any]]
    ) -> list[Any]:
        """Rows of ``operation``'s SELECT as its records."""
        ...


def line_amount(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """A line's total: quantity x unit price less the discount, to the cent (half up)."""
    gross = quantity * unit_price * (Decimal(100) - discount_percent) / Decimal(100)
    return gross.quantize(CENT, ROUND_HALF_UP)


class SqlLineEditor:
    """Runs a spec's order-line edits and previews (module docstring) on ``engine``."""

    def __init__(self, source: LineReads, writes: SqlWrites, engine: AsyncEngine) -> None:
        self.source = source
        self.name = source.name
        self.writes = writes
        self.engine = engine
        self.backend = source.config.backend
        line_key_type = source.spec.operations["order_lines_by_key"].key_type
        self._types = parameter_types(line_key_type)

    # -- the edits ---------------------------------------------------------------------------

    async def add(
        self, order_key: str, draft: LineDraft, idempotency_key: str | None, *, keep: bool
    ) -> LineWrite:
        """Add ``draft`` to the order (``keep`` False: price it, keep nothing)."""
        statements = self._statements("add")
        if not keep and self.writes.price is None:
            raise Unsupported(self.name, "the SQL spec gives no price SELECT to preview with")

        async def body(connection: AsyncConnection) -> LineWrite:
            await self._lock_order(connection, order_key)
            unit_price = draft.unit_price
            if unit_price is None:
                unit_price = await self._price(connection, draft, order_key)
            new_key = await self._scalar(connection, "new_line_key", {"order": order_key})
            if new_key is None:
                raise SourceUnavailable(self.name, "add: new_line_key gave no key")
            discount = draft.discount_percent or Decimal(0)
            params = {
                "order": order_key,
                "line": new_key,
                "idempotency_key": idempotency_key,
                "product": draft.product_key,
                "quantity": draft.quantity,
                "unit_price": unit_price,
                "discount_percent": discount,
                "amount": line_amount(draft.quantity, unit_price, discount),
                "delivery_date": draft.delivery_date,
                "description": draft.description,
            }
            if await self._run_all(connection, "add", statements, params) != 1:
                raise SourceUnavailable(self.name, "add: the first statement wrote no line")
            line = await self._line(connection, str(new_key))
            if line is None:
                raise SourceUnavailable(self.name, "add: the new line does not read back")
            order = await self._order(connection, order_key)
            return LineWrite(line if keep else _unsaved(line, key=""), order)

        return await self._transaction("add_order_line", body, keep=keep)

    async def change(
        self,
        line_key: str,
        changes: LineChanges,
        version: str | None,
        idempotency_key: str | None,
        *,
        keep: bool,
    ) -> LineWrite:
        """Change the line if still at ``version`` (None: a preview checks none)."""
        statements = self._statements("change")

        async def body(connection: AsyncConnection) -> LineWrite:
            order_key, current = await self._locked_line(connection, line_key, version)
            values = _merged(current, changes)
            params = {
                "order": order_key,
                "line": self.source.bound_key("order_lines_by_key", line_key),
                "expected": self._expected(current),
                "idempotency_key": idempotency_key,
                "product": current.product_key,
                **values,
            }
            if await self._run_all(connection, "change", statements, params) != 1:
                raise await self._conflict(connection, line_key)
            line = await self._line(connection, line_key)
            if line is None:
                raise SourceUnavailable(self.name, "change: the line does not read back")
            order = await self._order(connection, order_key)
            return LineWrite(line if keep else _unsaved(line, key=line.key), order)

        return await self._transaction("change_order_line", body, keep=keep)

    async def remove(self, line_key: str, version: str, idempotency_key: str | None) -> LineWrite:
        """Remove the line if still at ``version``."""
        statements = self._statements("remove")

        async def body(connection: AsyncConnection) -> LineWrite:
            order_key, current = await self._locked_line(connection, line_key, version)
            params = {
                "order": order_key,
                "line": self.source.bound_key("order_lines_by_key", line_key),
                "expected": self._expected(current),
                "idempotency_key": idempotency_key,
            }
            if await self._run_all(connection, "remove", statements, params) != 1:
                raise await self._conflict(connection, line_key)
            return LineWrite(None, await self._order(connection, order_key))

        return await self._transaction("remove_order_line", body, keep=True)

    # -- one transaction -------------------------------------------------------------------

    async def _transaction(
        self, what: str, body: Callable[[AsyncConnection], Awaitable[T]], *, keep: bool
    ) -> T:
        """``body`` in one transaction, committed when ``keep`` (else rolled back); any
        failure before the commit rolls back and says nothing was applied."""
        committing = False
        timeout = self.source.config.timeout
        try:
            async with asyncio.timeout(timeout * 2 + 1):
                connection = await self.engine.connect()
                try:
                    if self.backend in LOCKING_BACKENDS:
                        connection = await connection.execution_options(
                            isolation_level="READ COMMITTED"
                        )
                    async with statement_deadline(connection, timeout):
                        answer = await body(connection)
                        if keep:
                            committing = True
                            await connection.commit()
                        else:
                            await connection.rollback()
                        return answer
                finally:
                    await connection.close()  # rolls back whatever was not committed
        except SourceError:  # the edit's own refusals: raised before any commit
            raise
        except Exception as exc:  # every database failure leaves as a typed error
            if isinstance(exc, sa.DataError) and not committing:
                raise Rejected(
                    self.name,
                    f"{what}: the database refused a value",
                    code="BAD_INPUT",
                    message="The ERP's database does not accept one of the values.",
                ) from None
            error = database_error(self.name, what, exc)
            error.maybe_applied = committing
            raise error from None

    # -- the steps ---------------------------------------------------------------------------

    def _statements(self, edit: Edit) -> tuple[str, ...]:
        found = self.writes.statements(edit)
        if not found:
            raise Unsupported(self.name, f"the SQL spec gives no {edit} statements")
        return found

    def _statement(self, sql: str, *, lock: bool = False) -> TextClause:
        """``sql`` with its parameters typed; with ``lock``, ``FOR UPDATE`` where the
        database has it."""
        return typed_statement(sql, self._types, lock=lock and self.backend in LOCKING_BACKENDS)

    async def _rows(
        self, connection: AsyncConnection, place: str, params: Mapping[str, Any], *, lock: bool
    ) -> list[Mapping[str, Any]]:
        sql: str | None = getattr(self.writes, place)
        assert sql is not None
        statement = self._statement(sql, lock=lock)
        result = await connection.execute(statement, _only(sql, params))
        return [dict(row) for row in result.mappings().all()]

    async def _scalar(
        self, connection: AsyncConnection, place: str, params: Mapping[str, Any]
    ) -> Any:
        rows = await self._rows(connection, place, params, lock=False)
        return next(iter(rows[0].values())) if rows and rows[0] else None

    async def _lock_order(self, connection: AsyncConnection, order_key: str) -> None:
        """Lock the order; ``NotFound`` if absent, ``ORDER_LOCKED`` if not editable."""
        if self.source.bound_key("sales_orders", order_key) is None:
            raise NotFound(self.name, "no such order")
        rows = await self._rows(connection, "lock_order", {"order": order_key}, lock=True)
        if not rows:
            raise NotFound(self.name, "no such order")
        state = _column(rows[0], "state", "lock_order", self.name)
        if str(state) not in self.writes.editable_states:
            raise Rejected(
                self.name,
                f"the order is in state {state}",
                code="ORDER_LOCKED",
                message=(
                    f"The order is in state {state} in the ERP: only orders in states "
                    f"{', '.join(sorted(self.writes.editable_states))} accept line edits."
                ),
                field="order",
            )

    async def _line_order(
        self, connection: AsyncConnection, line_key: str, *, lock: bool
    ) -> str | None:
        bound = self.source.bound_key("order_lines_by_key", line_key)
        if bound is None:
            return None
        rows = await self._rows(connection, "lock_line", {"line": bound}, lock=lock)
        if not rows:
            return None
        return str(_column(rows[0], "order_key", "lock_line", self.name))

    async def _locked_line(
        self, connection: AsyncConnection, line_key: str, version: str | None
    ) -> tuple[str, OrderLine]:
        """The line's order and the line, both locked (the order first, as an add locks
        it, so two edits never wait on each other crosswise); ``NotFound``, ``Rejected``
        or ``Conflict`` as the module says."""
        order_key = await self._line_order(connection, line_key, lock=False)
        if order_key is None:
            raise NotFound(self.name, "no such order line")
        await self._lock_order(connection, order_key)
        if await self._line_order(connection, line_key, lock=True) != order_key:
            raise await self._conflict(connection, line_key)
        current = await self._line(connection, line_key)
        if current is None:
            raise NotFound(self.name, "no such order line")
        if version is not None and current.version != version:
            raise Conflict(self.name, "the line is no longer at that version", current=current)
        return order_key, current

    def _expected(self, current: OrderLine) -> int | None:
        """The version the guarded statement compares with (column versions only; the
        line was just checked to be at the edit's version)."""
        if self.writes.version_column is None:
            return None
        try:
            return int(current.version)
        except ValueError:
            raise SourceUnavailable(self.name, "the version column holds no integer") from None

    async def _conflict(self, connection: AsyncConnection, line_key: str) -> SourceError:
        """The line as it is now, read in the same transaction: ``Conflict`` with it, or
        ``NotFound`` when it is gone."""
        current = await self._line(connection, line_key)
        if current is None:
            return NotFound(self.name, "no such order line")
        return Conflict(self.name, "the line is no longer at that version", current=current)

    async def _price(self, connection: AsyncConnection, draft: LineDraft, order: str) -> Decimal:
        if self.writes.price is None:
            raise Rejected(
                self.name,
                "no price SELECT in the SQL spec",
                code="BAD_INPUT",
                message="This ERP needs the line's unit price.",
                field="unitPrice",
            )
        params = {"product": draft.product_key, "order": order, "quantity": draft.quantity}
        price = await self._scalar(connection, "price", params)
        if price is None:
            raise Rejected(
                self.name,
                "no price for the product",
                code="BAD_INPUT",
                message=f"The ERP sells no product {draft.product_key}.",
                field="product",
            )
        return Decimal(str(price))

    async def _run_all(
        self,
        connection: AsyncConnection,
        edit: Edit,
        statements: Sequence[str],
        params: Mapping[str, Any],
    ) -> int:
        """Run the edit's statements in order; the rows the first one touched."""
        touched = 0
        for at, sql in enumerate(statements):
            result = await connection.execute(self._statement(sql), _only(sql, params))
            if at == 0:
                touched = result.rowcount
                if touched != 1:
                    return touched
        return touched

    async def _line(self, connection: AsyncConnection, line_key: str) -> OrderLine | None:
        found: OrderLine | None = await self._one(connection, "order_lines_by_key", line_key)
        return found

    async def _order(self, connection: AsyncConnection, order_key: str) -> SalesOrder:
        order: SalesOrder | None = await self._one(connection, "sales_orders", order_key)
        if order is None:
            raise NotFound(self.name, "no such order")
        return order

    async def _one(self, connection: AsyncConnection, operation: str, key: str) -> Any:
        """The record of read ``operation`` for ``key``, read on ``connection``."""
        bound = self.source.bound_key(operation, key)
        if bound is None:
            return None
        spec = self.source.spec.operations[operation]
        result = await connection.execute(spec.statement(), {KEYS_PARAM: [bound]})
        columns = list(result.keys())
        records = self.source.records_of(operation, columns, result.all())
        return next((r for r in records if str(r.key) == key), None)


def parameter_types(line_key_type: str) -> dict[str, TypeEngine[Any]]:
    """The SQL type each write parameter is bound as (``line`` as the line reads' keys)."""
    return {
        "order": String(),
        "line": Integer() if line_key_type == "int" else String(),
        "product": String(),
        "quantity": Numeric(),
        "unit_price": Numeric(),
        "discount_percent": Numeric(),
        "amount": Numeric(),
        "delivery_date": Date(),
        "description": String(),
        "expected": Integer(),
        "idempotency_key": String(),
    }


def typed_statement(
    sql: str, types: Mapping[str, TypeEngine[Any]], *, lock: bool = False
) -> TextClause:
    """``sql`` with each of its parameters bound as its type; with ``lock``, followed by
    ``FOR UPDATE`` (on a line of its own, so a trailing comment cannot swallow it)."""
    if lock:
        sql = sql.rstrip().rstrip(";") + "\nFOR UPDATE"
    names = parameters_of(sql)
    return text(sql).bindparams(*(bindparam(n, type_=types[n]) for n in names))


def _only(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``params`` that ``sql`` binds (each statement binds only its own)."""
    return {name: params.get(name) for name in parameters_of(sql)}


def _column(row: Mapping[str, Any], name: str, place: str, system: str) -> Any:
    if name not in row:
        raise SourceUnavailable(system, f"{place} returns no column {name!r}")
    return row[name]


def _merged(current: OrderLine, changes: LineChanges) -> dict[str, Any]:
    """The line's values after ``changes`` (unchanged fields as they are), with its amount
    computed again."""
    quantity = changes.quantity if changes.quantity is not None else current.quantity
    price = changes.unit_price if changes.unit_price is not None else current.unit_price.amount
    discount = (
        changes.discount_percent
        if changes.discount_percent is not None
        else current.discount_percent
    )
    delivery: date | None = (
        changes.delivery_date if changes.delivery_date is not None else current.delivery_date
    )
    description = changes.description if changes.description is not None else current.description
    return {
        "quantity": quantity,
        "unit_price": price,
        "discount_percent": discount,
        "amount": line_amount(quantity, price, discount),
        "delivery_date": delivery,
        "description": description,
    }


def _unsaved(line: OrderLine, *, key: str) -> OrderLine:
    """A previewed line: nothing was kept, so it has no version (and a new one no key)."""
    return dataclasses.replace(line, key=key, version="")
