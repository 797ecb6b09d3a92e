"""The contract suite's business facts (tests/support/contract.py), made in Tryton through
Tryton's own workflow.

Run with the Tryton venv's python (proteus, in-process, so Tryton's rules apply) on a
private copy of the seeded database while trytond is stopped. It does not import Keylink.
It creates party ``C-FACTS`` and, through Tryton's buttons and wizards, every fact of
``BUSINESS_FACTS``: the sales and invoices, a discounted quotation line (``sale_discount``),
C-FACTS's credit limit (``account_credit_limit``), supplier ``S-FACTS`` with a confirmed and
a cancelled purchase (``purchase``), and a project of party ``C-FACTS-P`` invoiced on
timesheet with one invoiced and one uninvoiced timesheet line (``project_invoice``); it
prints what it made (ids, numbers, and the amounts Tryton computed) as JSON in the shape
of ``tests.support.contract.Seeded``.

    python tryton_facts.py --config trytond.conf --database keylink
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from proteus import Model

# the shared proteus helpers (demo/tryton/proteus_kit.py); this runs in Tryton's venv
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demo" / "tryton"))
import proteus_kit as kit

PARTY = "C-FACTS"
SUPPLIER = "S-FACTS"
PROJECT_PARTY = "C-FACTS-P"
CREDIT_LIMIT = Decimal("1000.00")
HOURS = ((10, 4.0), (2, 2.5))
"""The project's timesheet lines (days ago, hours); those up to 5 days ago are invoiced."""


def keyed(record: Any) -> str:
    """How Keylink names a sale or an invoice: its number, else ``draft-<id>``."""
    return str(record.number) if record.number else f"draft-{record.id}"


def unit_out(unit: Any) -> list[Any]:
    """A unit of measure as ``Seeded`` takes it: [symbol, digits]."""
    return [unit.symbol, unit.digits]


def hours_of(line: Any) -> Decimal:
    """A timesheet line's duration in hours."""
    return Decimal(str(line.duration.total_seconds())) / 3600


def purchase_out(purchase: Any, status: str) -> dict[str, Any]:
    """A purchase as Tryton has it (``status``: what it means to Keylink)."""
    purchase.reload()
    return {
        "key": keyed(purchase),
        "number": purchase.number,
        "status": status,
        "total": str(purchase.total_amount),
        "currency": purchase.currency.code,
        "lines": [
            {
                "key": str(line.id),
                "quantity": str(line.quantity),
                "unit": unit_out(line.unit),
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
            }
            for line in purchase.lines
            if line.type == "line"
        ],
    }


def main() -> None:
    """Make the facts and print what was made."""
    args = kit.parse_args(__doc__)
    config = kit.connect(args.config, args.database)
    today = dt.date.today()

    net30 = kit.find_payment_term("Net 30")
    on_receipt = kit.payment_term("Due on receipt (contract)")
    past = kit.earliest_new_invoice_date(today)
    payment_method = kit.the_payment_method()
    products = kit.products_by_code()
    party = kit.party("Contract Facts Ltd", PARTY, payment_term=net30)

    def sale(days_ago: int, lines: list[tuple[str, float]], description: str) -> Any:
        return kit.sale(
            party,
            today - dt.timedelta(days=days_ago),
            [(products[code], quantity) for code, quantity in lines],
            description,
            net30,
        )

    def confirmed(
        days_ago: int, lines: list[tuple[str, float]], description: str, on: dt.date
    ) -> tuple[Any, Any]:
        """A processing sale of ``days_ago`` and its (still draft) invoice dated ``on``,
        due on receipt."""
        return kit.confirmed_sale(
            party,
            today - dt.timedelta(days=days_ago),
            [(products[code], quantity) for code, quantity in lines],
            description,
            on_receipt,
            on,
        )

    def order_out(order: Any) -> dict[str, Any]:
        order.reload()
        return {"key": keyed(order), "number": order.number, "total": str(order.total_amount)}

    def invoice_out(invoice: Any) -> dict[str, Any]:
        invoice.reload()
        return {
            "key": keyed(invoice),
            "number": invoice.number,
            "issue_date": invoice.invoice_date.isoformat() if invoice.invoice_date else None,
            "total": str(invoice.total_amount),
            "untaxed": str(invoice.untaxed_amount),
            "amount_due": str(invoice.amount_to_pay),
            "issued": invoice.state in ("posted", "paid"),
        }

    orders: dict[str, Any] = {}
    invoices: dict[str, Any] = {}

    # ten quotations on one day, quoted in the reverse order of their making
    same = [sale(4, [("CBL-5M", i + 1)], f"Same day {i + 1}") for i in range(10)]
    for order in reversed(same):
        order.click("quote")

    # a draft order (editable) and a quotation (locked), its second line given 10 % off
    # as the sale form does (sale_discount) before it was quoted
    draft = sale(2, [("CBL-5M", 3)], "Draft")
    quotation = sale(9, [("MNT-KIT", 5), ("SEN-100", 2)], "Offer")
    kit.discount(quotation, 1, Decimal("0.10"))
    quotation.click("quote")
    cancelled = sale(12, [("SEN-100", 1)], "Cancelled")
    cancelled.click("cancel")

    # a processing order whose invoice is still a draft
    processing, draft_invoice = confirmed(6, [("SEN-100", 3)], "Draft-invoiced", past)

    # an invoiced order: its invoice posted, due on a past day, unpaid
    invoiced, plain = confirmed(60, [("MNT-KIT", 2)], "Invoiced", past)
    kit.post(config, plain)

    # a partly paid invoice, past its due date
    _partly_order, partly = confirmed(40, [("SEN-100", 2), ("MNT-KIT", 2)], "Partly", past)
    kit.post(config, partly)
    kit.pay(partly, payment_method, kit.quarter_of(partly))

    # an invoice and a credit note of it, both posted and due on a past day
    _credited_order, credited = confirmed(50, [("CBL-5M", 20)], "Credited", past)
    kit.post(config, credited)
    credit_note = kit.credit(config, credited, on_receipt)

    # an invoice cancelled before it was posted, dated (and so due) on a past day
    cancelled_invoice = kit.invoice(party, past, [(products["MNT-KIT"], 3)], on_receipt)
    cancelled_invoice.click("cancel")

    # a project of another party invoiced on timesheet: its lines up to 5 days ago are
    # invoiced through the project's Invoice button (project_invoice), the later one not
    company = Model.get("company.company")(config.context["company"])
    employee = Model.get("company.employee").find([], limit=1)[0]
    work = Model.get("project.work")(name="Contract project", type="project", company=company)
    work.party = kit.party("Contract Projects GmbH", PROJECT_PARTY, payment_term=on_receipt)
    work.timesheet_available = True
    work.project_invoice_method = "timesheet"
    work.product = products["SVC-ENG"]
    work.save()
    (timesheet_work,) = work.timesheet_works
    for days_ago, hours in HOURS:
        Model.get("timesheet.line")(
            company=company,
            employee=employee,
            date=today - dt.timedelta(days=days_ago),
            duration=dt.timedelta(hours=hours),
            work=timesheet_work,
            description="Contract project: work",
        ).save()
    project_invoice = kit.invoice_timesheets(config, work, today - dt.timedelta(days=5), past)

    # an invoice due today, posted last (numbering follows the dates)
    _today_order, due_today = confirmed(1, [("CBL-5M", 1)], "Due today", today)
    kit.post(config, due_today)

    orders["invoiced"] = order_out(invoiced)
    orders["processing"] = order_out(processing)
    orders["quotation"] = order_out(quotation)
    orders["draft"] = order_out(draft)
    orders["cancelled"] = order_out(cancelled)
    invoices["plain_overdue"] = invoice_out(plain)
    invoices["partly_paid"] = invoice_out(partly)
    invoices["credited"] = invoice_out(credited)
    invoices["credit_note"] = invoice_out(credit_note)
    invoices["draft_of_processing"] = invoice_out(draft_invoice)
    invoices["due_today"] = invoice_out(due_today)
    invoices["cancelled_invoice"] = invoice_out(cancelled_invoice)
    draft.reload()
    quotation.reload()

    # a supplier with a purchase confirmed and awaiting its goods, and a cancelled one
    supplier = kit.party("Contract Supplies AG", SUPPLIER, payment_term=net30)
    awaiting = kit.purchase(
        supplier,
        today - dt.timedelta(days=3),
        [(products["STL-BAR"], 12, Decimal("14.20")), (products["CHP-MCU"], 150, Decimal("3.75"))],
        net30,
    )
    dropped = kit.purchase(
        supplier,
        today - dt.timedelta(days=8),
        [(products["STL-BAR"], 5, Decimal("14.20"))],
        net30,
        confirm=False,
    )
    dropped.click("cancel")

    # the customer's credit limit, set last (account_credit_limit)
    kit.credit_limit(party, CREDIT_LIMIT)
    party.reload()
    timesheet_lines = Model.get("timesheet.line").find([("work", "=", timesheet_work.id)])
    discounted = quotation.lines[1]
    made = {
        "customer": PARTY,
        "today": today.isoformat(),
        "orders": orders,
        "invoices": invoices,
        "same_day": [order_out(o) for o in same],
        "same_day_date": (today - dt.timedelta(days=4)).isoformat(),
        "draft_line": str(draft.lines[0].id),
        "locked_line": str(quotation.lines[0].id),
        "discounted_line": {
            "key": str(discounted.id),
            "order": "quotation",
            "quantity": str(discounted.quantity),
            "unit": unit_out(discounted.unit),
            # the price before the discount (sale_discount's base_price): FIGURES.md's unit price
            "unit_price": str(discounted.base_price),
            "discount_percent": str(discounted.discount_rate * 100),
            "amount": str(discounted.amount),
            "currency": quotation.currency.code,
        },
        "credit": {
            "limit": str(party.credit_limit_amount),
            "used": str(party.credit_amount),
            "currency": company.currency.code,
        },
        "supplier": SUPPLIER,
        "purchases": {
            "open": purchase_out(awaiting, "OPEN"),
            "cancelled": purchase_out(dropped, "CANCELLED"),
        },
        "project": {
            "key": str(work.id),
            "invoices": [keyed(project_invoice)],
            "hours": str(sum((hours_of(line) for line in timesheet_lines), Decimal(0))),
            "billed": str(sum(hours_of(line) for line in timesheet_lines if line.invoice_line)),
            "unbilled": str(
                sum(hours_of(line) for line in timesheet_lines if not line.invoice_line)
            ),
        },
    }
    kit.print_json(made)


if __name__ == "__main__":
    main()
