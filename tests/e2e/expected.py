"""Expected figures computed straight from the demo upstreams' raw JSON.

Independent of Keylink's code on purpose: plain HTTP reads of the upstreams and plain
Decimal arithmetic, written out from what each figure means to its reader
(``../shared/FIGURES.md``), in the demo ERP's own terms (demo/API.md): an invoice is
issued once posted (``open`` or ``paid``), a credit note is a document with a negative
total, an order is invoiced once one of its invoices is posted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

Item = dict[str, Any]

POSTED = ("open", "paid")
"""The demo ERP's states of an invoice the customer has received."""


def is_credit_note(inv: Item) -> bool:
    """A credit note: a document with a negative total."""
    return Decimal(inv["total"]) < 0


def is_issued(inv: Item) -> bool:
    """Issued to the customer: posted, paid or not (a draft or a cancelled one is not)."""
    return bool(inv["status"] in POSTED)


def is_open(inv: Item) -> bool:
    """Issued and not fully settled: its amount due counts in the open balance (an open
    credit note's, negative, included)."""
    return bool(inv["status"] == "open")


def is_overdue(inv: Item, today: date) -> bool:
    """Open, not a credit note, something still due, due date before today (due today is
    not overdue; without a due date never)."""
    return (
        is_open(inv)
        and not is_credit_note(inv)
        and Decimal(inv["amount_due"]) > 0
        and inv["due_date"] is not None
        and date.fromisoformat(inv["due_date"]) < today
    )


def in_revenue(inv: Item, start: date, end: date) -> bool:
    """Part of the revenue of ``start``..``end``: issued and dated in it (a credit note
    counts, negatively, through its negative untaxed total)."""
    return is_issued(inv) and start <= date.fromisoformat(inv["issue_date"]) <= end


def invoiced_orders(invoices: Iterable[Item]) -> set[str]:
    """Orders with at least one issued invoice (a draft invoice does not invoice)."""
    return {
        inv["order"]
        for inv in invoices
        if inv["order"] is not None and is_issued(inv) and not is_credit_note(inv)
    }


def open_orders(orders: Iterable[Item], invoices: Iterable[Item]) -> list[Item]:
    """Orders neither cancelled nor invoiced: drafts, quotations, confirmed ones and
    confirmed ones whose invoice is still a draft."""
    invoiced = invoiced_orders(invoices)
    return [o for o in orders if o["status"] != "cancelled" and o["number"] not in invoiced]


def fetch_all(http: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    """Every item of a paginated collection."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = http.get(path, params={**params, "page": str(page), "per_page": "500"})
        response.raise_for_status()
        body = response.json()
        items.extend(body["items"])
        if not body["next_page"]:
            return items
        page += 1


def money_list(totals: dict[str, Decimal]) -> list[dict[str, str]]:
    """The wire form of per-currency totals, sorted by currency."""
    return [{"amount": str(totals[c]), "currency": c} for c in sorted(totals)]


def add(totals: dict[str, Decimal], currency: str, amount: str) -> None:
    """Add a decimal string to a per-currency total."""
    totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount)


def last_year(today: date) -> date:
    """The same day last year (29 Feb becomes 28 Feb)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


def expected_overview(
    erp: httpx.Client, ts: httpx.Client, erp_key: str, ts_key: str | None, today: date
) -> dict[str, Any]:
    """The financial overview of one customer, from raw upstream data."""
    customer = erp.get(f"/customers/{erp_key}").json()
    invoices = fetch_all(erp, "/invoices", customer=erp_key)
    orders = fetch_all(erp, "/orders", customer=erp_key)
    entries = fetch_all(ts, "/entries", client=ts_key) if ts_key else []
    return overview_of(customer, invoices, orders, entries, today)


def overview_of(
    customer: Item,
    invoices: list[Item],
    orders: list[Item],
    entries: list[Item],
    today: date,
) -> dict[str, Any]:
    """The financial overview (wire form) of ``customer`` with all its invoices, orders
    and time entries."""
    open_balance: dict[str, Decimal] = {}
    overdue: dict[str, Decimal] = {}
    overdue_count = 0
    ytd: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, Decimal] = defaultdict(Decimal)
    for inv in invoices:
        if is_open(inv):
            add(open_balance, inv["currency"], inv["amount_due"])
        if is_overdue(inv, today):
            add(overdue, inv["currency"], inv["amount_due"])
            overdue_count += 1
        if in_revenue(inv, date(today.year, 1, 1), today):
            add(ytd, inv["currency"], inv["total_untaxed"])
        if in_revenue(inv, date(today.year - 1, 1, 1), last_year(today)):
            add(last, inv["currency"], inv["total_untaxed"])
    open_value: dict[str, Decimal] = {}
    for order in open_orders(orders, invoices):
        add(open_value, order["currency"], order["total"])

    limit = {"amount": customer["credit_limit"], "currency": customer["currency"]}
    exposure_currencies = set(open_balance) | set(open_value)
    available = None
    if exposure_currencies <= {customer["currency"]}:
        used = open_balance.get(customer["currency"], Decimal(0)) + open_value.get(
            customer["currency"], Decimal(0)
        )
        available = {
            "amount": str(Decimal(customer["credit_limit"]) - used),
            "currency": customer["currency"],
        }
    month_start = today.replace(day=1)
    hours_month = sum(
        (
            Decimal(e["hours"])
            for e in entries
            if month_start <= date.fromisoformat(e["date"]) <= today
        ),
        Decimal(0),
    )
    return {
        "asOf": today.isoformat(),
        "openBalance": money_list(open_balance),
        "overdueAmount": money_list(overdue),
        "overdueCount": overdue_count,
        "revenueYearToDate": money_list(ytd),
        "revenueSamePeriodLastYear": money_list(last),
        "openOrdersValue": money_list(open_value),
        "creditLimit": limit,
        "creditAvailable": available,
        "hoursThisMonth": hours_month,
        "unbilledHours": unbilled_hours(entries, today),
    }


def unbilled_hours(entries: Iterable[Item], today: date) -> Decimal:
    """Billable hours not yet invoiced, dated up to today (the future left out)."""
    return sum(
        (
            Decimal(e["hours"])
            for e in entries
            if e["billable"] and not e["invoiced"] and date.fromisoformat(e["date"]) <= today
        ),
        Decimal(0),
    )
