"""Seed a fresh Tryton database for Keylink through Tryton's own API (proteus).

Runs with the Tryton venv's python while trytond is stopped (SQLite has one writer), so
Tryton's business rules apply: sales are quoted and confirmed by their buttons, invoices
come from confirmed sales and are posted and paid by Tryton's wizards. It does not import
Keylink. Dates are relative to the day it runs. It prints a JSON summary of what it made.

    python seed.py --config trytond.conf --database keylink
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

from proteus import Model
from proteus import config as proteus_config


def parse() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="trytond configuration file")
    parser.add_argument("--database", required=True, help="database name")
    return parser.parse_args()


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


def main() -> None:
    """Create company, chart, fiscal years, parties, products, sales, invoices, projects."""
    args = parse()
    config = proteus_config.set_trytond(database=args.database, config_file=args.config)
    from trytond.modules.account.tests.tools import (
        create_chart,
        create_fiscalyear,
        create_tax,
        get_accounts,
    )
    from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
    from trytond.modules.company.tests.tools import create_company, get_company
    from trytond.modules.currency.tests.tools import get_currency

    today = dt.date.today()
    Party = Model.get("party.party")
    company_party = Party(name="Keylink Demo Industries")
    company_party.save()
    create_company(party=company_party, currency=get_currency("EUR"))
    company = get_company()
    config._context = Model.get("res.user").get_preferences(True, {})

    # Parties get explicit codes: Keylink links CRM accounts to these codes.
    PartyConfig = Model.get("party.configuration")
    party_config = PartyConfig(1)
    party_config.party_sequence = None
    party_config.save()

    create_chart(company)
    for year in (today.year - 1, today.year):
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(company, (dt.date(year, 1, 1), dt.date(year, 12, 31)))
        )
        fiscalyear.click("create_period")
    accounts = get_accounts(company)

    Journal = Model.get("account.journal")
    PaymentMethod = Model.get("account.invoice.payment.method")
    (cash_journal,) = Journal.find([("type", "=", "cash")])
    payment_method = PaymentMethod(
        name="Cash",
        journal=cash_journal,
        credit_account=accounts["cash"],
        debit_account=accounts["cash"],
    )
    payment_method.save()

    tax = create_tax(Decimal("0.20"))
    tax.save()

    PaymentTerm = Model.get("account.invoice.payment_term")
    net30 = PaymentTerm(name="Net 30")
    line = net30.lines.new(type="remainder")
    delta = line.relativedeltas[0] if line.relativedeltas else line.relativedeltas.new()
    delta.days = 30
    net30.save()

    # Employees (for the sales user and for timesheets).
    Employee = Model.get("company.employee")
    employees = []
    for name in EMPLOYEES:
        person = Party(name=name, code=f"E-{name.split()[0].upper()}")
        person.save()
        employee = Employee(party=person, company=company, start_date=dt.date(today.year - 2, 1, 1))
        employee.save()
        employees.append(employee)
    User = Model.get("res.user")
    admin = User(config.user)
    admin.employees.append(employees[0])
    admin.employee = employees[0]
    admin.save()
    config._context = User.get_preferences(True, {})

    parties: dict[str, Any] = {}
    for code, name in CUSTOMERS + SUPPLIERS:
        party = Party(name=name, code=code)
        party.customer_payment_term = net30
        party.save()
        parties[code] = party

    Category = Model.get("product.category")
    category = Category(name="Sales")
    category.accounting = True
    category.account_expense = accounts["expense"]
    category.account_revenue = accounts["revenue"]
    category.customer_taxes.append(tax)
    category.save()
    Uom = Model.get("product.uom")
    (unit,) = Uom.find([("name", "=", "Unit")])
    (hour,) = Uom.find([("name", "=", "Hour")])
    Template = Model.get("product.template")
    products: dict[str, Any] = {}
    for code, name, kind, price, _taxed in PRODUCTS:
        template = Template(name=name, type=kind, salable=True, list_price=price)
        template.default_uom = hour if kind == "service" else unit
        template.account_category = category
        template.code = code
        template.save()
        (product,) = template.products
        products[code] = product

    Sale = Model.get("sale.sale")
    Warning_ = Model.get("res.user.warning")

    def click_through(record: Any, button: str) -> None:
        """Press ``button``, confirming the warnings a user would confirm (e.g. a due
        date in the past for a back-dated invoice)."""
        from trytond.exceptions import UserWarning as TrytonWarning

        for _ in range(5):
            try:
                record.click(button)
                return
            except TrytonWarning as warning:
                Warning_(user=config.user, name=warning.name, always=False).save()
        raise RuntimeError(f"{button}: too many warnings")

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
        order = Sale()
        order.party = parties[party]
        order.sale_date = today - dt.timedelta(days=days_ago)
        order.description = description
        order.payment_term = net30
        order.invoice_method = "order"
        order.shipment_method = "manual"
        for code, quantity in lines:
            sale_line = order.lines.new()
            sale_line.product = products[code]
            sale_line.quantity = quantity
        order.save()
        if state in ("quotation", "processing"):
            order.click("quote")
        if state == "processing":
            order.click("confirm")
        order.reload()
        made: dict[str, Any] = {"id": order.id, "party": party, "state": order.state}
        if invoice is not None:
            (inv,) = order.invoices
            inv.invoice_date = today - dt.timedelta(days=invoice_days_ago or days_ago)
            inv.save()
            to_post.append((inv, invoice, made))
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

    # Invoices are numbered in date order, so they are posted in date order.
    for inv, paid, made in sorted(to_post, key=lambda item: item[0].invoice_date):
        click_through(inv, "post")
        if paid == "paid":
            inv.reload()
            pay = inv.click("pay")
            pay.form.payment_method = payment_method
            pay.form.amount = inv.amount_to_pay
            pay.execute("choice")
        inv.reload()
        made["invoice"] = {"id": inv.id, "state": inv.state, "total": str(inv.total_amount)}

    # Projects with their customer, available on timesheets, and logged hours.
    Work = Model.get("project.work")
    TimesheetLine = Model.get("timesheet.line")
    projects: list[dict[str, Any]] = []
    plan = [
        ("C-ACME", "Acme line 3 retrofit", [(0, 1, 4.0), (1, 2, 3.5), (0, 9, 6.0), (2, 40, 2.0)]),
        ("C-ACME", "Acme sensor pilot", [(1, 0, 1.5), (2, 3, 5.0)]),
        ("C-BOLT", "Boltworks audit", [(2, 1, 7.25), (0, 15, 3.0), (1, 70, 8.0)]),
        ("C-CRANE", "Crane feasibility study", []),
    ]
    for party_code, name, entries in plan:
        work = Work(name=name, type="project", company=company)
        work.party = parties[party_code]
        work.timesheet_available = True
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
        projects.append({"id": work.id, "party": party_code, "name": name, "entries": len(entries)})

    json.dump(
        {
            "company": company.id,
            "today": today.isoformat(),
            "parties": {code: party.id for code, party in parties.items()},
            "products": {code: product.id for code, product in products.items()},
            "sales": sales,
            "projects": projects,
        },
        sys.stdout,
        indent=2,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
