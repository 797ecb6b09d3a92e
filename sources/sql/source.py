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
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sources.base import (
    ORDER_LINE_WRITES,
    Account,
    Client,
    Contact,
    Customer,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    LineChanges,
    LineDraft,
    LineWrite,
    OrderLine,
    OrderStatus,
    Payable,
    Product,
    Project,
    PurchaseOrder,
    PurchaseOrderStatus,
    SalesOrder,
    Supplier,
    TimeEntry,
    TimesheetProject,
)
from sources.config import SystemConfigBase
from sources.errors import SourceUnavailable, Unsupported
from sources.operations import ReadOperations, ReadTable, list_per_key, one_per_key
from sources.records import InvoiceStatus, ProjectStatus
from sources.registry import Reach, register_adapter
from sources.rest.spec import CATALOGUE
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


class SqlSource:
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

    # -- ErpSource ---------------------------------------------------------------------------

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        """Customers by customer key."""
        return await self.read("customers", keys)

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        """Invoices matching ``query`` (checked on the records), grouped by customer key."""
        grouped: dict[str, list[Invoice]] = await self.read("invoices", customer_keys)
        return {key: [i for i in found if _matches(i, query)] for key, found in grouped.items()}

    async def project_invoices(
        self, project_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Invoice]]:
        """All invoices of each ERP project, grouped by project key."""
        return await self.read("project_invoices", project_keys)

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        """Sales orders (optionally only in ``statuses``, and always those in a state the
        spec does not translate, UNKNOWN: never dropped), grouped by customer key."""
        grouped: dict[str, list[SalesOrder]] = await self.read("orders", customer_keys)
        if statuses is None:
            return grouped
        kept = statuses | {OrderStatus.UNKNOWN}
        return {k: [o for o in v if o.status in kept] for k, v in grouped.items()}

    async def order_lines(self, order_keys: Sequence[str]) -> Mapping[str, Sequence[OrderLine]]:
        """Order lines grouped by order key."""
        return await self.read("order_lines", order_keys)

    async def sales_orders(self, keys: Sequence[str]) -> Mapping[str, SalesOrder]:
        """Sales orders by order key."""
        return await self.read("sales_orders", keys)

    async def order_lines_by_key(self, line_keys: Sequence[str]) -> Mapping[str, OrderLine]:
        """Order lines by line key."""
        return await self.read("order_lines_by_key", line_keys)

    async def products(self, keys: Sequence[str]) -> Mapping[str, Product]:
        """Products by product key, with availability where the spec maps it."""
        return await self.read("products", keys)

    async def projects(self, keys: Sequence[str]) -> Mapping[str, Project]:
        """ERP projects by project key."""
        return await self.read("projects", keys)

    async def customer_projects(
        self, customer_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Project]]:
        """ERP projects grouped by customer key."""
        return await self.read("customer_projects", customer_keys)

    async def suppliers(self, keys: Sequence[str]) -> Mapping[str, Supplier]:
        """Suppliers by supplier key."""
        return await self.read("suppliers", keys)

    async def purchase_orders(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[PurchaseOrder]]:
        """Purchase orders (only open ones when ``open_only``) grouped by supplier key."""
        grouped: dict[str, list[PurchaseOrder]] = await self.read("purchase_orders", supplier_keys)
        if not open_only:
            return grouped
        return {
            k: [p for p in v if p.status is PurchaseOrderStatus.OPEN] for k, v in grouped.items()
        }

    async def payables(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[Payable]]:
        """Supplier invoices (only open ones when ``open_only``) grouped by supplier key."""
        grouped: dict[str, list[Payable]] = await self.read("payables", supplier_keys)
        if not open_only:
            return grouped
        return {k: [p for p in v if p.status is InvoiceStatus.OPEN] for k, v in grouped.items()}

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

    # -- CrmSource -------------------------------------------------------------------------

    async def accounts(self, keys: Sequence[str]) -> Mapping[str, Account]:
        """Accounts by account key."""
        return await self.read("accounts", keys)

    async def contacts(self, account_keys: Sequence[str]) -> Mapping[str, Sequence[Contact]]:
        """Contacts grouped by account key."""
        return await self.read("contacts", account_keys)

    # -- TimesheetSource -------------------------------------------------------------------

    async def clients(self, keys: Sequence[str]) -> Mapping[str, Client]:
        """Clients by client key."""
        return await self.read("clients", keys)

    async def timesheet_projects(self, keys: Sequence[str]) -> Mapping[str, TimesheetProject]:
        """Timesheet projects by project key."""
        return await self.read("timesheet_projects", keys)

    async def time_entries(
        self, client_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query`` (checked on the records), grouped by client key."""
        grouped: dict[str, list[TimeEntry]] = await self.read("time_entries", client_keys)
        return {k: [e for e in v if _entry_matches(e, query)] for k, v in grouped.items()}

    async def project_time_entries(
        self, project_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query`` (checked on the records), grouped by project key."""
        grouped: dict[str, list[TimeEntry]] = await self.read("project_time_entries", project_keys)
        return {k: [e for e in v if _entry_matches(e, query)] for k, v in grouped.items()}

    # -- batched reads, as loaders and resilience find them (sources.operations) -----------

    batched_reads = ReadTable(
        one_per_key(customers),
        list_per_key(invoices),
        list_per_key(project_invoices),
        list_per_key(orders),
        one_per_key(sales_orders),
        list_per_key(order_lines),
        one_per_key(order_lines_by_key),
        one_per_key(products),
        one_per_key(projects),
        list_per_key(customer_projects),
        one_per_key(suppliers),
        list_per_key(purchase_orders),
        list_per_key(payables),
        one_per_key(accounts),
        list_per_key(contacts),
        one_per_key(clients),
        one_per_key(timesheet_projects),
        list_per_key(time_entries),
        list_per_key(project_time_entries),
    )
    """Every read batched by key, whichever kinds a config serves (an operation its spec
    lacks raises ``Unsupported`` when called)."""

    def read_operations(self) -> ReadOperations:
        """This source's batched reads, bound to it (``sources.operations.DeclaresReads``)."""
        return self.batched_reads.bind(self)


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


def _matches(invoice: Invoice, query: InvoiceQuery) -> bool:
    return (
        (query.status is None or invoice.status is query.status)
        and (query.issued_from is None or invoice.issue_date >= query.issued_from)
        and (query.issued_to is None or invoice.issue_date <= query.issued_to)
    )


def _entry_matches(entry: TimeEntry, query: EntryQuery) -> bool:
    return (
        (query.date_from is None or entry.date >= query.date_from)
        and (query.date_to is None or entry.date <= query.date_to)
        and (query.billable is None or entry.billable is query.billable)
        and (query.invoiced is None or entry.invoiced is query.invoiced)
    )


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
