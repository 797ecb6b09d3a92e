"""Generator of the ERP's money documents: sales orders and lines, customer invoices and
credit notes with payments, purchase orders and payables."""

from __future__ import annotations

import dataclasses
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
    InvoiceState,
    OrderLine,
    OrderState,
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
PoStatus = Literal["open", "received", "cancelled"]

PROCESSING_RATE = 0.3
"""Share of confirmed orders (at least two days old) whose invoice is drawn up as a draft."""
CANCEL_RATE = 0.05
"""Share of unpaid service-fee invoices cancelled as posted in error."""
CREDIT_RATE = 0.03
"""Share of posted invoices corrected by a credit note (returns, price corrections)."""
CREDIT_SHARES = (Decimal("0.10"), Decimal("0.20"), Decimal("0.25"), Decimal("0.50"), Decimal(1))
N_FRAMEWORK = 3
"""Customers with a framework agreement: they place call-off orders in batches."""
CALL_OFF_EVERY = 120
"""Days between two call-off batches of one framework customer."""


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """An invoice before numbering and payment: who, what for, when, how much untaxed.

    ``posted`` is False for an invoice the ERP has drawn up but not yet posted (the draft
    of a processing order); ``side`` is True when its payments are drawn from the
    generator's second random stream (documents added after the first release of the
    demo data, so that the first stream, and the data it made, stay as they were)."""

    customer: str
    order: str | None
    project: str | None
    issue_date: date
    currency: str
    untaxed: Decimal
    posted: bool = True
    side: bool = False


def _currency_for(rng: random.Random, parties: Parties, customer: ErpCustomer) -> str:
    second = parties.second_currency.get(customer.number)
    return second if second is not None and rng.random() < 0.25 else customer.currency


def _order_status(rng: random.Random, age: int) -> OrderState:
    """The state of an order ``age`` days old: old orders are mostly invoiced (or
    cancelled), recent ones still drafts, quotations or confirmed (one roll per order)."""
    roll = rng.random()
    if age > 60:
        if roll < 0.93:
            return "invoiced"
        return "cancelled" if roll < 0.95 else "confirmed" if roll < 0.98 else "draft"
    if age > 15:
        if roll < 0.5:
            return "invoiced"
        if roll < 0.52:
            return "cancelled"
        return "quoted" if roll < 0.62 else "confirmed" if roll < 0.88 else "draft"
    if roll < 0.08:
        return "invoiced"
    return "quoted" if roll < 0.25 else "confirmed" if roll < 0.58 else "draft"


def _quantity(rng: random.Random, product: Product) -> Decimal:
    if product.unit == "kg":
        return (Decimal(rng.randint(500, 250_000)) / 1000).quantize(Decimal("0.001"))
    if product.unit == "h":
        return (Decimal(rng.randint(2, 80)) / 4).quantize(Decimal("0.01"))
    return Decimal(rng.choice(PCS_QUANTITIES))


@dataclass
class _OrderBook:
    """Orders, lines and invoice drafts as they are made."""

    today: date
    orders: list[SalesOrder]
    lines: list[OrderLine]
    drafts: list[InvoiceDraft]

    def add(
        self,
        rng: random.Random,
        side: random.Random,
        number: str,
        cust: ErpCustomer,
        day: date,
        cur: str,
        products: list[Product],
        n_lines: int,
        *,
        extra: bool,
    ) -> None:
        """One order of ``n_lines`` lines priced from the price list (line values and the
        state from ``rng``), and its invoice draft when it is invoiced or processing
        (from ``side``, which also draws a confirmed order's move to processing)."""
        untaxed = Decimal("0.00")
        for _ in range(n_lines):
            product = rng.choice(products)
            qty = _quantity(rng, product)
            disc = cust.discount_percent
            if rng.random() < 0.1:
                disc = min(disc + Decimal(rng.choice((5, 10))), Decimal("30.00"))
            price = product.prices[cur]
            amount = money(qty * price * (1 - disc / 100))
            untaxed += amount
            self.lines.append(
                OrderLine(
                    id=str(len(self.lines) + 1),
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
        age = (self.today - day).days
        status = _order_status(rng, age)
        tax = money(untaxed * TAX_RATE)
        if status == "invoiced":
            issue = min(day + timedelta(days=rng.randint(0, 14)), self.today)
            self.drafts.append(
                InvoiceDraft(cust.number, number, None, issue, cur, untaxed, side=extra)
            )
        elif status == "confirmed" and age >= 2 and side.random() < PROCESSING_RATE:
            # the ERP has drawn up the invoice; until it is posted the order is processing
            status = "processing"
            issue = min(day + timedelta(days=side.randint(1, 10)), self.today)
            self.drafts.append(
                InvoiceDraft(cust.number, number, None, issue, cur, untaxed, posted=False)
            )
        self.orders.append(
            SalesOrder(number, cust.number, status, day, cur, untaxed, tax, untaxed + tax, n_lines)
        )


def make_orders(
    rng: random.Random,
    side: random.Random,
    cal: Calendar,
    parties: Parties,
    products: list[Product],
) -> tuple[list[SalesOrder], list[OrderLine], list[InvoiceDraft]]:
    """Sales orders "SO-100001".. numbered by date, the framework customers' call-off
    orders "CO-<customer>-<n>", their lines (ids "1"..), and one invoice draft per invoiced
    or processing order. Older orders are mostly invoiced, recent ones draft, quoted or
    confirmed; a confirmed order whose invoice is drawn up but not posted is processing.
    Orders are returned in number (key) order."""
    cumulative = list(accumulate(parties.size_weight))
    raw = []
    for seq in range(N_ORDERS):
        cust = pick(rng, parties.customers, cumulative)
        raw.append((cal.sample(rng), seq, cust, _currency_for(rng, parties, cust)))
    raw.sort(key=lambda r: (r[0], r[1]))
    book = _OrderBook(cal.today, [], [], [])
    for i, (day, _, cust, cur) in enumerate(raw):
        n_lines = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8))
        book.add(rng, side, f"SO-{100001 + i}", cust, day, cur, products, n_lines, extra=False)
    _call_offs(side, cal, parties, products, book)
    book.orders.sort(key=lambda o: o.number)
    return book.orders, book.lines, book.drafts


def framework_customers(parties: Parties) -> list[ErpCustomer]:
    """The customers with a framework agreement: the largest ones known to every system
    (key accounts), ``N_FRAMEWORK`` of them."""
    linked = [
        (weight, c)
        for weight, c in zip(parties.size_weight, parties.customers, strict=True)
        if c.number in parties.account_of
        and c.number in parties.client_of
        and c.number not in parties.unlinked
    ]
    linked.sort(key=lambda pair: (-pair[0], pair[1].number))
    return [c for _, c in linked[:N_FRAMEWORK]]


def _call_offs(
    side: random.Random,
    cal: Calendar,
    parties: Parties,
    products: list[Product],
    book: _OrderBook,
) -> None:
    """Call-off orders of the framework customers: every ``CALL_OFF_EVERY`` days one batch
    of 10 to 13 orders on one day (one per delivery site), numbered per customer
    "CO-<customer>-1", "-2", .. (so one day holds "CO-..-9" and "CO-..-10")."""
    stocked = [p for p in products if p.unit == "pcs"]
    for cust in framework_customers(parties):
        day = cal.first + timedelta(days=side.randint(0, 30))
        count = 0
        while day <= cal.today:
            for _ in range(side.randint(10, 13)):
                count += 1
                number = f"CO-{cust.number}-{count}"
                n_lines = side.choice((1, 1, 2, 3))
                book.add(side, side, number, cust, day, cust.currency, stocked, n_lines, extra=True)
            day += timedelta(days=CALL_OFF_EVERY + side.randint(-10, 10))


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


def _settled(base: Invoice, payments: tuple[Payment, ...]) -> Invoice:
    """``base`` with ``payments`` (sorted by date) and what they leave due: paid once
    nothing is due, else open."""
    ordered = tuple(sorted(payments, key=lambda p: p.date))
    paid = sum((p.amount for p in ordered), Decimal("0.00"))
    due = base.total - paid
    status: InvoiceState = "paid" if due == 0 else "open"
    return dataclasses.replace(
        base, payments=ordered, amount_paid=paid, amount_due=due, status=status
    )


def _document(d: InvoiceDraft, terms_days: int) -> Invoice:
    """An unnumbered, unpaid invoice for ``d``: tax added; a draft has no due date yet."""
    tax = money(d.untaxed * TAX_RATE)
    return Invoice(
        number="",
        customer=d.customer,
        order=d.order,
        project=d.project,
        issue_date=d.issue_date,
        due_date=d.issue_date + timedelta(days=terms_days) if d.posted else None,
        currency=d.currency,
        total_untaxed=d.untaxed,
        tax=tax,
        total=d.untaxed + tax,
        amount_paid=Decimal("0.00"),
        amount_due=d.untaxed + tax,
        status="open" if d.posted else "draft",
        payments=(),
    )


def finish_invoices(
    rng: random.Random,
    side: random.Random,
    cal: Calendar,
    parties: Parties,
    drafts: list[InvoiceDraft],
) -> list[Invoice]:
    """Number drafts "INV-200001".. by issue date (credit notes in the same series), add
    tax, due date and payments, and apply the ERP's later rules: an unpaid service-fee
    invoice is now and then cancelled; a few posted invoices get a credit note, which is
    allocated against the invoice while that is still open, else refunded or left open.
    Payments of drafts marked ``side``, cancellations and credit notes draw from ``side``.
    """
    terms = {c.number: c.payment_terms_days for c in parties.customers}
    ordered = sorted(enumerate(drafts), key=lambda p: (p[1].issue_date, p[0]))
    docs: list[Invoice] = []
    for _, d in ordered:
        doc = _document(d, terms[d.customer])
        if d.posted:
            assert doc.due_date is not None
            payments = _payments(
                side if d.side else rng, cal.today, d.issue_date, doc.due_date, doc.total
            )
            standalone = d.order is None and d.project is None
            if not payments and standalone and side.random() < CANCEL_RATE:
                doc = dataclasses.replace(doc, status="cancelled", amount_due=Decimal("0.00"))
            else:
                doc = _settled(doc, payments)
        docs.append(doc)
    _credit_notes(side, cal, terms, docs)
    seq = sorted(range(len(docs)), key=lambda i: (docs[i].issue_date, i))
    numbers = {f"#{i}": f"INV-{200001 + n}" for n, i in enumerate(seq)}

    def named(doc: Invoice, i: int) -> Invoice:
        return dataclasses.replace(
            doc,
            number=numbers[f"#{i}"],
            credited_invoice=numbers.get(doc.credited_invoice or ""),
            payments=tuple(
                dataclasses.replace(p, allocation=numbers[p.allocation]) if p.allocation else p
                for p in doc.payments
            ),
        )

    return [named(docs[i], i) for i in seq]


def _credit_notes(
    side: random.Random, cal: Calendar, terms: dict[str, int], docs: list[Invoice]
) -> None:
    """Append to ``docs`` the credit notes of the posted invoices in it (returns, price
    corrections): a share of the invoice, dated 3 to 75 days after it (today at the
    latest, so the current year always holds some), due on the customer's terms.
    While the invoice is still open for at least the credited amount the credit note is
    allocated against it (both settle by that amount); otherwise it is refunded to the
    customer, the more likely the longer it is due, or still open. Documents refer to
    each other as "#<index in docs>" until they are numbered."""
    for index in range(len(docs)):
        inv = docs[index]
        if inv.status not in ("open", "paid") or side.random() >= CREDIT_RATE:
            continue
        # the return or correction is credited 3 to 75 days later, today at the latest
        issue = min(inv.issue_date + timedelta(days=side.randint(3, 75)), cal.today)
        untaxed = -money(inv.total_untaxed * side.choice(CREDIT_SHARES))
        tax = money(untaxed * TAX_RATE)
        note = Invoice(
            number="",
            customer=inv.customer,
            order=inv.order,
            project=inv.project,
            issue_date=issue,
            due_date=issue + timedelta(days=terms[inv.customer]),
            currency=inv.currency,
            total_untaxed=untaxed,
            tax=tax,
            total=untaxed + tax,
            amount_paid=Decimal("0.00"),
            amount_due=untaxed + tax,
            status="open",
            payments=(),
            kind="credit_note",
            credited_invoice=f"#{index}",
        )
        me = f"#{len(docs)}"
        if inv.status == "open" and inv.amount_due >= -note.total and side.random() < 0.5:
            docs[index] = _settled(inv, (*inv.payments, Payment(issue, -note.total, allocation=me)))
            note = _settled(note, (Payment(issue, note.total, allocation=f"#{index}"),))
        else:
            assert note.due_date is not None
            late = (cal.today - note.due_date).days
            if side.random() < (0.7 if late > 60 else 0.4 if late > 0 else 0.1):
                refunded = note.due_date + timedelta(days=side.randint(0, 20))
                note = _settled(note, (Payment(min(refunded, cal.today), note.total),))
        docs.append(note)


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
