"""Item models of the demo APIs (the documented response contract).

Money and quantities are ``Decimal`` and serialise as JSON strings ("1234.50"); dates as
"YYYY-MM-DD". Field names equal the attributes of the records in ``demo.records``, so an
item is built with ``Model.model_validate(record, from_attributes=True)``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

# --------------------------------------------------------------------------- ERP


class CustomerOut(BaseModel):
    """An ERP customer."""

    number: str
    name: str
    currency: str
    credit_limit: Decimal
    country: str
    vat_id: str
    discount_percent: Decimal
    payment_terms_days: int


class SupplierOut(BaseModel):
    """An ERP supplier."""

    number: str
    name: str
    currency: str
    country: str


class ProductOut(BaseModel):
    """A product with its price list (currency → unit price) and stock."""

    sku: str
    name: str
    unit: Literal["pcs", "h", "kg"]
    prices: dict[str, Decimal]
    on_hand: int
    available_from: dt.date | None
    manual_price: bool


class OrderOut(BaseModel):
    """A sales order header with totals (tax = 25 % of the untaxed total), without lines;
    only a draft is unlocked (accepts line writes)."""

    number: str
    customer: str
    status: Literal["draft", "quoted", "confirmed", "processing", "invoiced", "cancelled"]
    order_date: dt.date
    currency: str
    total_untaxed: Decimal
    tax: Decimal
    total: Decimal
    line_count: int
    version: int
    locked: bool


class OrderLineOut(BaseModel):
    """A sales order line as priced by the ERP; ``version`` increases with every change."""

    id: str
    order: str
    product: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    amount: Decimal
    currency: str
    delivery_date: dt.date
    version: int


class PaymentOut(BaseModel):
    """A settlement of an invoice: a payment (a refund, negative, on a credit note) or, with
    ``allocation``, a credit note allocated against an invoice (the other document)."""

    date: dt.date
    amount: Decimal
    allocation: str | None


class InvoiceOut(BaseModel):
    """A customer invoice or credit note (negative totals); ``amount_due = total -
    amount_paid`` (0 when cancelled); a draft has no due date."""

    number: str
    customer: str
    order: str | None
    project: str | None
    issue_date: dt.date
    due_date: dt.date | None
    currency: str
    total_untaxed: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    status: Literal["draft", "open", "paid", "cancelled"]
    kind: Literal["invoice", "credit_note"]
    credited_invoice: str | None
    payments: list[PaymentOut]


class ProjectOut(BaseModel):
    """An ERP project with its money budget."""

    number: str
    customer: str
    name: str
    currency: str
    budget: Decimal
    status: Literal["open", "closed"]
    start_date: dt.date


class PurchaseOrderOut(BaseModel):
    """A purchase order placed with a supplier."""

    number: str
    supplier: str
    status: Literal["open", "received", "cancelled"]
    order_date: dt.date
    expected_date: dt.date
    currency: str
    total: Decimal


class PayableOut(BaseModel):
    """A supplier invoice."""

    number: str
    supplier: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    total: Decimal
    amount_due: Decimal
    status: Literal["open", "paid"]


# --------------------------------------------------------------------------- CRM


class AccountOut(BaseModel):
    """A CRM account."""

    id: str
    name: str
    owner: str
    team: str
    segment: str
    country: str


class ContactOut(BaseModel):
    """A contact person at an account."""

    id: str
    account: str
    name: str
    email: str
    phone: str
    role: str


class ActivityOut(BaseModel):
    """A call, meeting or e-mail logged against an account."""

    id: str
    account: str
    type: Literal["call", "meeting", "email"]
    subject: str
    date: dt.date
    owner: str


# --------------------------------------------------------------------------- timesheet


class ClientOut(BaseModel):
    """A timesheet client (``code`` is upper-case A-Z0-9)."""

    code: str
    name: str


class TsProjectOut(BaseModel):
    """A timesheet project with hourly rate (in ``currency``) and hour budget."""

    code: str
    client: str
    name: str
    currency: str
    hourly_rate: Decimal
    budget_hours: Decimal


class EmployeeOut(BaseModel):
    """A consultant; ``cost_rate`` is per hour in EUR."""

    id: str
    name: str
    cost_rate: Decimal


class EntryOut(BaseModel):
    """Hours logged on a project; ``cost_amount`` is in the project's currency."""

    id: str
    client: str
    project: str
    employee: str
    date: dt.date
    hours: Decimal
    billable: bool
    invoiced: bool
    description: str
    cost_amount: Decimal
    currency: str


class ExpenseOut(BaseModel):
    """A travel expense on a project."""

    id: str
    client: str
    project: str
    employee: str
    date: dt.date
    amount: Decimal
    currency: str
    description: str
