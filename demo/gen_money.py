"""Generator of the ERP's money documents: sales orders and lines, customer invoices with
payments, purchase orders and payables."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Literal

from demo.gen_common import (
    TAX_RATE,
    Calendar,
    eur_to,
    money,
    next_month_start,
    pick,
)
from demo.gen_parties import Parties
from demo.gen_work import Work
from demo.records import (
    ErpCustomer,
    ErpSupplier,
    Invoice,
    OrderLine,
    Payable,
    Payment,
    Product,
    PurchaseOrder,
    SalesOrder,
)

N_ORDERS = 2_300
MIN_INVOICES = 5_200
N_PURCHASE_ORDERS = 420
N_PAYABLES = 650
PCS_QUANTITIES = (1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 20, 25, 50)
OrderStatus = Literal["draft", "confirmed", "invoiced"]
PoStatus = Literal["open", "received", "cancelled"]


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """An invoice before numbering and payment: who, what for, when, how much untaxed."""

    customer: str
    order: str | None
    project: str | None
    issue_date: date
    currency: str
    untaxed: Decimal


def _currency_for(rng: random.Random, parties: Parties, customer: ErpCustomer) -> str:
    second = parties.second_currency.get(customer.number)
    return second if second is not None and rng.random() < 0.25 else customer.currency


def _order_status(rng: random.Random, age: int) -> OrderStatus:
    roll = rng.random()
    if age > 60:
        return "invoiced" if roll < 0.93 else "confirmed" if roll < 0.98 else "draft"
    if age > 15:
        return "invoiced" if roll < 0.5 else "confirmed" if roll < 0.88 else "draft"
    return "invoiced" if roll < 0.08 else "confirmed" if roll < 0.58 else "draft"


def _quantity(rng: random.Random, product: Product) -> Decimal:
    if product.unit == "kg":
        return (Decimal(rng.randint(500, 250_000)) / 1000).quantize(Decimal("0.001"))
    if product.unit == "h":
        return (Decimal(rng.randint(2, 80)) / 4).quantize(Decimal("0.01"))
    return Decimal(rng.choice(PCS_QUANTITIES))


def make_orders(
    rng: random.Random, cal: Calendar, parties: Parties, products: list[Product]
) -> tuple[list[SalesOrder], list[OrderLine], list[InvoiceDraft]]:
    """Sales orders "SO-100001".. numbered by date, their lines (ids "1"..), and one invoice
    draft per invoiced order. Older orders are mostly invoiced, recent ones draft/confirmed."""
    cumulative = list(accumulate(parties.size_weight))
    raw = []
    for seq in range(N_ORDERS):
        cust = pick(rng, parties.customers, cumulative)
        raw.append((cal.sample(rng), seq, cust, _currency_for(rng, parties, cust)))
    raw.sort(key=lambda r: (r[0], r[1]))
    orders: list[SalesOrder] = []
    lines: list[OrderLine] = []
    drafts: list[InvoiceDraft] = []
    for i, (day, _, cust, cur) in enumerate(raw):
        number = f"SO-{100001 + i}"
        untaxed = Decimal("0.00")
        n_lines = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8))
        for _ in range(n_lines):
            product = rng.choice(products)
            qty = _quantity(rng, product)
            disc = cust.discount_percent
            if rng.random() < 0.1:
                disc = min(disc + Decimal(rng.choice((5, 10))), Decimal("30.00"))
            price = product.prices[cur]
            amount = money(qty * price * (1 - disc / 100))
            untaxed += amount
            lines.append(
                OrderLine(
                    id=str(len(lines) + 1),
                    order=number,
                    product=product.sku,
                    description=product.name,
                    quantity=qty,
                    unit_price=price,
                    discount_percent=disc,
                    amount=amount,
                    currency=cur,
                    delivery_date=day + timedelta(days=rng.randint(3, 60)),
                    version=1 if rng.random() < 0.9 else rng.randint(2, 4),
                )
            )
        status = _order_status(rng, (cal.today - day).days)
        tax = money(untaxed * TAX_RATE)
        orders.append(
            SalesOrder(number, cust.number, status, day, cur, untaxed, tax, untaxed + tax, n_lines)
        )
        if status == "invoiced":
            issue = min(day + timedelta(days=rng.randint(0, 14)), cal.today)
            drafts.append(InvoiceDraft(cust.number, number, None, issue, cur, untaxed))
    return orders, lines, drafts


def project_invoice_drafts(rng: random.Random, cal: Calendar, work: Work) -> list[InvoiceDraft]:
    """Monthly invoices per ERP project: invoiced timesheet hours, or a fixed fee when the
    project has no timesheet project."""
    by_number = {p.number: p for p in work.projects}
    drafts = []
    for erp, month, amount in work.billed:
        p = by_number[erp]
        issue = min(next_month_start(month) + timedelta(days=2), cal.today)
        drafts.append(InvoiceDraft(p.customer, None, erp, issue, p.currency, amount))
    for p in work.projects:
        if p.number in work.ts_of:
            continue
        day = next_month_start(p.start_date) + timedelta(days=2)
        while day <= min(work.end_of[p.number], cal.today):
            fee = money(p.budget * Decimal(str(round(rng.uniform(0.04, 0.12), 3))))
            drafts.append(InvoiceDraft(p.customer, None, p.number, day, p.currency, fee))
            day = next_month_start(day) + timedelta(days=2)
    return drafts


def standalone_drafts(
    rng: random.Random, cal: Calendar, parties: Parties, count: int
) -> list[InvoiceDraft]:
    """``count`` invoices with neither order nor project (service fees, subscriptions)."""
    cumulative = list(accumulate(parties.size_weight))
    out = []
    for _ in range(count):
        cust = pick(rng, parties.customers, cumulative)
        cur = _currency_for(rng, parties, cust)
        amount = eur_to(round(rng.uniform(150, 12_000), 0), cur)
        out.append(InvoiceDraft(cust.number, None, None, cal.sample(rng), cur, amount))
    return out


def _payments(
    rng: random.Random, today: date, issue: date, due: date, total: Decimal
) -> tuple[Payment, ...]:
    overdue_days = (today - due).days
    p_paid = 0.96 if overdue_days > 45 else 0.5 if overdue_days > 0 else 0.15
    last = min(due + timedelta(days=20), today)
    span = max((last - issue).days, 0)
    if rng.random() < p_paid:
        if rng.random() < 0.8 or span < 2:
            return (Payment(issue + timedelta(days=rng.randint(0, span)), total),)
        first = money(total * Decimal(str(round(rng.uniform(0.3, 0.7), 2))))
        d1 = issue + timedelta(days=rng.randint(0, span // 2))
        d2 = d1 + timedelta(days=rng.randint(1, span - (d1 - issue).days))
        return (Payment(d1, first), Payment(d2, total - first))
    if rng.random() < 0.2:
        part = money(total * Decimal(str(round(rng.uniform(0.2, 0.7), 2))))
        return (Payment(issue + timedelta(days=rng.randint(0, span)), part),)
    return ()


def finish_invoices(
    rng: random.Random, cal: Calendar, parties: Parties, drafts: list[InvoiceDraft]
) -> list[Invoice]:
    """Number drafts "INV-200001".. by issue date, add tax, due date and payments."""
    terms = {c.number: c.payment_terms_days for c in parties.customers}
    ordered = sorted(enumerate(drafts), key=lambda p: (p[1].issue_date, p[0]))
    out: list[Invoice] = []
    for i, (_, d) in enumerate(ordered):
        tax = money(d.untaxed * TAX_RATE)
        total = d.untaxed + tax
        due = d.issue_date + timedelta(days=terms[d.customer])
        payments = _payments(rng, cal.today, d.issue_date, due, total)
        paid = sum((p.amount for p in payments), Decimal("0.00"))
        out.append(
            Invoice(
                number=f"INV-{200001 + i}",
                customer=d.customer,
                order=d.order,
                project=d.project,
                issue_date=d.issue_date,
                due_date=due,
                currency=d.currency,
                total_untaxed=d.untaxed,
                tax=tax,
                total=total,
                amount_paid=paid,
                amount_due=total - paid,
                status="paid" if paid == total else "open",
                payments=payments,
            )
        )
    return out


def make_purchasing(
    rng: random.Random, cal: Calendar, suppliers: list[ErpSupplier]
) -> tuple[list[PurchaseOrder], list[Payable]]:
    """Purchase orders "PO-500001".. and supplier invoices "SI-800001".., numbered by date."""
    pos_raw = []
    for seq in range(N_PURCHASE_ORDERS):
        sup = rng.choice(suppliers)
        day = cal.sample(rng)
        expected = day + timedelta(days=rng.randint(7, 45))
        roll = rng.random()
        status: PoStatus
        if expected < cal.today - timedelta(days=5):
            status = "received" if roll < 0.9 else "cancelled" if roll < 0.95 else "open"
        else:
            status = "open" if roll < 0.9 else "cancelled"
        total = eur_to(round(rng.uniform(200, 40_000), 0), sup.currency)
        pos_raw.append((day, seq, sup, status, expected, total))
    pos_raw.sort(key=lambda r: (r[0], r[1]))
    pos = [
        PurchaseOrder(f"PO-{500001 + i}", sup.number, status, day, expected, sup.currency, total)
        for i, (day, _, sup, status, expected, total) in enumerate(pos_raw)
    ]
    pay_raw = []
    for seq in range(N_PAYABLES):
        sup = rng.choice(suppliers)
        issue = cal.sample(rng)
        due = issue + timedelta(days=rng.choice((14, 30, 30, 45)))
        total = eur_to(round(rng.uniform(100, 25_000), 0), sup.currency)
        paid = due < cal.today - timedelta(days=10) and rng.random() < 0.95
        paid = paid or rng.random() < 0.1
        pay_raw.append((issue, seq, sup, due, total, paid))
    pay_raw.sort(key=lambda r: (r[0], r[1]))
    payables = [
        Payable(
            f"SI-{800001 + i}",
            sup.number,
            issue,
            due,
            sup.currency,
            total,
            Decimal("0.00") if paid else total,
            "paid" if paid else "open",
        )
        for i, (issue, _, sup, due, total, paid) in enumerate(pay_raw)
    ]
    return pos, payables
