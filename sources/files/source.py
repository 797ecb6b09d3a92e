"""The file source: an ERP, CRM or timesheet system read through the files it exports.

Each read looks at its table's current file (``sources.files.table``): unchanged since the
last read, the answer comes from the index built for that version; changed (or a newer
export in the watched folder), the file is parsed again first. Rows that cannot be read
are left out and named, with file, line and column, in the answer's notes
(``NotedAnswer.notes``, reported as ``extensions.sources.<system>.notes``) and in one log
line per file version. An operation the spec does not give raises ``Unsupported``
(NOT_SUPPORTED); a missing or unreadable export raises ``SourceUnavailable``. State codes
are translated by the spec's tables and the system's ``translations:`` in config
(``sources.files.states``). The source only reads: it declares no writes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

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
from sources.files.config import FilesConfig
from sources.files.problems import MAX_NOTED_PROBLEMS
from sources.files.rows import FileUnreadable
from sources.files.spec import FileSpec
from sources.files.table import LiveTable, Snapshot, plans_by_table
from sources.operations import ReadOperations, ReadTable, list_per_key, one_per_key
from sources.records import InvoiceStatus
from sources.registry import Reach, register_adapter
from sources.rest.spec import CATALOGUE
from sources.states import translated_operations

log = logging.getLogger(__name__)

MAX_LOGGED_UNKNOWN = 1000
"""Distinct unmapped codes logged per source; beyond that, none more (logs stay bounded)."""

V = TypeVar("V")


class NotedAnswer(dict[str, V]):
    """A batched read's answer (key -> what was found) with notes on how to read it: the
    rows of the file that were left out, and why. The loaders report the notes in
    ``extensions.sources.<system>.notes``."""

    def __init__(self, found: Mapping[str, V], notes: Sequence[str] = ()) -> None:
        super().__init__(found)
        self.notes: tuple[str, ...] = tuple(notes)

    def keeping(self, found: Mapping[str, V]) -> NotedAnswer[V]:
        """``found`` (e.g. this answer filtered) with this answer's notes."""
        return NotedAnswer(found, self.notes)


class FileSource:
    """A system read through its exported files as its file spec describes.

    Serves whichever kinds its config names. Keys the files do not hold are absent from
    an answer (single records) or map to an empty list (children). ``parses`` counts the
    file versions parsed so far, across its tables.
    """

    write_operations: frozenset[str] = frozenset()
    """The file source writes nothing (``sources.base.DeclaresWrites``)."""

    def __init__(self, name: str, config: FilesConfig) -> None:
        self.name = name
        self.kinds = config.kinds
        self.config = config
        spec = FileSpec.from_file(config.spec)
        operations = translated_operations(spec.operations, config.translations)
        self.spec = spec.model_copy(update={"operations": operations})
        base = config.base_folder()
        plans = plans_by_table(self.spec.operations, self.spec.key_of, CATALOGUE)
        self.tables: dict[str, LiveTable] = {
            table: LiveTable(name, table, self.spec.tables[table], base, found, self._noticed)
            for table, found in plans.items()
        }
        self._unknown_logged: set[tuple[str, str]] = set()

    async def aclose(self) -> None:
        """Nothing to release: files are opened only while parsed."""

    @property
    def parses(self) -> int:
        """How many file versions were parsed, across every table."""
        return sum(table.parses for table in self.tables.values())

    # -- the generic read ------------------------------------------------------------------

    async def read(self, operation: str, keys: Sequence[str]) -> NotedAnswer[Any]:
        """Records of ``operation`` for ``keys`` from the current export: one record per
        key, or a list per key, with the notes of the rows left out."""
        spec = self.spec.operations.get(operation)
        if spec is None:
            raise Unsupported(self.name, f"operation {operation} not in the file spec")
        try:
            snapshot = await self.tables[spec.table].snapshot()
        except FileUnreadable as exc:
            raise SourceUnavailable(self.name, f"{operation}: {exc}") from None
        index = snapshot.indexes[operation].by_key
        wanted = dict.fromkeys(keys)
        found: dict[str, Any]
        if CATALOGUE[operation].many:
            found = {key: list(index.get(key, ())) for key in wanted}
        else:
            found = {key: index[key] for key in wanted if key in index}
        return NotedAnswer(found, snapshot.notes(operation))

    def _noticed(self, table: LiveTable, snapshot: Snapshot) -> None:
        """Log, once per file version, the rows left out; and once per source and code,
        a state the spec does not translate (answered as UNKNOWN with its raw value)."""
        problems = [snapshot.problems, *(i.problems for i in snapshot.indexes.values())]
        total = sum(p.total for p in problems)
        if total:
            first = [p.logged() for found in problems for p in found.kept][:MAX_NOTED_PROBLEMS]
            log.warning(
                "%s: table %s, file %s: %d malformed row(s) left out, %d read; first: %s",
                self.name,
                table.name,
                snapshot.version.path,
                total,
                snapshot.rows,
                " | ".join(first),
            )
        for operation, index in snapshot.indexes.items():
            for code in sorted(index.unknown_codes):
                marker = (table.name, code)  # once, however many reads share the table
                if marker in self._unknown_logged or len(self._unknown_logged) >= (
                    MAX_LOGGED_UNKNOWN
                ):
                    continue
                self._unknown_logged.add(marker)
                log.warning(
                    "%s: %s has state %r, which the file spec does not translate; "
                    "answered as UNKNOWN",
                    self.name,
                    operation,
                    code,
                )

    # -- ErpSource ---------------------------------------------------------------------------

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        """Customers by customer key."""
        return await self.read("customers", keys)

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        """Invoices matching ``query`` (checked on the records), grouped by customer key."""
        grouped = await self.read("invoices", customer_keys)
        return grouped.keeping(
            {key: [i for i in found if _matches(i, query)] for key, found in grouped.items()}
        )

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
        grouped = await self.read("orders", customer_keys)
        if statuses is None:
            return grouped
        kept = statuses | {OrderStatus.UNKNOWN}
        return grouped.keeping({k: [o for o in v if o.status in kept] for k, v in grouped.items()})

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
        return grouped.keeping(
            {k: [p for p in v if p.status is PurchaseOrderStatus.OPEN] for k, v in grouped.items()}
        )

    async def payables(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[Payable]]:
        """Supplier invoices (only open ones when ``open_only``) grouped by supplier key."""
        grouped = await self.read("payables", supplier_keys)
        if not open_only:
            return grouped
        return grouped.keeping(
            {k: [p for p in v if p.status is InvoiceStatus.OPEN] for k, v in grouped.items()}
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
        return grouped.keeping(
            {k: [e for e in v if _entry_matches(e, query)] for k, v in grouped.items()}
        )

    async def project_time_entries(
        self, project_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query`` (checked on the records), grouped by project key."""
        grouped = await self.read("project_time_entries", project_keys)
        return grouped.keeping(
            {k: [e for e in v if _entry_matches(e, query)] for k, v in grouped.items()}
        )

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


def _build(name: str, config: SystemConfigBase, _reach: Reach) -> FileSource:
    """The registry's factory: a file source for ``config`` (it reads its files from
    disk, so it takes nothing from ``Reach``)."""
    assert isinstance(config, FilesConfig)
    return FileSource(name, config)


register_adapter(
    "files",
    config=FilesConfig,
    implementation=FileSource,
    factory=_build,
    kinds=frozenset({"erp", "crm", "timesheet"}),
)
