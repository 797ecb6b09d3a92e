"""Records of the three demo upstream systems (ERP, CRM, timesheet) and the dataset holding them.

Every record is a frozen dataclass owned by exactly one system; no record carries a key of
another system. Money and quantities are ``Decimal``; dates are ``datetime.date``.
``DemoDataset`` holds the records in dicts keyed by their own key (insertion order = key
order) plus secondary indexes (customer → invoices, client → entries, ...) built once by
``DemoDataset.build_indexes``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

EntityKind = Literal["customer", "supplier", "project"]
ActivityType = Literal["call", "meeting", "email"]
Unit = Literal["pcs", "h", "kg"]


# --------------------------------------------------------------------------- ERP


@dataclass(frozen=True, slots=True)
class ErpCustomer:
    """An ERP customer; ``number`` is a string of digits ("10001")."""

    number: str
    name: str
    currency: str
    credit_limit: Decimal
    country: str
    vat_id: str
    discount_percent: Decimal
    payment_terms_days: int


@dataclass(frozen=True, slots=True)
class ErpSupplier:
    """An ERP supplier; ``number`` is a string of digits ("70001")."""

    number: str
    name: str
    currency: str
    country: str


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """A purchase order placed with a supplier ("PO-500001")."""

    number: str
    supplier: str
    status: Literal["open", "received", "cancelled"]
    order_date: date
    expected_date: date
    currency: str
    total: Decimal


@dataclass(frozen=True, slots=True)
class Payable:
    """A supplier invoice ("SI-800001"); ``amount_due`` is zero when paid."""

    number: str
    supplier: str
    issue_date: date
    due_date: date
    currency: str
    total: Decimal
    amount_due: Decimal
    status: Literal["open", "paid"]


@dataclass(frozen=True, slots=True)
class Product:
    """A product ("P-1001") with a price per currency; ``available_from`` only if out of stock."""

    sku: str
    name: str
    unit: Unit
    prices: dict[str, Decimal]
    on_hand: int
    available_from: date | None

    @property
    def manual_price(self) -> bool:
        """Whether an order line may carry a hand-set unit price (services only)."""
        return self.unit == "h"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A sales order line priced by the ERP: ``amount = round(qty*price*(1-disc/100), 2)``."""

    id: str
    order: str
    product: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    amount: Decimal
    currency: str
    delivery_date: date
    version: int


OrderState = Literal["draft", "quoted", "confirmed", "processing", "invoiced", "cancelled"]
"""The demo ERP's order states: ``draft`` (being prepared, the only editable state),
``quoted`` (offered, awaiting the customer), ``confirmed`` (agreed), ``processing``
(confirmed, its invoice drawn up but still a draft), ``invoiced`` (its invoice is posted),
``cancelled``."""

InvoiceState = Literal["draft", "open", "paid", "cancelled"]
"""The demo ERP's invoice states: ``draft`` (drawn up, not yet posted: not sent to the
customer), ``open`` (posted, not fully settled), ``paid`` (posted and settled),
``cancelled`` (posted in error and cancelled before any payment)."""

InvoiceKind = Literal["invoice", "credit_note"]


@dataclass(frozen=True, slots=True)
class SalesOrder:
    """A sales order header with totals: tax is 25 % of the untaxed total.

    Ordinary orders are numbered "SO-100001".. in date order; call-off orders under a
    customer's framework agreement "CO-<customer>-<n>" (n = 1, 2, .. per customer, not
    padded), several of them on one day.
    """

    number: str
    customer: str
    status: OrderState
    order_date: date
    currency: str
    total_untaxed: Decimal
    tax: Decimal
    total: Decimal
    line_count: int
    version: int = 1

    @property
    def locked(self) -> bool:
        """Only a draft accepts line edits; every other state is locked."""
        return self.status != "draft"


@dataclass(frozen=True, slots=True)
class Payment:
    """One settlement of an invoice: a payment received (a refund paid out, negative, on a
    credit note), or, with ``allocation`` set, a credit note allocated against an invoice
    (``allocation`` names the other document)."""

    date: date
    amount: Decimal
    allocation: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    """A customer invoice or credit note ("INV-200001", one series, numbered by issue date).

    ``amount_due = total - amount_paid`` (0 for a cancelled one). A credit note
    (``kind == "credit_note"``) has negative totals; it corrects ``credited_invoice`` and
    is settled by a refund or by allocation against that invoice. A draft has no due date.
    """

    number: str
    customer: str
    order: str | None
    project: str | None
    issue_date: date
    due_date: date | None
    currency: str
    total_untaxed: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    status: InvoiceState
    payments: tuple[Payment, ...]
    kind: InvoiceKind = "invoice"
    credited_invoice: str | None = None

    @property
    def is_posted(self) -> bool:
        """Posted (sent to the customer): open or paid; not a draft, not cancelled."""
        return self.status in ("open", "paid")

    def is_overdue(self, today: date) -> bool:
        """The ERP's dunning rule: an open invoice (never a credit note) with something
        still due whose due date lies before ``today``."""
        return (
            self.status == "open"
            and self.kind == "invoice"
            and self.amount_due > 0
            and self.due_date is not None
            and self.due_date < today
        )


@dataclass(frozen=True, slots=True)
class ErpProject:
    """An ERP project ("PR-3001") for one customer, with a money budget."""

    number: str
    customer: str
    name: str
    currency: str
    budget: Decimal
    status: Literal["open", "closed"]
    start_date: date


# --------------------------------------------------------------------------- CRM


@dataclass(frozen=True, slots=True)
class CrmAccount:
    """A CRM account ("A-1001"); its name is close to, not always equal to, the ERP name."""

    id: str
    name: str
    owner: str
    team: str
    segment: str
    country: str


@dataclass(frozen=True, slots=True)
class CrmContact:
    """A person at a CRM account ("C-10001")."""

    id: str
    account: str
    name: str
    email: str
    phone: str
    role: str


@dataclass(frozen=True, slots=True)
class CrmActivity:
    """A logged call, meeting or e-mail with an account ("ACT-100001")."""

    id: str
    account: str
    type: ActivityType
    subject: str
    date: date
    owner: str


# --------------------------------------------------------------------------- timesheet


@dataclass(frozen=True, slots=True)
class TsClient:
    """A timesheet client; ``code`` is an upper-case ASCII short code ("BJORNSTAD")."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class TsProject:
    """A timesheet project ("BJORNSTAD-01") billed at ``hourly_rate`` in ``currency``."""

    code: str
    client: str
    name: str
    currency: str
    hourly_rate: Decimal
    budget_hours: Decimal


@dataclass(frozen=True, slots=True)
class Employee:
    """A consultant ("E-01"); ``cost_rate`` is per hour in EUR."""

    id: str
    name: str
    cost_rate: Decimal


@dataclass(frozen=True, slots=True)
class TimeEntry:
    """Hours logged on a project; ``cost_amount`` is the employee cost in project currency."""

    id: str
    client: str
    project: str
    employee: str
    date: date
    hours: Decimal
    billable: bool
    invoiced: bool
    description: str
    cost_amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Expense:
    """A travel expense booked on a project, in project currency."""

    id: str
    client: str
    project: str
    employee: str
    date: date
    amount: Decimal
    currency: str
    description: str


# --------------------------------------------------------------------------- truth


@dataclass(frozen=True, slots=True)
class EntityKeys:
    """The generator's truth about one real-world entity: its key in each system holding it.

    ``linked`` is False for the entities deliberately left out of the demo link list.
    """

    kind: EntityKind
    keys: dict[str, str]
    linked: bool = True


# --------------------------------------------------------------------------- dataset


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for parent, child in pairs:
        out[parent].append(child)
    return dict(out)


@dataclass
class DemoDataset:
    """All records of the three demo systems for one ``(seed, today)``, indexed by key.

    Primary dicts are keyed by each record's own key and iterate in key order. The
    ``*_by_*`` indexes map a parent key to the child keys in key order. ``today`` is the
    reference date every relative notion (overdue, this year) is computed against.
    """

    seed: int
    today: date
    # ERP
    customers: dict[str, ErpCustomer]
    suppliers: dict[str, ErpSupplier]
    products: dict[str, Product]
    orders: dict[str, SalesOrder]
    order_lines: dict[str, OrderLine]
    invoices: dict[str, Invoice]
    projects: dict[str, ErpProject]
    purchase_orders: dict[str, PurchaseOrder]
    payables: dict[str, Payable]
    # CRM
    accounts: dict[str, CrmAccount]
    contacts: dict[str, CrmContact]
    activities: dict[str, CrmActivity]
    # timesheet
    clients: dict[str, TsClient]
    ts_projects: dict[str, TsProject]
    employees: dict[str, Employee]
    entries: dict[str, TimeEntry]
    expenses: dict[str, Expense]
    # truth (not visible to any upstream)
    entities: list[EntityKeys]
    # indexes, filled by build_indexes()
    orders_by_customer: dict[str, list[str]] = field(default_factory=dict)
    lines_by_order: dict[str, list[str]] = field(default_factory=dict)
    invoices_by_customer: dict[str, list[str]] = field(default_factory=dict)
    invoices_by_project: dict[str, list[str]] = field(default_factory=dict)
    projects_by_customer: dict[str, list[str]] = field(default_factory=dict)
    pos_by_supplier: dict[str, list[str]] = field(default_factory=dict)
    payables_by_supplier: dict[str, list[str]] = field(default_factory=dict)
    contacts_by_account: dict[str, list[str]] = field(default_factory=dict)
    activities_by_account: dict[str, list[str]] = field(default_factory=dict)
    ts_projects_by_client: dict[str, list[str]] = field(default_factory=dict)
    entries_by_client: dict[str, list[str]] = field(default_factory=dict)
    entries_by_project: dict[str, list[str]] = field(default_factory=dict)
    expenses_by_client: dict[str, list[str]] = field(default_factory=dict)
    expenses_by_project: dict[str, list[str]] = field(default_factory=dict)

    def build_indexes(self) -> None:
        """Fill the ``*_by_*`` indexes from the primary dicts (idempotent)."""
        self.orders_by_customer = _group((o.customer, k) for k, o in self.orders.items())
        self.lines_by_order = _group((ln.order, k) for k, ln in self.order_lines.items())
        self.invoices_by_customer = _group((i.customer, k) for k, i in self.invoices.items())
        self.invoices_by_project = _group(
            (i.project, k) for k, i in self.invoices.items() if i.project is not None
        )
        self.projects_by_customer = _group((p.customer, k) for k, p in self.projects.items())
        self.pos_by_supplier = _group((p.supplier, k) for k, p in self.purchase_orders.items())
        self.payables_by_supplier = _group((p.supplier, k) for k, p in self.payables.items())
        self.contacts_by_account = _group((c.account, k) for k, c in self.contacts.items())
        self.activities_by_account = _group((a.account, k) for k, a in self.activities.items())
        self.ts_projects_by_client = _group((p.client, k) for k, p in self.ts_projects.items())
        self.entries_by_client = _group((e.client, k) for k, e in self.entries.items())
        self.entries_by_project = _group((e.project, k) for k, e in self.entries.items())
        self.expenses_by_client = _group((e.client, k) for k, e in self.expenses.items())
        self.expenses_by_project = _group((e.project, k) for k, e in self.expenses.items())
