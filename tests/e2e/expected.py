"""Expected figures computed straight from the demo upstreams' raw JSON.

Independent of Keylink's code on purpose: plain HTTP reads of the upstreams and plain
Decimal arithmetic, written out from the definitions in the schema's descriptions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import httpx


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

    open_balance: dict[str, Decimal] = {}
    overdue: dict[str, Decimal] = {}
    overdue_count = 0
    ytd: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, Decimal] = defaultdict(Decimal)
    for inv in invoices:
        issued = date.fromisoformat(inv["issue_date"])
        if inv["status"] == "open":
            add(open_balance, inv["currency"], inv["amount_due"])
            if date.fromisoformat(inv["due_date"]) < today:
                add(overdue, inv["currency"], inv["amount_due"])
                overdue_count += 1
        if date(today.year, 1, 1) <= issued <= today:
            add(ytd, inv["currency"], inv["total_untaxed"])
        if date(today.year - 1, 1, 1) <= issued <= last_year(today):
            add(last, inv["currency"], inv["total_untaxed"])
    open_orders: dict[str, Decimal] = {}
    for order in orders:
        if order["status"] in ("draft", "confirmed"):
            add(open_orders, order["currency"], order["total"])

    limit = {"amount": customer["credit_limit"], "currency": customer["currency"]}
    exposure_currencies = set(open_balance) | set(open_orders)
    available = None
    if exposure_currencies <= {customer["currency"]}:
        used = open_balance.get(customer["currency"], Decimal(0)) + open_orders.get(
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
    unbilled = sum(
        (Decimal(e["hours"]) for e in entries if e["billable"] and not e["invoiced"]), Decimal(0)
    )
    return {
        "asOf": today.isoformat(),
        "openBalance": money_list(open_balance),
        "overdueAmount": money_list(overdue),
        "overdueCount": overdue_count,
        "revenueYearToDate": money_list(ytd),
        "revenueSamePeriodLastYear": money_list(last),
        "openOrdersValue": money_list(open_orders),
        "creditLimit": limit,
        "creditAvailable": available,
        "hoursThisMonth": hours_month,
        "unbilledHours": unbilled,
    }
