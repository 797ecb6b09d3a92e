"""The contract suite's business facts (tests/support/contract.py), made in Tryton through
Tryton's own workflow.

Run with the Tryton venv's python (proteus, in-process, so Tryton's rules apply) on a
private copy of the seeded database while trytond is stopped. It does not import Keylink.
It creates party ``C-FACTS`` and, through Tryton's buttons and wizards, every fact of
``BusinessFacts``; it prints what it made (ids, numbers, and the amounts Tryton computed)
as JSON in the shape of ``tests.support.contract.Seeded``.

    python tryton_facts.py --config trytond.conf --database keylink
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

from proteus import Model, Wizard
from proteus import config as proteus_config

PARTY = "C-FACTS"


def main() -> None:
    """Make the facts and print what was made."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    config = proteus_config.set_trytond(database=args.database, config_file=args.config)
    config._context = Model.get("res.user").get_preferences(True, {})
    today = dt.date.today()

    Party = Model.get("party.party")
    Product = Model.get("product.product")
    Sale = Model.get("sale.sale")
    Invoice = Model.get("account.invoice")
    PaymentTerm = Model.get("account.invoice.payment_term")
    PaymentMethod = Model.get("account.invoice.payment.method")
    Warning_ = Model.get("res.user.warning")
    from trytond.exceptions import UserWarning as TrytonWarning

    (net30,) = PaymentTerm.find([("name", "=", "Net 30")])
    on_receipt = PaymentTerm(name="Due on receipt (contract)")
    on_receipt.lines.new(type="remainder")
    on_receipt.save()
    # invoices are numbered in date order: the earliest date a new one may carry
    (latest,) = Invoice.find(
        [("type", "=", "out"), ("state", "in", ["posted", "paid"])],
        order=[("invoice_date", "DESC")],
        limit=1,
    )
    past = latest.invoice_date
    if (today - past).days < 2:
        raise RuntimeError(f"the seed's last invoice ({past}) leaves no past date to use")
    (payment_method,) = PaymentMethod.find([])
    products = {p.code: p for p in Product.find([("code", "!=", None)])}

    def click_through(record: Any, button: str) -> Any:
        for _ in range(5):
            try:
                return record.click(button)
            except TrytonWarning as warning:
                Warning_(user=config.user, name=warning.name, always=False).save()
        raise RuntimeError(f"{button}: too many warnings")

    party = Party(name="Contract Facts Ltd", code=PARTY)
    party.customer_payment_term = net30
    party.save()

    def sale(days_ago: int, lines: list[tuple[str, float]], description: str) -> Any:
        order = Sale()
        order.party = party
        order.sale_date = today - dt.timedelta(days=days_ago)
        order.description = description
        order.payment_term = net30
        order.invoice_method = "order"
        order.shipment_method = "manual"
        for code, quantity in lines:
            line = order.lines.new()
            line.product = products[code]
            line.quantity = quantity
        order.save()
        return order

    def confirmed(
        days_ago: int, lines: list[tuple[str, float]], description: str, on: dt.date
    ) -> tuple[Any, Any]:
        order = sale(days_ago, lines, description)
        order.payment_term = on_receipt
        order.save()
        order.click("quote")
        order.click("confirm")
        order.reload()
        (invoice,) = order.invoices
        invoice.invoice_date = on
        invoice.payment_term = on_receipt
        invoice.save()
        return order, invoice

    def order_out(order: Any) -> dict[str, Any]:
        order.reload()
        return {"key": str(order.id), "number": order.number, "total": str(order.total_amount)}

    def invoice_out(invoice: Any) -> dict[str, Any]:
        invoice.reload()
        return {
            "key": str(invoice.id),
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

    # a draft order (editable) and a quotation (locked)
    draft = sale(2, [("CBL-5M", 3)], "Draft")
    quotation = sale(9, [("MNT-KIT", 5)], "Offer")
    quotation.click("quote")
    cancelled = sale(12, [("SEN-100", 1)], "Cancelled")
    cancelled.click("cancel")

    # a processing order whose invoice is still a draft
    processing, draft_invoice = confirmed(6, [("SEN-100", 3)], "Draft-invoiced", past)

    # an invoiced order: its invoice posted, due on a past day, unpaid
    invoiced, plain = confirmed(60, [("MNT-KIT", 2)], "Invoiced", past)
    click_through(plain, "post")

    # a partly paid invoice, past its due date
    _partly_order, partly = confirmed(40, [("SEN-100", 2), ("MNT-KIT", 2)], "Partly", past)
    click_through(partly, "post")
    partly.reload()
    pay = partly.click("pay")
    pay.form.payment_method = payment_method
    pay.form.amount = (partly.total_amount / 4).quantize(Decimal("0.01"))
    pay.execute("choice")
    if pay.state != "end":
        pay.form.type = "partial"
        pay.execute("pay")

    # an invoice and a credit note of it, both posted and due on a past day
    _credited_order, credited = confirmed(50, [("CBL-5M", 20)], "Credited", past)
    click_through(credited, "post")
    credit = Wizard("account.invoice.credit", [credited])
    credit.form.with_refund = False
    credit.form.invoice_date = credited.invoice_date
    credit.execute("credit")
    (credit_note,) = Invoice.find(
        [
            ("party", "=", party.id),
            ("type", "=", "out"),
            ("state", "=", "draft"),
            ("id", "!=", draft_invoice.id),
        ]
    )
    credit_note.payment_term = on_receipt
    credit_note.save()
    click_through(credit_note, "post")

    # an invoice due today, posted last (numbering follows the dates)
    _today_order, due_today = confirmed(1, [("CBL-5M", 1)], "Due today", today)
    click_through(due_today, "post")

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
    draft.reload()
    quotation.reload()
    made = {
        "customer": PARTY,
        "today": today.isoformat(),
        "orders": orders,
        "invoices": invoices,
        "same_day": [order_out(o) for o in same],
        "same_day_date": (today - dt.timedelta(days=4)).isoformat(),
        "draft_line": str(draft.lines[0].id),
        "locked_line": str(quotation.lines[0].id),
    }
    json.dump(made, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
