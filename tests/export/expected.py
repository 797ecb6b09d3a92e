"""Expected overview figures of every demo customer, from the upstreams' raw JSON.

Independent of Keylink's code: plain HTTP reads of the demo upstreams (every invoice,
order and time entry once) and Decimal arithmetic following what each figure means
(``../shared/FIGURES.md``; the same rules as tests/e2e/expected.py, in bulk).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import httpx

from tests.e2e.expected import fetch_all, overview_of


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
        mine = entries[ts_key] if ts_key else []
        overview = overview_of(customer, invoices[erp_key], orders[erp_key], mine, today)
        result[erp_key] = {
            "name": customer["name"],
            "currency": customer["currency"],
            "creditLimit": customer["credit_limit"],
            **{
                name: overview[name]
                for name in (
                    "openBalance",
                    "overdueAmount",
                    "overdueCount",
                    "revenueYearToDate",
                    "revenueSamePeriodLastYear",
                    "openOrdersValue",
                    "hoursThisMonth",
                    "unbilledHours",
                )
            },
        }
    return result
