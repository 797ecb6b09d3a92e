"""The contract suite's business facts loaded into the demo ERP (demo/erp.py).

The demo ERP serves a ``DemoDataset``; this loader builds one that holds only the facts of
``tests.support.contract.BUSINESS_FACTS`` for one customer, by the demo ERP's own rules
(tax 25 % of the untaxed total, ``amount_due = total - amount_paid``, a processing order's
invoice is a draft without a due date, an invoiced order's invoice is posted, a line's
amount is quantity x unit price less its discount, to the cent), and the REST adapter
reads it in-process through ``httpx.ASGITransport``.

The demo ERP keeps purchase order headers but no purchase lines, a credit limit but no
credit used, no units on order lines and no timesheets: the facts hold none of those, and
``UNSUPPORTED_READS`` and ``UNSUPPORTED_FIGURES`` declare them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx

from demo import erp
from demo.records import (
    DemoDataset,
    ErpCustomer,
    ErpProject,
    ErpSupplier,
    Invoice,
    OrderLine,
    OrderState,
    Payment,
    Product,
    PurchaseOrder,
    SalesOrder,
)
from sources.rest import RestConfig, RestSource
from tests.support.contract import Seeded, TransportWrapper
from tests.support.servers import ServerThread

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "erp.yaml"
CUSTOMER = "90001"
CURRENCY = "EUR"
TAX = Decimal("0.25")
CENT = Decimal("0.01")
PRODUCTS = {"P-9001": Decimal("40.00"), "P-9002": Decimal("110.00")}
PROJECT_CUSTOMER = "90901"
"""The customer of the project fact (its invoices are not the facts' customer's)."""
SUPPLIER = "70001"
UNSUPPORTED_READS = frozenset({"purchase_order_lines"})
"""What the demo ERP keeps none of: purchase lines (the REST adapter declares no such
read: null with NOT_SUPPORTED)."""
UNSUPPORTED_FIGURES = frozenset({"credit_used", "line_unit", "project_hours"})
"""The demo ERP keeps no credit used and no units on order lines; hours are the demo
timesheet's, not this ERP's."""

Line = tuple[str, int] | tuple[str, int, Decimal]
"""(product, quantity) or (product, quantity, discount percent)."""


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


class _Book:
    """Orders, lines and invoices as the loader makes them."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.orders: dict[str, SalesOrder] = {}
        self.lines: dict[str, OrderLine] = {}
        self.invoices: dict[str, Invoice] = {}
        self._next_line = 1
        self._next_invoice = 1

    def order(
        self, number: str, status: OrderState, days_ago: int, lines: list[Line]
    ) -> SalesOrder:
        day = self.today - timedelta(days=days_ago)
        untaxed = Decimal("0.00")
        for sku, quantity, *off in lines:
            discount = off[0] if off else Decimal(0)
            amount = _money(PRODUCTS[sku] * quantity * (1 - discount / 100))
            line_id = str(self._next_line)
            self._next_line += 1
            self.lines[line_id] = OrderLine(
                id=line_id,
                order=number,
                product=sku,
                description=f"{sku} for {number}",
                quantity=Decimal(quantity),
                unit_price=PRODUCTS[sku],
                discount_percent=discount,
                amount=amount,
                currency=CURRENCY,
                delivery_date=day + timedelta(days=14),
                version=1,
            )
            untaxed += amount
        tax = _money(untaxed * TAX)
        order = SalesOrder(
            number=number,
            customer=CUSTOMER,
            status=status,
            order_date=day,
            currency=CURRENCY,
            total_untaxed=untaxed,
            tax=tax,
            total=untaxed + tax,
            line_count=len(lines),
        )
        self.orders[number] = order
        return order

    def invoice(
        self,
        order: SalesOrder | None,
        issued: date,
        *,
        posted: bool = True,
        cancelled: bool = False,
        paid: Decimal = Decimal(0),
        credits: Invoice | None = None,
    ) -> Invoice:
        number = self._invoice_number()
        sign = -1 if credits is not None else 1
        source = credits if credits is not None else order
        assert source is not None
        untaxed = sign * abs(source.total_untaxed)
        tax = sign * abs(source.tax)
        total = untaxed + tax
        invoice = Invoice(
            number=number,
            customer=CUSTOMER,
            order=order.number if order is not None and not cancelled else None,
            project=None,
            issue_date=issued,
            # due on receipt (a cancelled one kept its date); a draft has none
            due_date=issued if posted or cancelled else None,
            currency=CURRENCY,
            total_untaxed=untaxed,
            tax=tax,
            total=total,
            amount_paid=paid,
            amount_due=total - paid if posted and not cancelled else Decimal(0),
            status="cancelled" if cancelled else "open" if posted else "draft",
            payments=(Payment(issued, paid),) if paid else (),
            kind="credit_note" if credits is not None else "invoice",
            credited_invoice=credits.number if credits is not None else None,
        )
        self.invoices[number] = invoice
        return invoice

    def _invoice_number(self) -> str:
        number = f"INV-9{self._next_invoice:05d}"
        self._next_invoice += 1
        return number

    def project_invoice(self, project: str, issued: date, untaxed: Decimal) -> Invoice:
        """A posted, unpaid invoice of ``project`` (its customer's, no order), due on
        receipt."""
        tax = _money(untaxed * TAX)
        number = self._invoice_number()
        invoice = Invoice(
            number=number,
            customer=PROJECT_CUSTOMER,
            order=None,
            project=project,
            issue_date=issued,
            due_date=issued,
            currency=CURRENCY,
            total_untaxed=untaxed,
            tax=tax,
            total=untaxed + tax,
            amount_paid=Decimal(0),
            amount_due=untaxed + tax,
            status="open",
            payments=(),
        )
        self.invoices[number] = invoice
        return invoice


def business_facts(today: date) -> tuple[DemoDataset, dict[str, Any]]:
    """A demo dataset holding the facts, and what was made (``Seeded`` JSON shape)."""
    book = _Book(today)
    past = today - timedelta(days=5)
    same = [
        book.order(f"CO-{CUSTOMER}-{n}", "quoted", 4, [("P-9001", n)]) for n in range(18, 8, -1)
    ]
    draft = book.order("SO-900101", "draft", 2, [("P-9001", 3)])
    # a quotation whose second line was given 12.5 % off before it was quoted
    quotation = book.order(
        "SO-900102", "quoted", 9, [("P-9002", 5), ("P-9001", 3, Decimal("12.5"))]
    )
    discounted = next(
        line
        for line in book.lines.values()
        if line.order == quotation.number and line.discount_percent
    )
    cancelled = book.order("SO-900103", "cancelled", 12, [("P-9002", 1)])
    processing = book.order("SO-900104", "processing", 6, [("P-9002", 3)])
    draft_invoice = book.invoice(processing, past, posted=False)
    invoiced = book.order("SO-900105", "invoiced", 60, [("P-9001", 2)])
    plain = book.invoice(invoiced, past)
    partly_order = book.order("SO-900106", "invoiced", 40, [("P-9001", 2), ("P-9002", 2)])
    partly_total = partly_order.total
    partly = book.invoice(partly_order, past, paid=_money(partly_total / 4))
    credited_order = book.order("SO-900107", "invoiced", 50, [("P-9001", 20)])
    credited = book.invoice(credited_order, past)
    credit_note = book.invoice(None, past, credits=credited)
    today_order = book.order("SO-900108", "invoiced", 1, [("P-9001", 1)])
    due_today = book.invoice(today_order, today)
    # an invoice cancelled before it was posted (its amounts those of the cancelled order's)
    cancelled_invoice = book.invoice(cancelled, past, posted=False, cancelled=True)
    # a project of another customer, billed with two invoices
    project = ErpProject(
        number="PRJ-9001",
        customer=PROJECT_CUSTOMER,
        name="Contract project",
        currency=CURRENCY,
        budget=Decimal("20000.00"),
        status="open",
        start_date=today - timedelta(days=90),
    )
    project_invoices = [
        book.project_invoice(project.number, past, Decimal("1200.00")),
        book.project_invoice(project.number, today, Decimal("300.00")),
    ]
    # a supplier with a purchase awaiting its goods and a cancelled one
    purchases = {
        "open": PurchaseOrder(
            number="PO-900001",
            supplier=SUPPLIER,
            status="open",
            order_date=today - timedelta(days=3),
            expected_date=today + timedelta(days=4),
            currency=CURRENCY,
            total=Decimal("1246.00"),
        ),
        "cancelled": PurchaseOrder(
            number="PO-900002",
            supplier=SUPPLIER,
            status="cancelled",
            order_date=today - timedelta(days=8),
            expected_date=today - timedelta(days=1),
            currency=CURRENCY,
            total=Decimal("355.00"),
        ),
    }

    def order_out(o: SalesOrder) -> dict[str, Any]:
        return {"key": o.number, "number": o.number, "total": str(o.total)}

    def invoice_out(i: Invoice) -> dict[str, Any]:
        return {
            "key": i.number,
            "number": i.number,
            "issue_date": i.issue_date.isoformat(),
            "total": str(i.total),
            "untaxed": str(i.total_untaxed),
            "amount_due": str(i.amount_due),
            "issued": i.is_posted,
        }

    line_of = {line.order: line.id for line in reversed(book.lines.values())}
    made: dict[str, Any] = {
        "customer": CUSTOMER,
        "today": today.isoformat(),
        "orders": {
            "invoiced": order_out(invoiced),
            "processing": order_out(processing),
            "quotation": order_out(quotation),
            "draft": order_out(draft),
            "cancelled": order_out(cancelled),
        },
        "invoices": {
            "plain_overdue": invoice_out(plain),
            "partly_paid": invoice_out(partly),
            "credited": invoice_out(credited),
            "credit_note": invoice_out(credit_note),
            "draft_of_processing": invoice_out(draft_invoice),
            "due_today": invoice_out(due_today),
            "cancelled_invoice": invoice_out(cancelled_invoice),
        },
        "same_day": [order_out(o) for o in same],
        "same_day_date": (today - timedelta(days=4)).isoformat(),
        "draft_line": line_of[draft.number],
        "locked_line": line_of[quotation.number],
        "discounted_line": {
            "key": discounted.id,
            "order": "quotation",
            "quantity": str(discounted.quantity),
            "unit": None,
            "unit_price": str(discounted.unit_price),
            "discount_percent": str(discounted.discount_percent),
            "amount": str(discounted.amount),
            "currency": discounted.currency,
        },
        "credit": {"limit": "10000.00", "used": None, "currency": CURRENCY},
        "supplier": SUPPLIER,
        "purchases": {
            name: {
                "key": po.number,
                "number": po.number,
                "status": po.status.upper(),
                "total": str(po.total),
                "currency": po.currency,
                "lines": None,
            }
            for name, po in purchases.items()
        },
        "project": {
            "key": project.number,
            "invoices": [i.number for i in project_invoices],
            "hours": None,
            "billed": None,
            "unbilled": None,
        },
    }
    customers = {
        number: ErpCustomer(
            number=number,
            name=name,
            currency=CURRENCY,
            credit_limit=Decimal(made["credit"]["limit"]),
            country="DE",
            vat_id=f"DE00000000{n}",
            discount_percent=Decimal(0),
            payment_terms_days=0,
        )
        for n, (number, name) in enumerate(
            [(CUSTOMER, "Contract Facts Ltd"), (PROJECT_CUSTOMER, "Contract Projects GmbH")]
        )
    }
    supplier = ErpSupplier(
        number=SUPPLIER, name="Contract Supplies AG", currency=CURRENCY, country="DE"
    )
    products = {
        sku: Product(
            sku=sku,
            name=f"Part {sku}",
            unit="pcs",
            prices={CURRENCY: price},
            on_hand=50,
            available_from=None,
        )
        for sku, price in PRODUCTS.items()
    }
    dataset = DemoDataset(
        seed=0,
        today=today,
        customers=customers,
        suppliers={SUPPLIER: supplier},
        products=products,
        orders=book.orders,
        order_lines=book.lines,
        invoices=book.invoices,
        projects={project.number: project},
        purchase_orders={po.number: po for po in purchases.values()},
        payables={},
        accounts={},
        contacts={},
        activities={},
        clients={},
        ts_projects={},
        employees={},
        entries={},
        expenses={},
        entities=[],
    )
    dataset.build_indexes()
    return dataset, made


class DemoFacts:
    """The demo ERP serving the facts, and REST adapters over it (no sockets)."""

    def __init__(self, today: date | None = None) -> None:
        dataset, made = business_facts(today or date.today())
        self.app = erp.create_app(dataset)
        self.seeded = Seeded.from_json(made)
        self._server: ServerThread | None = None

    def adapter(self, wrap: TransportWrapper | None = None, spec: Path = SPEC) -> RestSource:
        """A REST adapter (``spec``, by default demo/specs/erp.yaml) over the facts;
        ``wrap`` wraps its HTTP."""
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=self.app)
        if wrap is not None:
            transport = wrap(transport)
        config = RestConfig(kind="erp", adapter="rest", url="http://demo-erp", spec=spec)
        return RestSource("erp", config, transport)

    @property
    def url(self) -> str:
        """The demo ERP serving the facts on loopback (started on first use), for a Keylink
        in front of it."""
        if self._server is None:
            self._server = ServerThread(self.app)
            self._server.start()
        return self._server.url

    def gateway_system(self, spec: Path = SPEC) -> dict[str, Any]:
        """The ``systems:`` entry of a Keylink reading the facts through ``spec``."""
        return {"kind": "erp", "adapter": "rest", "url": self.url, "spec": str(spec)}

    def stop(self) -> None:
        """Stop serving on loopback (if started)."""
        if self._server is not None:
            self._server.stop()
            self._server = None


def is_write(request: httpx.Request) -> bool:
    """A write to the demo ERP: any non-GET but a preview."""
    return request.method != "GET" and not request.url.path.endswith("/preview")
