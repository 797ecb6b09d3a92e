"""Seed a fresh Tryton database for Keylink through Tryton's own API (proteus).

Runs with the Tryton venv's python while trytond is stopped (SQLite has one writer), so
Tryton's business rules apply: sales are quoted and confirmed by their buttons, invoices
come from confirmed sales and are posted and paid by Tryton's wizards. It does not import
Keylink. Dates are relative to the day it runs. It prints a JSON summary of what it made.

    python seed.py --config trytond.conf --database keylink
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from proteus import Model

# the kit sits beside this script; the script runs in Tryton's venv, outside Keylink's
sys.path.insert(0, str(Path(__file__).resolve().parent))
import proteus_kit as kit  # type: ignore[import-not-found]  # checked as demo.tryton.proteus_kit

CUSTOMERS = [
    ("C-ACME", "Acme Robotics"),
    ("C-BOLT", "Boltworks GmbH"),
    ("C-CRANE", "Crane & Sons"),
    ("C-DUNE", "Dune Logistics"),
]
SUPPLIERS = [("S-STEEL", "Steelworks Supply"), ("S-CHIP", "Chipset Components")]
PRODUCTS = [
    # code, name, type, list price, taxed
    ("SEN-100", "Industrial Sensor S100", "goods", Decimal("120.00"), True),
    ("MNT-KIT", "Mounting Kit", "goods", Decimal("22.00"), True),
    ("CBL-5M", "Shielded Cable 5 m", "goods", Decimal("9.50"), True),
    ("SVC-ENG", "Engineering Hour", "service", Decimal("95.00"), True),
]
EMPLOYEES = ["Alice Martin", "Bob Keller", "Chloe Dubois"]
BOUGHT = [
    # code, name, cost
    ("STL-BAR", "Steel Bar 2 m", Decimal("14.20")),
    ("CHP-MCU", "Microcontroller MCU-8", Decimal("3.75")),
]
CREDIT_LIMITS = {"C-ACME": Decimal("1000.00"), "C-BOLT": Decimal("50000.00")}
"""Credit limits (account_credit_limit): Acme owes more than its limit, Boltworks less."""


def main() -> None:
    """Create company, chart, fiscal years, parties, products, sales, invoices, projects."""
    args = kit.parse_args(__doc__)
    config = kit.connect(args.config, args.database)
    today = dt.date.today()
    company = kit.create_company("Keylink Demo Industries", "EUR")
    kit.refresh_context(config)

    # Parties get explicit codes: Keylink links CRM accounts to these codes.
    PartyConfig = Model.get("party.configuration")
    party_config = PartyConfig(1)
    party_config.party_sequence = None
    party_config.save()

    accounts = kit.create_books(company, (today.year - 1, today.year))
    payment_method = kit.cash_payment_method(accounts)
    tax = kit.create_tax(Decimal("0.20"))
    net30 = kit.payment_term("Net 30", days=30)

    # Employees (for the sales user and for timesheets).
    Employee = Model.get("company.employee")
    employees = []
    for name in EMPLOYEES:
        person = kit.party(name, f"E-{name.split()[0].upper()}")
        employee = Employee(party=person, company=company, start_date=dt.date(today.year - 2, 1, 1))
        employee.save()
        employees.append(employee)
    User = Model.get("res.user")
    admin = User(config.user)
    admin.employees.append(employees[0])
    admin.employee = employees[0]
    admin.save()
    kit.refresh_context(config)

    parties = {
        code: kit.party(name, code, payment_term=net30) for code, name in CUSTOMERS + SUPPLIERS
    }

    category = kit.product_category("Sales", accounts, tax)
    products = {
        code: kit.product(code, name, kind, price, category)
        for code, name, kind, price, _taxed in PRODUCTS
    }
    bought = {
        code: kit.purchasable_product(code, name, cost, category) for code, name, cost in BOUGHT
    }

    def sale(
        party: str,
        days_ago: int,
        lines: list[tuple[str, float]],
        state: str,
        *,
        description: str,
        invoice: str | None = None,
        invoice_days_ago: int | None = None,
    ) -> dict[str, Any]:
        """One sale driven to ``state`` by Tryton's buttons; optionally its invoice posted
        (``invoice`` = "unpaid" or "paid")."""
        order = kit.sale(
            parties[party],
            today - dt.timedelta(days=days_ago),
            [(products[code], quantity) for code, quantity in lines],
            description,
            net30,
        )
        drawn_up = None
        if state == "quotation":
            order.click("quote")
        elif state == "processing":
            drawn_up = kit.confirm(order)
        order.reload()
        made: dict[str, Any] = {"id": order.id, "party": party, "state": order.state}
        if invoice is not None:
            assert drawn_up is not None, "only a confirmed sale has an invoice"
            day = today - dt.timedelta(days=invoice_days_ago or days_ago)
            to_post.append((kit.date_invoice(drawn_up, day), invoice, made))
        return made

    to_post: list[tuple[Any, str, dict[str, Any]]] = []
    last_year_day = (today - dt.date(today.year - 1, 1, 1)).days - 100
    sales = [
        sale("C-ACME", 3, [("SEN-100", 4), ("MNT-KIT", 4)], "draft", description="Line 3 retrofit"),
        sale("C-ACME", 2, [("CBL-5M", 10)], "draft", description="Spare cables"),
        sale("C-ACME", 12, [("SEN-100", 2)], "quotation", description="Pilot sensors"),
        sale(
            "C-ACME",
            60,
            [("SVC-ENG", 10)],
            "processing",
            description="Commissioning",
            invoice="unpaid",
            invoice_days_ago=45,
        ),
        sale(
            "C-ACME",
            20,
            [("SEN-100", 5), ("SVC-ENG", 4)],
            "processing",
            description="Phase 2",
            invoice="unpaid",
            invoice_days_ago=5,
        ),
        sale(
            "C-ACME",
            last_year_day,
            [("SEN-100", 10)],
            "processing",
            description="Phase 1",
            invoice="paid",
        ),
        sale("C-BOLT", 1, [("MNT-KIT", 12)], "draft", description="Kits"),
        sale(
            "C-BOLT",
            30,
            [("SEN-100", 3), ("CBL-5M", 6)],
            "processing",
            description="Line B",
            invoice="paid",
            invoice_days_ago=25,
        ),
        sale(
            "C-BOLT",
            8,
            [("SVC-ENG", 6)],
            "processing",
            description="Audit",
            invoice="unpaid",
            invoice_days_ago=8,
        ),
        sale("C-CRANE", 5, [("SEN-100", 1)], "quotation", description="Trial"),
        sale(
            "C-CRANE",
            last_year_day + 30,
            [("SVC-ENG", 12)],
            "processing",
            description="Study",
            invoice="unpaid",
        ),
    ]

    # A draft sale with a discounted line (sale_discount: 10 % off the list price).
    discounted = kit.sale(
        parties["C-DUNE"],
        today - dt.timedelta(days=2),
        [(products["SEN-100"], 5), (products["CBL-5M"], 4)],
        "Discounted sensors",
        net30,
    )
    discounted_line = kit.discount(discounted, 0, Decimal("0.10"))
    sales.append(
        {
            "id": discounted.id,
            "party": "C-DUNE",
            "state": discounted.state,
            "discounted_line": discounted_line.id,
        }
    )

    # Invoices are numbered in date order, so they are posted in date order.
    for inv, paid, made in sorted(to_post, key=lambda item: item[0].invoice_date):
        kit.post(config, inv)
        if paid == "paid":
            kit.pay(inv, payment_method)
        made["invoice"] = {"id": inv.id, "state": inv.state, "total": str(inv.total_amount)}

    # Purchases (purchase): one confirmed and awaiting its goods, one still a draft.
    purchases = [
        kit.purchase(
            parties["S-STEEL"],
            today - dt.timedelta(days=3),
            [(bought["STL-BAR"], 40, Decimal("14.20")), (bought["CHP-MCU"], 200, Decimal("3.75"))],
            net30,
        ),
        kit.purchase(
            parties["S-CHIP"],
            today - dt.timedelta(days=1),
            [(bought["CHP-MCU"], 500, Decimal("3.50"))],
            net30,
            confirm=False,
        ),
    ]

    # Credit limits (account_credit_limit).
    for code, limit in CREDIT_LIMITS.items():
        kit.credit_limit(parties[code], limit)

    # Projects with their customer, available on timesheets, and logged hours.
    Work = Model.get("project.work")
    TimesheetLine = Model.get("timesheet.line")
    projects: list[dict[str, Any]] = []
    # The retrofit is invoiced on timesheet (project_invoice): its lines up to 5 days ago
    # are invoiced through the project's Invoice button, the later ones are not yet.
    billed_by_timesheet = "Acme line 3 retrofit"
    plan = [
        (
            "C-ACME",
            billed_by_timesheet,
            [(0, 1, 4.0), (1, 2, 3.5), (0, 9, 6.0), (2, 40, 2.0)],
        ),
        ("C-ACME", "Acme sensor pilot", [(1, 0, 1.5), (2, 3, 5.0)]),
        ("C-BOLT", "Boltworks audit", [(2, 1, 7.25), (0, 15, 3.0), (1, 70, 8.0)]),
        ("C-CRANE", "Crane feasibility study", []),
    ]
    for party_code, name, entries in plan:
        work = Work(name=name, type="project", company=company)
        work.party = parties[party_code]
        work.timesheet_available = True
        if name == billed_by_timesheet:
            work.project_invoice_method = "timesheet"
            work.product = products["SVC-ENG"]
        work.save()
        (timesheet_work,) = work.timesheet_works
        for employee_index, days_ago, hours in entries:
            entry = TimesheetLine(
                company=company,
                employee=employees[employee_index],
                date=today - dt.timedelta(days=days_ago),
                duration=dt.timedelta(hours=hours),
                work=timesheet_work,
                description=f"{name}: work",
            )
            entry.save()
        made_project: dict[str, Any] = {
            "id": work.id,
            "party": party_code,
            "name": name,
            "entries": len(entries),
        }
        if name == billed_by_timesheet:
            invoice = kit.invoice_timesheets(
                config, work, today - dt.timedelta(days=5), today - dt.timedelta(days=4)
            )
            made_project["invoice"] = {"id": invoice.id, "number": invoice.number}
        projects.append(made_project)

    kit.print_json(
        {
            "company": company.id,
            "today": today.isoformat(),
            "parties": {code: party.id for code, party in parties.items()},
            "products": {code: product.id for code, product in products.items()},
            "sales": sales,
            "projects": projects,
            "purchases": [
                {"id": p.id, "number": p.number, "party": p.party.code, "state": p.state}
                for p in purchases
            ],
            "credit_limits": {code: str(limit) for code, limit in CREDIT_LIMITS.items()},
        }
    )


if __name__ == "__main__":
    main()
