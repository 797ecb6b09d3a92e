"""The SQL source: reads an ERP (or CRM, or timesheet) database through its spec's SELECTs.

Every read is one SELECT per batch of at most ``batch_size`` keys, the keys bound as an
expanding IN parameter; the rows are mapped onto ``sources.records`` by the spec's field
map (``sources.translate``), the upstream's own codes through its translation tables. An
operation the spec does not give raises ``Unsupported`` (answered as NOT_SUPPORTED).

Order-line edits (``sources.sql.writes``) are offered when the spec has a ``writes:``
section and the config says ``read_only: false`` (the database user may write): the source
then declares them in ``write_operations``, so they are never retried. Otherwise (the
default) it declares no writes and every edit or preview answers ``Unsupported``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sources.base import (
    ORDER_LINE_WRITES,
    BrowsePage,
    LineChanges,
    LineDraft,
    LineWrite,
    OrderStatus,
    SystemProblem,
)
from sources.config import SystemConfigBase
from sources.declarative import RecordReads
from sources.errors import SourceUnavailable, Unsupported
from sources.kept import SpecFigures
from sources.records import InvoiceStatus, ProjectStatus
from sources.registry import Reach, register_adapter
from sources.rest.spec import CATALOGUE
from sources.sql.browse import sql_browse
from sources.sql.check import check_sql_source
from sources.sql.config import SqlConfig
from sources.sql.engine import make_engine, make_write_engine, statement_deadline
from sources.sql.failures import database_error
from sources.sql.spec import KEYS_PARAM, SqlOperation, SqlSpec
from sources.sql.versions import with_row_hash
from sources.sql.writes import WRITABLE_BACKENDS, SqlLineEditor
from sources.states import translated_operations
from sources.translate import TranslationError, build_record

log = logging.getLogger(__name__)

_UNKNOWN_STATES: frozenset[object] = frozenset(
    {OrderStatus.UNKNOWN, InvoiceStatus.UNKNOWN, ProjectStatus.UNKNOWN}
)
"""The UNKNOWN states of the records whose translated codes may be unmapped."""

NUL = "\x00"
MAX_LOGGED_UNKNOWN = 1000
"""Distinct unmapped codes logged per source; beyond that, none more (logs stay bounded)."""


class SqlSource(RecordReads, SpecFigures):
    """A system read through its database as its SQL spec describes.

    Serves whichever kinds its config names; ``engine`` is its connection pool, every
    connection read-only (unless configured otherwise) with the system's statement timeout.
    Keys the database does not hold are absent from an answer (single records) or map to
    an empty list (children); an answer never holds a key that was not asked, even where
    the database compares text without regard to case or trailing spaces.
    """

    write_operations: frozenset[str]
    """The order-line writes when edits are offered, else none
    (``sources.base.DeclaresWrites``): a declared write is never retried."""

    def __init__(self, name: str, config: SqlConfig, engine: AsyncEngine | None = None) -> None:
        self.name = name
        self.kinds = config.kinds
        self.config = config
        spec = SqlSpec.from_file(config.spec)
        # the system's translations: tables extend and override the spec's state maps
        operations = translated_operations(spec.operations, config.translations)
        self.spec = spec.model_copy(update={"operations": operations})
        self.engine = engine if engine is not None else make_engine(config)
        self._fan_out = asyncio.Semaphore(config.pool_size + config.max_overflow)
        self._unknown_logged: set[tuple[str, str]] = set()
        self.editor: SqlLineEditor | None = None
        writes = self.spec.writes
        if writes is not None and not config.read_only and config.backend in WRITABLE_BACKENDS:
            self.editor = SqlLineEditor(self, writes, make_write_engine(config, self.engine))
        self.write_operations = ORDER_LINE_WRITES if self.editor is not None else frozenset()

    async def aclose(self) -> None:
        """Close every pooled connection; the source is not used afterwards."""
        if self.editor is not None and self.editor.engine is not self.engine:
            await self.editor.engine.dispose()
        await self.engine.dispose()

    # -- the generic read ------------------------------------------------------------------

    def operation(self, name: str) -> SqlOperation:
        """The spec of operation ``name``; ``Unsupported`` when the spec does not give it."""
        spec = self.spec.operations.get(name)
        if spec is None:
            raise Unsupported(self.name, f"operation {name} not in the SQL spec")
        return spec

    async def read(self, operation: str, keys: Sequence[str]) -> dict[str, Any]:
        """Records of ``operation`` for ``keys``: one record per key, or a list per key.

        One SELECT per batch of at most the operation's batch size; batches of one read run
        at once up to the pool's capacity (pool_size + max_overflow)."""
        spec = self.operation(operation)
        shape = CATALOGUE[operation]
        wanted = list(dict.fromkeys(keys))
        bound = self._bindable(spec, wanted)
        size = self.spec.batch_size_of(spec)
        chunks = [bound[i : i + size] for i in range(0, len(bound), size)]
        rows: list[dict[str, Any]] = []
        for batch in await asyncio.gather(*(self._select(operation, spec, c) for c in chunks)):
            rows.extend(batch)
        grouped: dict[str, Any] = {key: [] for key in wanted} if shape.many else {}
        wanted_set = set(wanted)
        for row in rows:
            try:
                record: Any = build_record(shape.record, row, spec.fields)
            except TranslationError as exc:
                raise SourceUnavailable(self.name, f"{operation}: {exc}") from None
            group = getattr(record, shape.group_by)
            group = None if group is None else str(group)
            if group not in wanted_set:  # a case- or space-blind match of the database
                continue
            self._note_unknown(operation, record)
            if shape.many:
                grouped[group].append(record)
            else:
                grouped[group] = record
        return grouped

    def bound_key(self, operation: str, key: str) -> Any | None:
        """``key`` as ``operation`` binds it; None when no row can hold it."""
        bound = self._bindable(self.operation(operation), [key])
        return bound[0] if bound else None

    def records_of(
        self, operation: str, columns: list[str], rows: Sequence[Sequence[Any]]
    ) -> list[Any]:
        """Rows of ``operation``'s SELECT (as a connection returned them) as its records."""
        spec = self.operation(operation)
        shape = CATALOGUE[operation]
        records = []
        for item in self._items(operation, spec, columns, rows):
            try:
                record: Any = build_record(shape.record, item, spec.fields)
            except TranslationError as exc:
                raise SourceUnavailable(self.name, f"{operation}: {exc}") from None
            self._note_unknown(operation, record)
            records.append(record)
        return records

    def _items(
        self, operation: str, spec: SqlOperation, columns: list[str], rows: Sequence[Sequence[Any]]
    ) -> list[dict[str, Any]]:
        """Rows as items for ``sources.translate``, with their row hash where versions are
        row hashes."""
        items = _as_items(columns, rows, spec.coded_columns())
        hashed = self.spec.hashed_columns(operation)
        return with_row_hash(items, hashed) if hashed else items

    def _bindable(self, spec: SqlOperation, keys: list[str]) -> list[Any]:
        """The keys as bound values; keys that cannot exist in the column are left out
        (not an integer for an integer key; a NUL, which PostgreSQL text cannot hold)."""
        if spec.key_type == "int":
            return [int(k) for k in keys if _is_integer(k)]
        if self.config.backend == "postgresql":
            return [k for k in keys if NUL not in k]
        return list(keys)

    async def _select(
        self, operation: str, spec: SqlOperation, batch: list[Any]
    ) -> list[dict[str, Any]]:
        """The rows of one SELECT of ``operation`` for one batch of bound keys.

        The database stops the statement at the system's ``timeout`` (``engine``); the
        asyncio timeout around it (twice that, plus a second) is a backstop for a database
        that does not, or a network that hangs."""
        statement = spec.statement()
        async with self._fan_out:
            try:
                async with asyncio.timeout(self.config.timeout * 2 + 1):
                    connection = await self.engine.connect()
                    try:
                        async with statement_deadline(connection, self.config.timeout):
                            result = await connection.execute(statement, {KEYS_PARAM: batch})
                            columns = list(result.keys())
                            return self._items(operation, spec, columns, result.all())
                    finally:
                        await connection.close()
            except Exception as exc:  # every database failure leaves as a typed error
                raise database_error(self.name, operation, exc) from None

    def _note_unknown(self, operation: str, record: Any) -> None:
        """Log, once per source and raw code, an order, invoice or project state the spec
        does not translate (the record is answered as UNKNOWN with its raw value)."""
        status = getattr(record, "status", None)
        if status not in _UNKNOWN_STATES:
            return
        raw = getattr(record, "status_raw", None)
        marker = (operation, str(raw)[:200])
        if marker in self._unknown_logged or len(self._unknown_logged) >= MAX_LOGGED_UNKNOWN:
            return
        self._unknown_logged.add(marker)
        log.warning(
            "%s: %s has state %r, which the SQL spec does not translate; answered as UNKNOWN",
            self.name,
            operation,
            marker[1],
        )

    # -- BrowsesRecords (sources.sql.browse) -----------------------------------------------

    @property
    def timeout(self) -> float:
        """Seconds one statement may run (the system's ``timeout``)."""
        return self.config.timeout

    async def browse(
        self, kind: str, search: str | None, after: str | None, first: int
    ) -> BrowsePage:
        """One page of linkable ``kind`` records in key order (``sources.base.BrowsesRecords``)
        through the spec's ``browse:`` SELECT; ``Unsupported`` without one."""
        return await sql_browse(self, self.spec.browse, kind, search, after, first)

    # -- ChecksItsSystem ------------------------------------------------------------------

    async def check_system(self) -> list[SystemProblem]:
        """Every problem between the spec and the live database: a table or column it
        lacks, a SELECT that does not return a column the field map reads, or the database
        out of reach (``sources.sql.check``)."""
        return await check_sql_source(self)

    # -- OrderEditor (sources.sql.writes) ---------------------------------------------------

    def _editor(self) -> SqlLineEditor:
        if self.editor is None:
            reason = (
                "the system is configured read_only"
                if self.spec.writes is not None
                else "the SQL spec declares no writes"
            )
            raise Unsupported(self.name, f"order-line edits: {reason}")
        return self.editor

    async def add_order_line(
        self, order_key: str, draft: LineDraft, *, idempotency_key: str
    ) -> LineWrite:
        """Add a line to an order, in one transaction (``sources.sql.writes``)."""
        return await self._editor().add(order_key, draft, idempotency_key, keep=True)

    async def change_order_line(
        self, line_key: str, changes: LineChanges, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Change a line still at ``version``; a stale one is ``Conflict``, nothing written."""
        return await self._editor().change(line_key, changes, version, idempotency_key, keep=True)

    async def remove_order_line(
        self, line_key: str, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Remove a line still at ``version``; a stale one is ``Conflict``, nothing written."""
        return await self._editor().remove(line_key, version, idempotency_key)

    async def preview_order_line(self, order_key: str, draft: LineDraft) -> LineWrite:
        """A new line priced (by the spec's price SELECT) with the order's new totals, as
        the add would make them; nothing is kept. ``Unsupported`` without a price SELECT."""
        return await self._editor().add(order_key, draft, None, keep=False)

    async def preview_line_change(self, line_key: str, changes: LineChanges) -> LineWrite:
        """A changed line with the order's new totals, as the change would make them (the
        line's own unit price unless one is given); nothing is kept."""
        return await self._editor().change(line_key, changes, None, None, keep=False)


def _as_items(
    columns: list[str], rows: Sequence[Sequence[Any]], coded: frozenset[str]
) -> list[dict[str, Any]]:
    """Rows as items for ``sources.translate`` (column label -> value), with the values of
    ``coded`` columns as text: a translation table's codes are text (``"70"``), whatever
    the column's type (an INTEGER code column gives 70)."""
    if not rows:
        return []
    positions = [at for at, name in enumerate(columns) if name in coded]
    if not positions:
        return [dict(zip(columns, row, strict=True)) for row in rows]
    items = []
    for row in rows:
        values = list(row)
        for at in positions:
            value = values[at]
            if value is not None and type(value) is not str:
                values[at] = str(value).lower() if isinstance(value, bool) else str(value)
        items.append(dict(zip(columns, values, strict=True)))
    return items


def _is_integer(key: str) -> bool:
    text = key.strip()
    body = text[1:] if text[:1] in "+-" else text
    return 0 < len(body) <= 18 and body.isascii() and body.isdigit() and text == key


def _build(name: str, config: SystemConfigBase, _reach: Reach) -> SqlSource:
    """The registry's factory: a SQL source for ``config`` (it reaches its database through
    its own driver and pool, so it takes nothing from ``Reach``)."""
    assert isinstance(config, SqlConfig)
    return SqlSource(name, config)


register_adapter(
    "sql",
    config=SqlConfig,
    implementation=SqlSource,
    factory=_build,
    kinds=frozenset({"erp", "crm", "timesheet"}),
)
