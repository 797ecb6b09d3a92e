"""The awkward cases of a real company's Tryton, made through Tryton's own workflow.

Run by the Tryton tests with the Tryton venv's python (proteus, in-process, so Tryton's
business rules apply) on the test session's private copy of the seeded database, while
trytond is stopped. It does not import Keylink. It creates party ``C-EDGE`` (a customer
with a VAT identifier) and, through Tryton's buttons and wizards:

- a processing sale whose invoice is still a draft;
- a quotation;
- an invoice and a credit note of it, both posted, due on receipt and dated on the last
  day the company's invoice sequence allows (invoices are numbered in date order), so
  the credit note's own due date has passed (it must still never be overdue);
- a partly paid invoice, past its due date;
- ten quotations on one day, numbered 9 to 18 in the reverse order of their ids;
- stock of one product moved into two warehouses (the demo one and a second one);

and prints a JSON summary of the ids and numbers it made.

    python scenario.py --config trytond.conf --database keylink
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

VAT = "BE0897290877"
STOCK = {"WH": Decimal(7), "WH2": Decimal(3)}


def parse() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="trytond configuration file")
    parser.add_argument("--database", required=True, help="database name")
    return parser.parse_args()


def main() -> None:
    """Create the awkward cases and print what was made."""
    args = parse()
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
    on_receipt = PaymentTerm(name="Due on receipt")
    on_receipt.lines.new(type="remainder")
    on_receipt.save()
    # the earliest date a new invoice may carry: invoices are numbered in date order
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
        """Press ``button``, confirming the warnings a user would confirm."""
        for _ in range(5):
            try:
                return record.click(button)
            except TrytonWarning as warning:
                Warning_(user=config.user, name=warning.name, always=False).save()
        raise RuntimeError(f"{button}: too many warnings")

    party = Party(name="Edge Cases Ltd", code="C-EDGE")
    party.customer_payment_term = net30
    identifier = party.identifiers.new()
    identifier.type = "eu_vat"
    identifier.code = VAT
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

    def invoiced(
        days_ago: int, lines: list[tuple[str, float]], description: str, on: dt.date
    ) -> Any:
        """A processing sale of ``days_ago`` and its (still draft) invoice dated ``on``,
        due on receipt."""
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

    made: dict[str, Any] = {"party": "C-EDGE", "vat": VAT}

    # Ten quotations on one day, made first so that their numbers cross from 9 to 10, and
    # quoted in the reverse order of their making, so that number order is not id order.
    drafts = [sale(4, [("CBL-5M", index + 1)], f"Same day {index + 1}") for index in range(10)]
    for order in reversed(drafts):
        order.click("quote")
        order.reload()
    made["same_day"] = {
        "date": (today - dt.timedelta(days=4)).isoformat(),
        "sales": [{"sale": order.id, "number": order.number} for order in drafts],
    }

    # A processing sale whose invoice is still a draft: CONFIRMED, its value still open.
    draft_invoiced, draft_invoice = invoiced(6, [("SEN-100", 3)], "Draft-invoiced", past)
    made["processing_draft_invoice"] = {
        "sale": draft_invoiced.id,
        "number": draft_invoiced.number,
        "invoice": draft_invoice.id,
        "total": str(draft_invoiced.total_amount),
    }

    # A quotation: QUOTED.
    quotation = sale(9, [("MNT-KIT", 5)], "Offer")
    quotation.click("quote")
    made["quotation"] = {"sale": quotation.id, "number": quotation.number}

    # An invoice and a credit note of it, both due on a past day.
    _credited, credited_invoice = invoiced(50, [("CBL-5M", 20)], "Credited", past)
    click_through(credited_invoice, "post")
    credit = Wizard("account.invoice.credit", [credited_invoice])
    credit.form.with_refund = False
    credit.form.invoice_date = credited_invoice.invoice_date
    credit.execute("credit")
    (credit_note,) = Invoice.find(
        [
            ("party", "=", party.id),
            ("type", "=", "out"),
            ("state", "=", "draft"),
            ("id", "!=", draft_invoice.id),
        ],
    )
    credit_note.payment_term = on_receipt
    credit_note.save()
    click_through(credit_note, "post")
    credit_note.reload()
    made["credit_note"] = {
        "invoice": credited_invoice.id,
        "credit_note": credit_note.id,
        "total": str(credit_note.total_amount),
    }

    # A partly paid invoice, due on a past day: open (and overdue) for what remains.
    _partly, partly_invoice = invoiced(40, [("SEN-100", 2), ("MNT-KIT", 2)], "Partly paid", past)
    click_through(partly_invoice, "post")
    partly_invoice.reload()
    pay = partly_invoice.click("pay")
    pay.form.payment_method = payment_method
    pay.form.amount = (partly_invoice.total_amount / 4).quantize(Decimal("0.01"))
    pay.execute("choice")
    if pay.state != "end":
        pay.form.type = "partial"
        pay.execute("pay")
    partly_invoice.reload()
    made["partly_paid"] = {
        "invoice": partly_invoice.id,
        "total": str(partly_invoice.total_amount),
        "amount_to_pay": str(partly_invoice.amount_to_pay),
    }

    # Stock: a second warehouse, and one product moved into both from a supplier.
    Location = Model.get("stock.location")
    Move = Model.get("stock.move")
    (warehouse,) = Location.find([("type", "=", "warehouse")])
    (supplier,) = Location.find([("type", "=", "supplier")])
    second = Location(name="North Depot", code="WH2", type="warehouse")
    for role in ("input", "output", "storage"):
        place = Location(name=f"North Depot {role}", type="storage")
        place.save()
        setattr(second, f"{role}_location", place)
    second.save()
    product = products["SEN-100"]
    company = Model.get("company.company")(config.context["company"])
    for target, quantity in ((warehouse, STOCK["WH"]), (second, STOCK["WH2"])):
        move = Move(
            product=product,
            quantity=float(quantity),
            unit=product.default_uom,
            from_location=supplier,
            to_location=target.storage_location,
            unit_price=Decimal("80.00"),
            currency=company.currency,
            company=company,
            effective_date=today - dt.timedelta(days=1),
        )
        move.save()
        move.click("do")
    made["stock"] = {
        "product": "SEN-100",
        "warehouses": {
            str(warehouse.code or warehouse.id): {"name": warehouse.name, "quantity": "7"},
            "WH2": {"name": second.name, "quantity": "3"},
        },
        "no_moves": "MNT-KIT",
        "service": "SVC-ENG",
    }

    json.dump(made, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
