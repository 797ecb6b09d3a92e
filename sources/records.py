"""Typed records that source adapters return: what Keylink reads live, never stores.

Every record carries its own ``key`` in its system; records that belong to another
record carry that parent's key (``customer_key``, ``order_key``...). Amounts are ``Money``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sources.money import Money


class InvoiceStatus(enum.Enum):
    """Where an invoice stands: only an issued one (OPEN or PAID) is an invoice to the
    customer; a DRAFT is still being prepared and a CANCELLED one no longer counts.
    UNKNOWN: a state the system's translation table does not know (the record keeps the
    raw value in ``status_raw``); such an invoice is listed but counted in no figure."""

    DRAFT = "DRAFT"
    OPEN = "OPEN"
    PAID = "PAID"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


ISSUED_INVOICE_STATUSES = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PAID})
"""Invoices the customer has received: posted, paid or not (FIGURES.md, Invoices)."""


class OrderStatus(enum.Enum):
    """Where a sales order stands in the ERP's life cycle (FIGURES.md, Orders).

    DRAFT: being prepared. QUOTED: offered, awaiting the customer. CONFIRMED: agreed, not
    yet invoiced (an order whose only invoice is still a draft included). INVOICED: an
    invoice of it is issued and nothing remains to invoice. CANCELLED. UNKNOWN: a state
    the system's translation table does not know (the record keeps the raw value).
    """

    DRAFT = "DRAFT"
    QUOTED = "QUOTED"
    CONFIRMED = "CONFIRMED"
    INVOICED = "INVOICED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


OPEN_ORDER_STATUSES = frozenset({OrderStatus.DRAFT, OrderStatus.QUOTED, OrderStatus.CONFIRMED})
"""Orders whose value counts as open orders value: not cancelled, not invoiced."""


class ProjectStatus(enum.Enum):
    """Whether a project still takes costs and hours; UNKNOWN: a phase the system's
    translation table does not know (the record keeps the raw value)."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    UNKNOWN = "UNKNOWN"


class PurchaseOrderStatus(enum.Enum):
    """Where a purchase order stands: OPEN (not yet received: drafts, requests for quotation
    and confirmed orders awaiting goods), RECEIVED, CANCELLED; UNKNOWN: a state the
    system's translation table does not know (the record keeps the raw value)."""

    OPEN = "OPEN"
    RECEIVED = "RECEIVED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Customer:
    """An ERP customer (a party the company sells to)."""

    key: str
    name: str
    currency: str
    credit_limit: Money | None = None
    country: str | None = None
    vat_id: str | None = None
    discount_percent: Decimal | None = None
    payment_terms_days: int | None = None
    credit_used: Money | None = None
    """What the ERP counts against the credit limit now (Tryton: the party's credit amount,
    its receivable balance); None where the ERP keeps no credit figures."""


@dataclass(frozen=True, slots=True)
class Supplier:
    """An ERP supplier (a party the company buys from)."""

    key: str
    name: str
    currency: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    """A customer invoice with what is still due on it."""

    key: str
    customer_key: str
    issue_date: date
    due_date: date | None
    total: Money
    total_untaxed: Money
    amount_due: Money
    status: InvoiceStatus
    order_key: str | None = None
    project_key: str | None = None
    number: str | None = None
    status_raw: str | None = None

    @property
    def is_issued(self) -> bool:
        """True once the customer has the invoice (posted, paid or not); drafts and
        cancelled invoices are not issued."""
        return self.status in ISSUED_INVOICE_STATUSES

    @property
    def is_open(self) -> bool:
        """True when the invoice is issued and not fully paid (a credit note not fully
        allocated included): its amount due counts in the open balance."""
        return self.status is InvoiceStatus.OPEN

    @property
    def is_credit_note(self) -> bool:
        """True for a credit note: an invoice with a negative total."""
        return self.total.amount < 0

    def is_overdue(self, today: date) -> bool:
        """True when the invoice is open, is not a credit note, still has an amount due
        and its earliest unpaid due date lies before ``today`` (due today is not overdue;
        an invoice without a due date is never overdue)."""
        return (
            self.status is InvoiceStatus.OPEN
            and not self.is_credit_note
            and self.amount_due.amount > 0
            and self.due_date is not None
            and self.due_date < today
        )


@dataclass(frozen=True, slots=True)
class SalesOrder:
    """A sales order header with the ERP's totals."""

    key: str
    customer_key: str
    status: OrderStatus
    order_date: date
    total_untaxed: Money
    total: Money
    line_count: int | None = None
    version: str | None = None
    number: str | None = None
    status_raw: str | None = None
    amendable: bool = False
    """True when the ERP still takes changes of the lines of this order past the draft,
    as amendments it validates and applies itself (Tryton's ``sale_amendment`` on a
    processing sale)."""
    lock_reason: str | None = None
    """Why the ERP no longer takes line edits of this order, in words for a user, where
    the adapter can tell (e.g. which module would let it amend the order)."""

    @property
    def locked(self) -> bool:
        """True when the ERP no longer accepts line edits (anything but a draft, unless
        the ERP amends the order: ``amendable``)."""
        return self.status is not OrderStatus.DRAFT and not self.amendable

    @property
    def is_open(self) -> bool:
        """True when the order's value counts as open orders value: not cancelled and
        not invoiced (drafts, quotations and confirmed orders; an order whose only
        invoice is still a draft is confirmed)."""
        return self.status in OPEN_ORDER_STATUSES


class Unit(NamedTuple):
    """A unit of measure as the ERP shows quantities in it: its symbol ("u", "h", "kg")
    and the decimal places its quantities are rounded to. A frozen record that is also a
    plain pair, so a record holding it stays JSON-safe (a stored edit outcome)."""

    symbol: str
    digits: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One sales order line as the ERP prices it; ``version`` guards concurrent edits."""

    key: str
    order_key: str
    product_key: str | None
    description: str | None
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal
    amount: Money
    delivery_date: date | None
    version: str
    unit: Unit | None = None

    def __post_init__(self) -> None:
        # a unit read back from JSON (a stored edit outcome) arrives as [symbol, digits]
        unit: Any = self.unit
        if unit is not None and not isinstance(unit, Unit):
            object.__setattr__(self, "unit", Unit(str(unit[0]), int(unit[1])))


@dataclass(frozen=True, slots=True)
class Project:
    """An ERP project: who it is for and its budget."""

    key: str
    customer_key: str | None
    name: str
    budget: Money | None
    status: ProjectStatus
    start_date: date | None = None
    status_raw: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """A purchase order placed with a supplier."""

    key: str
    supplier_key: str
    status: PurchaseOrderStatus
    order_date: date
    total: Money
    expected_date: date | None = None
    number: str | None = None
    status_raw: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderLine:
    """One line of a purchase order as the ERP has it (quantities as Decimal)."""

    key: str
    order_key: str
    product_key: str | None
    description: str | None
    quantity: Decimal
    unit: Unit | None
    unit_price: Money
    amount: Money
    delivery_date: date | None = None


@dataclass(frozen=True, slots=True)
class Payable:
    """A supplier invoice the company has to pay."""

    key: str
    supplier_key: str
    issue_date: date
    due_date: date
    total: Money
    amount_due: Money
    status: InvoiceStatus


@dataclass(frozen=True, slots=True)
class Account:
    """A CRM account: who owns the relationship and which segment it belongs to."""

    key: str
    name: str
    owner: str | None = None
    team: str | None = None
    segment: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class AccountQuery:
    """Which CRM accounts to find. Each field is the set of accepted values (an account
    matches when its value is one of them); ``None`` means no condition on that field;
    the fields combine with AND, as the CRM's own list filters do."""

    segments: frozenset[str] | None = None
    owners: frozenset[str] | None = None
    teams: frozenset[str] | None = None
    countries: frozenset[str] | None = None

    def matches(self, account: Account) -> bool:
        """Whether ``account`` meets every condition that is set."""
        return all(
            wanted is None or value in wanted
            for wanted, value in (
                (self.segments, account.segment),
                (self.owners, account.owner),
                (self.teams, account.team),
                (self.countries, account.country),
            )
        )

    @property
    def is_empty(self) -> bool:
        """True when no condition is set (every account matches)."""
        return all(v is None for v in (self.segments, self.owners, self.teams, self.countries))


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at a CRM account."""

    key: str
    account_key: str
    name: str
    email: str | None = None
    phone: str | None = None
    role: str | None = None


class OpportunityStage(enum.Enum):
    """Where a CRM opportunity (a deal) stands: OPEN (still being worked, whatever the
    CRM's own stage name: prospecting, proposal, negotiation...), WON, LOST; UNKNOWN: a
    stage the system's translation table does not know (the record keeps the raw value
    in ``stage_raw``), counted in no figure."""

    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A CRM opportunity of an account: what may be sold, for how much, by when."""

    key: str
    account_key: str
    name: str
    stage: OpportunityStage
    amount: Money | None = None
    close_date: date | None = None
    """The expected (or, once closed, actual) close date."""
    probability: int | None = None
    """The CRM's chance of winning, in percent (0-100)."""
    stage_raw: str | None = None

    @property
    def is_open(self) -> bool:
        """True while the deal is still being worked (neither won nor lost); an UNKNOWN
        stage is not open: it counts in no figure."""
        return self.stage is OpportunityStage.OPEN


class TaskStatus(enum.Enum):
    """Whether a CRM task still has to be done: OPEN (not started or in progress), DONE;
    UNKNOWN: a status the system's translation table does not know (the record keeps the
    raw value in ``status_raw``)."""

    OPEN = "OPEN"
    DONE = "DONE"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Task:
    """A CRM task (a to-do) on an account."""

    key: str
    account_key: str
    title: str
    status: TaskStatus
    due_date: date | None = None
    priority: str | None = None
    """The CRM's own priority word ("High", "urgent"...), as it has it."""
    status_raw: str | None = None

    @property
    def is_open(self) -> bool:
        """True while the task still has to be done."""
        return self.status is TaskStatus.OPEN

    def is_overdue(self, today: date) -> bool:
        """True when the task is still open and its due date lies before ``today`` (due
        today is not overdue; a task without a due date never is)."""
        return self.is_open and self.due_date is not None and self.due_date < today


@dataclass(frozen=True, slots=True)
class Client:
    """A client in the timesheet system."""

    key: str
    name: str


@dataclass(frozen=True, slots=True)
class TimesheetProject:
    """A project in the timesheet system."""

    key: str
    client_key: str
    name: str
    hourly_rate: Money | None = None
    budget_hours: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TimeEntry:
    """Hours one employee logged on one day for a client's project."""

    key: str
    client_key: str
    project_key: str | None
    employee: str
    date: date
    hours: Decimal
    billable: bool
    invoiced: bool
    cost: Money | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceQuery:
    """Which invoices to read: every field left ``None`` means no filter on it."""

    status: InvoiceStatus | None = None
    issued_from: date | None = None
    issued_to: date | None = None


@dataclass(frozen=True, slots=True)
class EntryQuery:
    """Which time entries to read (dates inclusive); ``None`` means no filter."""

    date_from: date | None = None
    date_to: date | None = None
    billable: bool | None = None
    invoiced: bool | None = None


@dataclass(frozen=True, slots=True)
class StockLevel:
    """The quantity of a product physically in one warehouse the company sells from."""

    warehouse_key: str
    warehouse_name: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Product:
    """A product as the ERP sells it, with its availability now: ``on_hand`` is the
    quantity in all the company's warehouses (0 with no moves; None for services, which
    have no stock), ``stock`` the same per warehouse where the ERP tells."""

    key: str
    name: str
    unit: str | None = None
    on_hand: Decimal | None = None
    available_from: date | None = None
    manual_price: bool = False
    stock: tuple[StockLevel, ...] | None = None


@dataclass(frozen=True, slots=True)
class LineDraft:
    """A new order line as the CRM asks for it; the ERP prices it."""

    product_key: str
    quantity: Decimal
    discount_percent: Decimal | None = None
    delivery_date: date | None = None
    description: str | None = None
    unit_price: Decimal | None = None


LINE_FIELDS = ("quantity", "discount_percent", "delivery_date", "description", "unit_price")
"""The order-line fields a CRM may set, in a stable order."""


@dataclass(frozen=True, slots=True)
class LineChanges:
    """Changes to an order line; ``None`` leaves a field as it is."""

    quantity: Decimal | None = None
    discount_percent: Decimal | None = None
    delivery_date: date | None = None
    description: str | None = None
    unit_price: Decimal | None = None

    def changed_fields(self) -> tuple[str, ...]:
        """Names of the fields this change sets."""
        return tuple(
            name
            for name in (
                "quantity",
                "discount_percent",
                "delivery_date",
                "description",
                "unit_price",
            )
            if getattr(self, name) is not None
        )


@dataclass(frozen=True, slots=True)
class LineWrite:
    """The ERP's answer to a line write: the line as it now is (None once removed) and the
    order with its new totals."""

    line: OrderLine | None
    order: SalesOrder


@dataclass(frozen=True, slots=True)
class Candidate:
    """A record that can be linked (a customer/party, supplier, project, order, CRM account
    or timesheet client), with what identifies it: read live to browse or match, compared
    and forgotten, never stored.

    ``key`` is the record's key in its system (what a link holds); ``vat`` its VAT or
    organisation number as the system writes it; ``email_domain`` the domain of its
    (first) e-mail address; ``closed`` whether the system says it is closed (Tryton: an
    inactive party); ``replaced_by`` the key of the record it was merged into, where the
    system records one.
    """

    key: str
    name: str
    vat: str | None = None
    email_domain: str | None = None
    postcode: str | None = None
    country: str | None = None
    city: str | None = None
    closed: bool = False
    replaced_by: str | None = None
