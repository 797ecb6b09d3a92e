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

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from proteus import Model

# the shared proteus helpers (demo/tryton/proteus_kit.py); this runs in Tryton's venv
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demo" / "tryton"))
import proteus_kit as kit

VAT = "BE0897290877"
STOCK = {"WH": Decimal(7), "WH2": Decimal(3)}


def main() -> None:
    """Create the awkward cases and print what was made."""
    args = kit.parse_args(__doc__)
    config = kit.connect(args.config, args.database)
    today = dt.date.today()

    net30 = kit.find_payment_term("Net 30")
    on_receipt = kit.payment_term("Due on receipt")
    past = kit.earliest_new_invoice_date(today)
    payment_method = kit.the_payment_method()
    products = kit.products_by_code()
    party = kit.party("Edge Cases Ltd", "C-EDGE", payment_term=net30, vat=VAT)

    def sale(days_ago: int, lines: list[tuple[str, float]], description: str) -> Any:
        return kit.sale(
            party,
            today - dt.timedelta(days=days_ago),
            [(products[code], quantity) for code, quantity in lines],
            description,
            net30,
        )

    def invoiced(
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
    kit.post(config, credited_invoice)
    credit_note = kit.credit(config, credited_invoice, on_receipt)
    made["credit_note"] = {
        "invoice": credited_invoice.id,
        "credit_note": credit_note.id,
        "total": str(credit_note.total_amount),
    }

    # A partly paid invoice, due on a past day: open (and overdue) for what remains.
    _partly, partly_invoice = invoiced(40, [("SEN-100", 2), ("MNT-KIT", 2)], "Partly paid", past)
    kit.post(config, partly_invoice)
    kit.pay(partly_invoice, payment_method, kit.quarter_of(partly_invoice))
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
        kit.click_through(config, move, "do")  # a move without origin warns (purchase)
    made["stock"] = {
        "product": "SEN-100",
        "warehouses": {
            str(warehouse.code or warehouse.id): {"name": warehouse.name, "quantity": "7"},
            "WH2": {"name": second.name, "quantity": "3"},
        },
        "no_moves": "MNT-KIT",
        "service": "SVC-ENG",
    }

    kit.print_json(made)


if __name__ == "__main__":
    main()
