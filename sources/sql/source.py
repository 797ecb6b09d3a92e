"""The SQL source: reads an ERP (or CRM, or timesheet) database through its spec's SELECTs.

Every read is one SELECT per batch of at most ``batch_size`` keys, the keys bound as an
expanding IN parameter; the rows are mapped onto ``sources.records`` by the spec's field
map (``sources.translate``), the upstream's own codes through its translation tables. An
operation the spec does not give raises ``Unsupported`` (answered as NOT_SUPPORTED).
Writes are not offered yet: the source declares none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sources.base import (
    Account,
    Client,
    Contact,
    Customer,
    EntryQuery,
    Invoice,
    InvoiceQuery,
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
from sources.records import InvoiceStatus
from sources.registry import Reach, register_adapter
from sources.rest.spec import CATALOGUE
from sources.sql.config import SqlConfig
from sources.sql.engine import make_engine, statement_deadline
from sources.sql.failures import database_error
from sources.sql.spec import KEYS_PARAM, SqlOperation, SqlSpec
from sources.translate import TranslationError, build_record

log = logging.getLogger(__name__)

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

    write_operations: frozenset[str] = frozenset()
    """The SQL source writes nothing (``sources.base.DeclaresWrites``)."""

    def __init__(self, name: str, config: SqlConfig, engine: AsyncEngine | None = None) -> None:
        self.name = name
        self.kinds = config.kinds
        self.config = config
        self.spec = SqlSpec.from_file(config.spec)
        self.engine = engine if engine is not None else make_engine(config)
        self._fan_out = asyncio.Semaphore(config.pool_size + config.max_overflow)
        self._unknown_logged: set[tuple[str, str]] = set()

    async def aclose(self) -> None:
        """Close every pooled connection; the source is not used afterwards."""
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
                            return _as_items(columns, result.all(), spec.coded_columns())
                    finally:
                        await connection.close()
            except Exception as exc:  # every database failure leaves as a typed error
                raise database_error(self.name, operation, exc) from None

    def _note_unknown(self, operation: str, record: Any) -> None:
        """Log, once per source and raw code, an order state the spec does not translate
        (the record is answered as UNKNOWN with its raw value)."""
        if not isinstance(record, SalesOrder) or record.status is not OrderStatus.UNKNOWN:
            return
        marker = (operation, str(record.status_raw))
        if marker in self._unknown_logged or len(self._unknown_logged) >= MAX_LOGGED_UNKNOWN:
            return
        self._unknown_logged.add(marker)
        log.warning(
            "%s: %s has state %r, which the SQL spec does not translate; answered as UNKNOWN",
            self.name,
            operation,
            record.status_raw,
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
