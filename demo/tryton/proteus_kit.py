"""Making Tryton records through Tryton's own workflow (proteus, in-process), in one place.

The demo seed (demo/tryton/seed.py), the Tryton tests' awkward cases
(tests/tryton/scenario.py) and the contract suite's facts (tests/contract/tryton_facts.py)
all run with the Tryton venv's python on a database while trytond is stopped, so that
Tryton's business rules apply: a sale is quoted and confirmed by its buttons, its invoice
comes from the confirmation and is posted, paid and credited by Tryton's buttons and
wizards. This module holds what they share. It imports neither Keylink nor the tests: the
scripts put this directory on ``sys.path`` and ``import proteus_kit``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from proteus import Model, Wizard
from proteus import config as proteus_config

CENT = Decimal("0.01")


def parse_args(description: str | None) -> argparse.Namespace:
    """The scripts' command line: ``--config trytond.conf --database NAME``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="trytond configuration file")
    parser.add_argument("--database", required=True, help="database name")
    return parser.parse_args()


def connect(config_file: str, database: str) -> Any:
    """A proteus configuration on ``database`` (in-process trytond), acting as admin with
    its preferences (company, language) once a company exists."""
    config = proteus_config.set_trytond(database=database, config_file=config_file)
    refresh_context(config)
    return config


def refresh_context(config: Any) -> None:
    """Reload the user's preferences into the context (after a company or an employee was
    set up, later records use them)."""
    config._context = Model.get("res.user").get_preferences(True, {})


def print_json(made: Any) -> None:
    """Print what a script made as indented JSON on stdout (the callers read it)."""
    json.dump(made, sys.stdout, indent=2)
    sys.stdout.write("\n")


def click_through(config: Any, record: Any, button: str) -> Any:
    """Press ``button`` on ``record``, confirming the warnings a user would confirm (e.g. a
    due date in the past for a back-dated invoice); what the button returns."""
    from trytond.exceptions import UserWarning as TrytonWarning

    warning_model = Model.get("res.user.warning")
    for _ in range(5):
        try:
            return record.click(button)
        except TrytonWarning as warning:
            warning_model(user=config.user, name=warning.name, always=False).save()
    raise RuntimeError(f"{button}: too many warnings")


# --- company, fiscal years, accounts ------------------------------------------------------


def create_company(name: str, currency_code: str) -> Any:
    """A company (its party named ``name``) keeping its books in ``currency_code``."""
    from trytond.modules.company.tests.tools import create_company as make
    from trytond.modules.company.tests.tools import get_company
    from trytond.modules.currency.tests.tools import get_currency

    party = Model.get("party.party")(name=name)
    party.save()
    make(party=party, currency=get_currency(currency_code))
    return get_company()


def create_books(company: Any, years: Sequence[int]) -> dict[str, Any]:
    """A minimal chart of accounts and one fiscal year (with monthly periods and invoice
    sequences) per year in ``years``; the chart's main accounts by role."""
    from trytond.modules.account.tests.tools import (
        create_chart,
        create_fiscalyear,
        get_accounts,
    )
    from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences

    create_chart(company)
    for year in years:
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(company, (dt.date(year, 1, 1), dt.date(year, 12, 31)))
        )
        fiscalyear.click("create_period")
    accounts: dict[str, Any] = get_accounts(company)
    return accounts


def create_tax(rate: Decimal) -> Any:
    """A sales tax of ``rate`` (0.20 for 20 %), saved."""
    from trytond.modules.account.tests.tools import create_tax as make

    tax = make(rate)
    tax.save()
    return tax


def cash_payment_method(accounts: dict[str, Any]) -> Any:
    """An invoice payment method paying through the cash journal into the cash account."""
    (journal,) = Model.get("account.journal").find([("type", "=", "cash")])
    method = Model.get("account.invoice.payment.method")(
        name="Cash",
        journal=journal,
        credit_account=accounts["cash"],
        debit_account=accounts["cash"],
    )
    method.save()
    return method


def the_payment_method() -> Any:
    """The database's one invoice payment method (made by the seed)."""
    (method,) = Model.get("account.invoice.payment.method").find([])
    return method


# --- payment terms, parties, products -----------------------------------------------------


def payment_term(name: str, days: int = 0) -> Any:
    """A payment term due ``days`` after the invoice date (0: due on receipt), saved."""
    term = Model.get("account.invoice.payment_term")(name=name)
    line = term.lines.new(type="remainder")
    if days:
        delta = line.relativedeltas[0] if line.relativedeltas else line.relativedeltas.new()
        delta.days = days
    term.save()
    return term


def find_payment_term(name: str) -> Any:
    """The payment term called ``name`` (made by the seed)."""
    (term,) = Model.get("account.invoice.payment_term").find([("name", "=", name)])
    return term


def party(name: str, code: str, *, payment_term: Any = None, vat: str | None = None) -> Any:
    """A party with an explicit ``code`` (Keylink links by it), optionally a customer
    payment term and an EU VAT identifier, saved."""
    made = Model.get("party.party")(name=name, code=code)
    if payment_term is not None:
        made.customer_payment_term = payment_term
    if vat is not None:
        identifier = made.identifiers.new()
        identifier.type = "eu_vat"
        identifier.code = vat
    made.save()
    return made


def product_category(name: str, accounts: dict[str, Any], tax: Any) -> Any:
    """An accounting product category booking sales to the revenue account with ``tax``
    and purchases to the expense account, saved."""
    category = Model.get("product.category")(name=name)
    category.accounting = True
    category.account_expense = accounts["expense"]
    category.account_revenue = accounts["revenue"]
    category.customer_taxes.append(tax)
    category.save()
    return category


def product(code: str, name: str, kind: str, list_price: Decimal, category: Any) -> Any:
    """A salable product (``kind`` "goods", counted in units, or "service", in hours)
    with ``code`` and ``list_price``, saved; its variant."""
    uom = Model.get("product.uom")
    (unit,) = uom.find([("name", "=", "Hour" if kind == "service" else "Unit")])
    template = Model.get("product.template")(
        name=name, type=kind, salable=True, list_price=list_price
    )
    template.default_uom = unit
    template.account_category = category
    template.code = code
    # goods ship two days after the sale (or on the sale's shipping date, if later);
    # without a lead time Tryton plans no shipping date at all
    template.lead_time = dt.timedelta(days=0 if kind == "service" else 2)
    template.save()
    (variant,) = template.products
    return variant


def products_by_code() -> dict[str, Any]:
    """Every product that has a code, by code."""
    return {p.code: p for p in Model.get("product.product").find([("code", "!=", None)])}


# --- sales and invoices -------------------------------------------------------------------


def sale(
    customer: Any,
    sale_date: dt.date,
    lines: Sequence[tuple[Any, float]],
    description: str,
    term: Any,
) -> Any:
    """A draft sale of ``lines`` (product, quantity) to ``customer``, invoiced on order
    and shipped manually, saved."""
    order = Model.get("sale.sale")()
    order.party = customer
    order.sale_date = sale_date
    order.description = description
    order.payment_term = term
    order.invoice_method = "order"
    order.shipment_method = "manual"
    for product, quantity in lines:
        line = order.lines.new()
        line.product = product
        line.quantity = quantity
    order.save()
    return order


def confirm(order: Any) -> Any:
    """Quote and confirm ``order`` by its buttons (it goes processing and its invoice is
    drawn up as a draft); its one invoice."""
    order.click("quote")
    order.click("confirm")
    order.reload()
    (invoice,) = order.invoices
    return invoice


def confirmed_sale(
    customer: Any,
    sale_date: dt.date,
    lines: Sequence[tuple[Any, float]],
    description: str,
    term: Any,
    invoice_date: dt.date,
) -> tuple[Any, Any]:
    """A sale of ``lines`` on ``term``, quoted and confirmed (processing), and its invoice
    (still a draft) dated ``invoice_date`` on the same term."""
    order = sale(customer, sale_date, lines, description, term)
    return order, date_invoice(confirm(order), invoice_date, term)


def invoice(
    customer: Any, on: dt.date, lines: Sequence[tuple[Any, float]], term: Any = None
) -> Any:
    """A draft customer invoice of ``lines`` (product, quantity) at the products' list
    prices, dated ``on``, not drawn up by a sale, saved."""
    made = Model.get("account.invoice")(type="out", party=customer, invoice_date=on)
    if term is not None:
        made.payment_term = term
    for product, quantity in lines:
        line = made.lines.new()
        line.product = product
        line.quantity = quantity
        line.unit_price = product.template.list_price
    made.save()
    return made


def date_invoice(invoice: Any, on: dt.date, term: Any = None) -> Any:
    """Give a draft invoice its date (and a payment term), saved; the invoice."""
    invoice.invoice_date = on
    if term is not None:
        invoice.payment_term = term
    invoice.save()
    return invoice


def post(config: Any, invoice: Any) -> None:
    """Post ``invoice`` (its number and due dates are set), confirming the warnings."""
    click_through(config, invoice, "post")
    invoice.reload()


def pay(invoice: Any, method: Any, amount: Decimal | None = None) -> None:
    """Pay ``amount`` of a posted invoice (all of it when None) through the pay wizard; a
    part payment leaves the rest to pay."""
    invoice.reload()
    wizard = invoice.click("pay")
    wizard.form.payment_method = method
    wizard.form.amount = invoice.amount_to_pay if amount is None else amount
    wizard.execute("choice")
    if wizard.state != "end":
        wizard.form.type = "partial"
        wizard.execute("pay")
    invoice.reload()


def quarter_of(invoice: Any) -> Decimal:
    """A quarter of ``invoice``'s total, in cents."""
    return Decimal(invoice.total_amount / 4).quantize(CENT)


def credit(config: Any, invoice: Any, term: Any = None) -> Any:
    """A credit note of the whole of a posted ``invoice`` (not allocated to it), dated as
    the invoice, posted; the credit note."""
    before = {i.id for i in _draft_invoices(invoice.party)}
    wizard = Wizard("account.invoice.credit", [invoice])
    wizard.form.with_refund = False
    wizard.form.invoice_date = invoice.invoice_date
    wizard.execute("credit")
    (note,) = [i for i in _draft_invoices(invoice.party) if i.id not in before]
    if term is not None:
        note.payment_term = term
        note.save()
    post(config, note)
    return note


def _draft_invoices(customer: Any) -> list[Any]:
    """The draft customer invoices (and credit notes) of ``customer``."""
    return list(
        Model.get("account.invoice").find(
            [("party", "=", customer.id), ("type", "=", "out"), ("state", "=", "draft")]
        )
    )


def earliest_new_invoice_date(today: dt.date) -> dt.date:
    """The earliest date a new customer invoice may carry: invoices are numbered in date
    order, so not before the latest posted one. Refuses when it leaves no past day."""
    (latest,) = Model.get("account.invoice").find(
        [("type", "=", "out"), ("state", "in", ["posted", "paid"])],
        order=[("invoice_date", "DESC")],
        limit=1,
    )
    past: dt.date = latest.invoice_date
    if (today - past).days < 2:
        raise RuntimeError(f"the seed's last invoice ({past}) leaves no past date to use")
    return past


# --- the sales desk: purchases, discounts, credit limits, project billing -------------------


def purchasable_product(code: str, name: str, cost: Decimal, category: Any) -> Any:
    """A product the company buys (goods, counted in units) at ``cost``, saved; its
    variant."""
    uom = Model.get("product.uom")
    (unit,) = uom.find([("name", "=", "Unit")])
    template = Model.get("product.template")(
        name=name, type="goods", purchasable=True, list_price=cost, cost_price_method="fixed"
    )
    template.default_uom = unit
    template.account_category = category
    template.code = code
    template.save()
    (variant,) = template.products
    return variant


def purchase(
    supplier: Any,
    purchase_date: dt.date,
    lines: Sequence[tuple[Any, float, Decimal]],
    term: Any,
    *,
    confirm: bool = True,
) -> Any:
    """A purchase of ``lines`` (product, quantity, unit price) from ``supplier``,
    delivered in a week; quoted and confirmed by its buttons (so it goes processing
    awaiting the goods) unless ``confirm`` is False (then it stays a draft)."""
    order = Model.get("purchase.purchase")()
    order.party = supplier
    order.purchase_date = purchase_date
    order.payment_term = term
    order.delivery_date = purchase_date + dt.timedelta(days=7)
    for product, quantity, price in lines:
        line = order.lines.new()
        line.product = product
        line.quantity = quantity
        line.unit_price = price
    order.save()
    if confirm:
        order.click("quote")
        order.click("confirm")
    order.reload()
    return order


def discount(order: Any, index: int, rate: Decimal) -> Any:
    """Give line ``index`` of a draft sale a discount of ``rate`` (0.10 for 10 %) as the
    sale form does (``sale_discount``: the unit price follows from the base price), saved;
    the line."""
    line = order.lines[index]
    line.discount_rate = rate
    order.save()
    order.reload()
    return order.lines[index]


def credit_limit(customer: Any, amount: Decimal) -> None:
    """Set ``customer``'s credit limit (``account_credit_limit``, in the company's
    currency)."""
    customer.reload()
    customer.credit_limit_amount = amount
    customer.save()


def invoice_timesheets(config: Any, work: Any, up_to: dt.date, on: dt.date) -> Any:
    """Invoice the timesheet lines of a project invoiced on timesheet up to ``up_to``
    through its "Invoice" button (``project_invoice``), date the invoice ``on`` and post
    it; the invoice."""
    work.project_invoice_timesheet_up_to = up_to
    work.save()
    before = {i.id for i in _draft_invoices(work.party)}
    work.click("invoice")
    (made,) = [i for i in _draft_invoices(work.party) if i.id not in before]
    date_invoice(made, on)
    post(config, made)
    return made
