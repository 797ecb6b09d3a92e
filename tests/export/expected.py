"""Expected overview figures of every demo customer, from the upstreams' raw JSON.

Independent of Keylink's code: plain HTTP reads of the demo upstreams (every invoice,
order and time entry once) and Decimal arithmetic following the definitions in the
schema's descriptions (the same rules as tests/e2e/expected.py, in bulk).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from tests.e2e.expected import add, fetch_all, last_year, money_list


def expected_overviews(
    erp: httpx.Client, ts: httpx.Client, keys: dict[str, str | None], today: date
) -> dict[str, dict[str, Any]]:
    """ERP customer number -> its overview, for the ``keys`` (ERP -> timesheet key)."""
    customers = {c["number"]: c for c in fetch_all(erp, "/customers")}
    invoices: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for inv in fetch_all(erp, "/invoices"):
        invoices[inv["customer"]].append(inv)
    orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in fetch_all(erp, "/orders"):
        orders[order["customer"]].append(order)
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in fetch_all(ts, "/entries"):
        entries[entry["client"]].append(entry)
    result = {}
    for erp_key, ts_key in keys.items():
        customer = customers[erp_key]
        open_balance: dict[str, Decimal] = {}
        overdue: dict[str, Decimal] = {}
        overdue_count = 0
        ytd: dict[str, Decimal] = {}
        last: dict[str, Decimal] = {}
        for inv in invoices[erp_key]:
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
        for order in orders[erp_key]:
            if order["status"] in ("draft", "confirmed"):
                add(open_orders, order["currency"], order["total"])
        mine = entries[ts_key] if ts_key else []
        month_start = today.replace(day=1)
        result[erp_key] = {
            "name": customer["name"],
            "currency": customer["currency"],
            "creditLimit": customer["credit_limit"],
            "openBalance": money_list(open_balance),
            "overdueAmount": money_list(overdue),
            "overdueCount": overdue_count,
            "revenueYearToDate": money_list(ytd),
            "revenueSamePeriodLastYear": money_list(last),
            "openOrdersValue": money_list(open_orders),
            "hoursThisMonth": sum(
                (
                    Decimal(e["hours"])
                    for e in mine
                    if month_start <= date.fromisoformat(e["date"]) <= today
                ),
                Decimal(0),
            ),
            "unbilledHours": sum(
                (Decimal(e["hours"]) for e in mine if e["billable"] and not e["invoiced"]),
                Decimal(0),
            ),
        }
    return result
