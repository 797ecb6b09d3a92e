"""The reads of a source that answers each batch whole and narrows it on the records.

The SQL and file adapters fetch a batch of keys with one statement or from one index and
check the remaining conditions (invoice state and dates, order states, open only, time
entry dates and flags) on the typed records. Such a source implements one method,
``read(operation, keys)``; :class:`RecordReads` turns it into every read of the
``ErpSource``, ``CrmSource`` and ``TimesheetSource`` protocols and declares them
(``batched_reads``, ``sources.operations``). An operation the source's spec lacks raises
``Unsupported`` from ``read``, so the answer says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sources.operations import ReadOperations, ReadTable, list_per_key, one_per_key
from sources.records import (
    Account,
    Client,
    Contact,
    Customer,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
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

V = TypeVar("V")


class NotedAnswer(dict[str, V]):
    """A batched read's answer (key -> what was found) with notes on how to read it (e.g.
    the rows of a file that were left out, and why). The loaders report the notes in
    ``extensions.sources.<system>.notes``."""

    def __init__(self, found: Mapping[str, V], notes: Sequence[str] = ()) -> None:
        super().__init__(found)
        self.notes: tuple[str, ...] = tuple(notes)

    def keeping(self, found: Mapping[str, V]) -> NotedAnswer[V]:
        """``found`` (e.g. this answer filtered) with this answer's notes."""
        return NotedAnswer(found, self.notes)


def narrowed(answer: Mapping[str, Any], kept: dict[str, Any]) -> Mapping[str, Any]:
    """``kept`` (``answer`` narrowed), with ``answer``'s notes when it carries some."""
    return answer.keeping(kept) if isinstance(answer, NotedAnswer) else kept


class RecordReads:
    """Every protocol read over one ``read(operation, keys)``; see the module docstring."""

    async def read(self, operation: str, keys: Sequence[str]) -> Mapping[str, Any]:
        """What ``operation`` finds for ``keys``: key -> record, or key -> list of records."""
        raise NotImplementedError

    # -- ErpSource ---------------------------------------------------------------------------

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        """Customers by customer key."""
        return await self.read("customers", keys)

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        """Invoices matching ``query`` (checked on the records), grouped by customer key."""
        grouped = await self.read("invoices", customer_keys)
        return narrowed(
            grouped,
            {
                key: [i for i in found if _invoice_matches(i, query)]
                for key, found in grouped.items()
            },
        )

    async def project_invoices(
        self, project_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Invoice]]:
        """All invoices of each ERP project, grouped by project key."""
        return await self.read("project_invoices", project_keys)

    async def invoices_by_key(self, keys: Sequence[str]) -> Mapping[str, Invoice]:
        """Invoices by the ERP's invoice key, its number where it has one
        (``sources.base.InvoicesByKey``)."""
        return await self.read("invoices_by_key", keys)

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        """Sales orders (optionally only in ``statuses``, and always those in a state the
        spec does not translate, UNKNOWN: never dropped), grouped by customer key."""
        grouped = await self.read("orders", customer_keys)
        if statuses is None:
            return grouped
        kept = statuses | {OrderStatus.UNKNOWN}
        return narrowed(
            grouped, {k: [o for o in v if o.status in kept] for k, v in grouped.items()}
        )

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
        grouped = await self.read("purchase_orders", supplier_keys)
        if not open_only:
            return grouped
        return narrowed(
            grouped,
            {k: [p for p in v if p.status is PurchaseOrderStatus.OPEN] for k, v in grouped.items()},
        )

    async def payables(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[Payable]]:
        """Supplier invoices (only open ones when ``open_only``) grouped by supplier key."""
        grouped = await self.read("payables", supplier_keys)
        if not open_only:
            return grouped
        return narrowed(
            grouped,
            {k: [p for p in v if p.status is InvoiceStatus.OPEN] for k, v in grouped.items()},
        )

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
        grouped = await self.read("time_entries", client_keys)
        return narrowed(
            grouped, {k: [e for e in v if _entry_matches(e, query)] for k, v in grouped.items()}
        )

    async def project_time_entries(
        self, project_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query`` (checked on the records), grouped by project key."""
        grouped = await self.read("project_time_entries", project_keys)
        return narrowed(
            grouped, {k: [e for e in v if _entry_matches(e, query)] for k, v in grouped.items()}
        )

    # -- batched reads, as loaders and resilience find them (sources.operations) -----------

    batched_reads = ReadTable(
        one_per_key(customers),
        list_per_key(invoices),
        list_per_key(project_invoices),
        one_per_key(invoices_by_key),
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


def _invoice_matches(invoice: Invoice, query: InvoiceQuery) -> bool:
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
