"""The contract every source adapter keeps, one protocol per kind of upstream.

Every read takes a sequence of keys and returns a mapping from key to what was found, so a
batch is the natural shape: keys the upstream does not know are absent from the mapping
(single records) or map to an empty list (children). Failures raise ``sources.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol, runtime_checkable

from sources.errors import (
    Conflict,
    NotFound,
    Rejected,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from sources.money import Money, sum_by_currency
from sources.records import (
    OPEN_ORDER_STATUSES,
    Account,
    AccountQuery,
    Candidate,
    Client,
    Contact,
    Customer,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    LineChanges,
    LineDraft,
    LineWrite,
    Opportunity,
    OrderLine,
    OrderStatus,
    Payable,
    Product,
    Project,
    ProjectStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    SalesOrder,
    Supplier,
    Task,
    TimeEntry,
    TimesheetProject,
)

Kind = Literal["erp", "crm", "timesheet"]
KINDS: tuple[Kind, ...] = ("erp", "crm", "timesheet")


@runtime_checkable
class Source(Protocol):
    """What every adapter has: the configured system name, its kind, and a way to close."""

    name: str
    kinds: frozenset[str]

    async def aclose(self) -> None:
        """Release connections; the source is not used afterwards."""
        ...


@runtime_checkable
class ErpSource(Source, Protocol):
    """An ERP: customers, suppliers, orders, invoices and projects."""

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        """Customers by customer key."""
        ...

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        """Invoices matching ``query``, grouped by customer key."""
        ...

    async def project_invoices(
        self, project_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Invoice]]:
        """All invoices of each ERP project, grouped by project key."""
        ...

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        """Sales orders (optionally only in ``statuses``), grouped by customer key."""
        ...

    async def order_lines(self, order_keys: Sequence[str]) -> Mapping[str, Sequence[OrderLine]]:
        """Order lines grouped by order key."""
        ...

    async def projects(self, keys: Sequence[str]) -> Mapping[str, Project]:
        """ERP projects by project key."""
        ...

    async def customer_projects(
        self, customer_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Project]]:
        """ERP projects grouped by customer key."""
        ...

    async def suppliers(self, keys: Sequence[str]) -> Mapping[str, Supplier]:
        """Suppliers by supplier key."""
        ...

    async def purchase_orders(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[PurchaseOrder]]:
        """Purchase orders grouped by supplier key."""
        ...

    async def payables(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[Payable]]:
        """Supplier invoices grouped by supplier key."""
        ...


@runtime_checkable
class CrmSource(Source, Protocol):
    """A CRM: accounts and their contacts."""

    async def accounts(self, keys: Sequence[str]) -> Mapping[str, Account]:
        """Accounts by account key."""
        ...

    async def contacts(self, account_keys: Sequence[str]) -> Mapping[str, Sequence[Contact]]:
        """Contacts grouped by account key."""
        ...


@runtime_checkable
class OpportunityReads(Protocol):
    """Optional for a CRM: the opportunities (deals) of accounts. Not part of
    ``CrmSource``: an adapter declares ``opportunities`` in its ``ReadTable`` or not; one
    whose configuration cannot read them raises ``Unsupported`` (GraphQL: null with
    NOT_SUPPORTED, never an empty list)."""

    async def opportunities(
        self, account_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Opportunity]]:
        """Every opportunity of each account (open, won and lost), grouped by account key."""
        ...


@runtime_checkable
class TaskReads(Protocol):
    """Optional for a CRM: the tasks of accounts (as ``OpportunityReads``: declared or
    not, ``Unsupported`` where the configuration cannot read them)."""

    async def tasks(self, account_keys: Sequence[str]) -> Mapping[str, Sequence[Task]]:
        """Every task of each account (open and done), grouped by account key."""
        ...


@runtime_checkable
class AccountSearch(Protocol):
    """Optional for a CRM: find accounts by their own fields, so that a list filtered on
    CRM fields asks the CRM once instead of reading every linked account.

    Not part of ``CrmSource``: an adapter may offer it or not. One that has the method but
    cannot search with its configuration raises ``Unsupported``; callers then read the
    accounts by key and filter them themselves.
    """

    async def search_accounts(self, query: AccountQuery) -> Mapping[str, Account]:
        """Every account matching ``query``, by account key."""
        ...


ACCOUNT_ORDER_FIELDS: frozenset[str] = frozenset({"name", "segment", "owner", "team", "country"})
"""The account fields a CRM may be able to order its search results by."""


@dataclass(frozen=True, slots=True)
class AccountPage:
    """One page of a CRM account search, in the CRM's own order.

    ``accounts`` holds (account key, account) pairs in that order; ``next`` is the opaque
    position token to pass as ``after`` for the following page, ``None`` on the last page.
    """

    accounts: tuple[tuple[str, Account], ...]
    next: str | None


@runtime_checkable
class AccountSearchPages(Protocol):
    """Optional for a CRM: filter AND order its accounts itself, one page at a time, so a
    page of a filtered, ordered customer list costs one upstream request however many
    accounts the CRM holds.

    The order is total and stable: by ``order_by`` (ascending, or descending when asked),
    ties broken by account key in the same direction; ``order_by=None`` orders by account
    key alone. ``after`` is a keyset position (the ``next`` of the previous page), not an
    offset: while the data stands still, pages never repeat or skip an account. A page holds
    at most ``limit`` accounts, possibly fewer (even none) before the end when a condition
    had to be checked on the records: only ``next=None`` marks the last page.
    ``account_orders`` names the fields (among ``ACCOUNT_ORDER_FIELDS``) it can order by; an
    empty set means its configuration cannot page this way at all (every call raises
    ``Unsupported``): the caller then uses ``AccountSearch`` and sorts itself. Asking for an
    order not in ``account_orders`` also raises ``Unsupported``.
    """

    account_orders: frozenset[str]

    async def search_account_page(
        self,
        query: AccountQuery,
        *,
        order_by: str | None,
        descending: bool,
        after: str | None,
        limit: int,
    ) -> AccountPage:
        """The next page (after ``after``) of accounts matching ``query``, in order."""
        ...


@runtime_checkable
class OverdueSearch(Protocol):
    """Optional for an ERP: find every overdue invoice at once, so that a list of
    customers with overdue invoices asks the ERP once instead of reading the open invoices
    of every linked customer. Adapters that cannot raise ``Unsupported``."""

    async def overdue_invoices(self, as_of: date) -> Mapping[str, Sequence[Invoice]]:
        """Every open invoice due before ``as_of``, grouped by customer key."""
        ...


@runtime_checkable
class InvoicesByKey(Protocol):
    """Optional for an ERP: read invoices by their own key, so that an invoice named by its
    number is one batched read (``invoice(system, key)`` in GraphQL). Not part of
    ``ErpSource``: an adapter declares it in its ``ReadTable`` (``one_per_key``) or not;
    one whose configuration cannot read it raises ``Unsupported``."""

    async def invoices_by_key(self, keys: Sequence[str]) -> Mapping[str, Invoice]:
        """Invoices by the ERP's invoice key, its number where it has one."""
        ...


@runtime_checkable
class PurchaseOrderLines(Protocol):
    """Optional for an ERP: the lines of purchase orders, one batched read per batch of
    purchase keys (``PurchaseOrder.lines`` in GraphQL); an ERP without it answers that
    field null with NOT_SUPPORTED."""

    async def purchase_order_lines(
        self, order_keys: Sequence[str]
    ) -> Mapping[str, Sequence[PurchaseOrderLine]]:
        """Lines grouped by purchase order key."""
        ...


@runtime_checkable
class TimesheetSource(Source, Protocol):
    """A timesheet system: clients, projects and logged hours."""

    async def clients(self, keys: Sequence[str]) -> Mapping[str, Client]:
        """Clients by client key."""
        ...

    async def timesheet_projects(self, keys: Sequence[str]) -> Mapping[str, TimesheetProject]:
        """Timesheet projects by project key."""
        ...

    async def time_entries(
        self, client_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query``, grouped by client key."""
        ...

    async def project_time_entries(
        self, project_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query``, grouped by timesheet project key."""
        ...


@runtime_checkable
class OrderEditor(Protocol):
    """An ERP that accepts order-line edits. Writes are never retried by the adapter.

    Every write carries the client's idempotency key to the upstream where it accepts one;
    edits of existing lines carry the line's ``version`` and fail with ``Conflict`` when it
    is stale. Business refusals raise ``Rejected`` with a stable code; an answer that never
    came raises a ``SourceError`` with ``maybe_applied`` set.
    """

    async def sales_orders(self, keys: Sequence[str]) -> Mapping[str, SalesOrder]:
        """Sales orders by order key."""
        ...

    async def order_lines_by_key(self, line_keys: Sequence[str]) -> Mapping[str, OrderLine]:
        """Order lines by line key."""
        ...

    async def products(self, keys: Sequence[str]) -> Mapping[str, Product]:
        """Products by product key, with availability."""
        ...

    async def add_order_line(
        self, order_key: str, draft: LineDraft, *, idempotency_key: str
    ) -> LineWrite:
        """Add a line to an order."""
        ...

    async def change_order_line(
        self, line_key: str, changes: LineChanges, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Change a line that is still at ``version``."""
        ...

    async def remove_order_line(
        self, line_key: str, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Remove a line that is still at ``version``."""
        ...

    async def preview_order_line(self, order_key: str, draft: LineDraft) -> LineWrite:
        """Price a new line without saving it."""
        ...

    async def preview_line_change(self, line_key: str, changes: LineChanges) -> LineWrite:
        """Price a change of a line without saving it."""
        ...


@runtime_checkable
class EditableErp(ErpSource, OrderEditor, Protocol):
    """An ERP that can be read and whose order lines can be edited."""


ORDER_LINE_WRITES: frozenset[str] = frozenset(
    {"add_order_line", "change_order_line", "remove_order_line"}
)
"""The ``OrderEditor`` methods that change upstream data (an editing adapter declares them)."""


@runtime_checkable
class DeclaresWrites(Protocol):
    """A source that says which of its operations change upstream data.

    ``write_operations`` names every public async method that writes, whatever it is
    called; the resilience layer never retries one of them (RELIABILITY.md R4) and treats
    every method not named there as a read. A source that writes must declare its writes.
    """

    write_operations: frozenset[str]


def declared_writes(source: object) -> frozenset[str]:
    """The operations ``source`` declares as writes (none when it declares nothing)."""
    declared = getattr(source, "write_operations", None)
    if declared is None:
        return frozenset()
    if isinstance(declared, str) or not all(isinstance(name, str) for name in declared):
        raise TypeError(f"{source!r}: write_operations must be a set of method names")
    return frozenset(declared)


PROTOCOL_BY_KIND: dict[str, type] = {
    "erp": ErpSource,
    "crm": CrmSource,
    "timesheet": TimesheetSource,
}

__all__ = [
    "ACCOUNT_ORDER_FIELDS",
    "BROWSE_KINDS",
    "KINDS",
    "OPEN_ORDER_STATUSES",
    "ORDER_LINE_WRITES",
    "PROTOCOL_BY_KIND",
    "Account",
    "AccountPage",
    "AccountQuery",
    "AccountSearch",
    "AccountSearchPages",
    "BrowsePage",
    "BrowsesRecords",
    "Candidate",
    "Client",
    "Conflict",
    "Contact",
    "CrmSource",
    "Customer",
    "DeclaresWrites",
    "EditableErp",
    "EntryQuery",
    "ErpSource",
    "Invoice",
    "InvoiceQuery",
    "InvoiceStatus",
    "InvoicesByKey",
    "Kind",
    "LineChanges",
    "LineDraft",
    "LineWrite",
    "LooksUpCandidates",
    "Money",
    "NotFound",
    "Opportunity",
    "OpportunityReads",
    "OrderEditor",
    "OrderLine",
    "OrderStatus",
    "OverdueSearch",
    "Payable",
    "Product",
    "Project",
    "ProjectStatus",
    "PurchaseOrder",
    "PurchaseOrderStatus",
    "Rejected",
    "SalesOrder",
    "Source",
    "SourceError",
    "SourceTimeout",
    "SourceUnavailable",
    "Supplier",
    "Task",
    "TaskReads",
    "TimeEntry",
    "TimesheetProject",
    "TimesheetSource",
    "declared_writes",
    "sum_by_currency",
]


@dataclass(frozen=True, slots=True)
class SystemProblem:
    """One way a system's configuration does not fit the live system (a table or column a
    spec names that the database lacks), or, with ``reachable`` False, that the system
    could not be reached to check it."""

    system: str
    operation: str | None
    problem: str
    reachable: bool = True

    def __str__(self) -> str:
        where = f"{self.system}: " + (f"{self.operation}: " if self.operation else "")
        return where + self.problem


BROWSE_KINDS: tuple[str, ...] = ("customer", "supplier", "project", "order")
"""What can be browsed: the link map's entity kinds (a CRM's customers are its accounts,
a timesheet system's its clients)."""


@dataclass(frozen=True, slots=True)
class BrowsePage:
    """One page of browsed records, in the system's own stable order; ``next`` is the
    opaque position to pass as ``after`` for the following page, ``None`` on the last.
    A page may hold fewer records than asked (even none) before the end where a search
    had to be checked on the records: only ``next=None`` ends."""

    candidates: tuple[Candidate, ...]
    next: str | None


@runtime_checkable
class BrowsesRecords(Protocol):
    """Optional for any source: list and search the records that can be linked, one page
    at a time, so an admin need not know every key beforehand. Kinds among
    ``BROWSE_KINDS``; a kind (or a search) the source cannot browse raises
    ``Unsupported`` (NOT_SUPPORTED)."""

    async def browse(
        self, kind: str, search: str | None, after: str | None, first: int
    ) -> BrowsePage:
        """The page of ``kind`` records (at most ``first``) after position ``after``
        whose name, key or identifiers contain ``search`` (case-insensitive; None: all)."""
        ...


@runtime_checkable
class LooksUpCandidates(Protocol):
    """Optional for a source that can say of a key more than "absent": whether its record
    is closed or was merged into another (Tryton: inactive parties, ``replaced_by``). The
    dangling-link check asks it; other sources are checked through their batched reads."""

    async def candidates(self, kind: str, keys: Sequence[str]) -> Mapping[str, Candidate]:
        """The records of ``kind`` by key, closed and merged ones included; keys the
        system does not hold are absent."""
        ...


@runtime_checkable
class ChecksItsSystem(Protocol):
    """A source that can check its spec against the live system before it serves a
    request; ``keylink check`` and the gateway's start-up ask it."""

    async def check_system(self) -> Sequence[SystemProblem]:
        """Every problem found (empty: the spec fits the system)."""
        ...
