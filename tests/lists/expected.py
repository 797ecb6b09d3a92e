"""Expected list rows and totals, computed straight from the demo upstreams' raw JSON.

Independent of Keylink's code on purpose: plain HTTP reads of every account, customer,
invoice, project and time entry, the demo's link list (the truth the link map is seeded
with) to join them, and Decimal arithmetic following the schema's descriptions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from demo.links import demo_links
from demo.runner import DemoUpstreams
from tests.e2e.expected import (
    add,
    fetch_all,
    in_revenue,
    is_open,
    is_overdue,
    money_list,
    unbilled_hours,
)

Item = dict[str, Any]


@dataclass
class Raw:
    """Everything the upstreams hold that the list tests look at, plus the links."""

    today: date
    accounts: dict[str, Item]
    customers: dict[str, Item]
    suppliers: dict[str, Item]
    erp_projects: dict[str, Item]
    ts_projects: dict[str, Item]
    invoices_by_customer: dict[str, list[Item]] = field(default_factory=dict)
    entries_by_client: dict[str, list[Item]] = field(default_factory=dict)
    entries_by_project: dict[str, list[Item]] = field(default_factory=dict)
    links: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """kind -> one {system: key} per linked entity, in link-list order."""


def read_raw(upstreams: DemoUpstreams, today: date) -> Raw:
    """Read every record once from the three upstreams."""
    urls = upstreams.urls
    with (
        httpx.Client(base_url=urls["erp"], timeout=60) as erp,
        httpx.Client(base_url=urls["crm"], timeout=60) as crm,
        httpx.Client(base_url=urls["timesheet"], timeout=60) as ts,
    ):
        raw = Raw(
            today=today,
            accounts={a["id"]: a for a in fetch_all(crm, "/accounts")},
            customers={c["number"]: c for c in fetch_all(erp, "/customers")},
            suppliers={s["number"]: s for s in fetch_all(erp, "/suppliers")},
            erp_projects={p["number"]: p for p in fetch_all(erp, "/projects")},
            ts_projects={p["code"]: p for p in fetch_all(ts, "/projects")},
        )
        invoices: dict[str, list[Item]] = defaultdict(list)
        for inv in fetch_all(erp, "/invoices"):
            invoices[inv["customer"]].append(inv)
        by_client: dict[str, list[Item]] = defaultdict(list)
        by_project: dict[str, list[Item]] = defaultdict(list)
        for entry in fetch_all(ts, "/entries"):
            by_client[entry["client"]].append(entry)
            by_project[entry["project"]].append(entry)
    raw.invoices_by_customer = dict(invoices)
    raw.entries_by_client = dict(by_client)
    raw.entries_by_project = dict(by_project)
    links: dict[str, list[dict[str, str]]] = defaultdict(list)
    for link in demo_links(upstreams.dataset):
        links[link.kind].append({system: keys[0] for system, keys in link.keys.items()})
    raw.links = dict(links)
    return raw


def figures(raw: Raw, keys: dict[str, str]) -> dict[str, Any]:
    """Revenue this year, overdue amount, open balance (per currency, wire form) and
    unbilled hours of the customer with ``keys``."""
    today = raw.today
    revenue: dict[str, Decimal] = {}
    overdue: dict[str, Decimal] = {}
    open_balance: dict[str, Decimal] = {}
    for inv in raw.invoices_by_customer.get(keys.get("erp", ""), []):
        if in_revenue(inv, date(today.year, 1, 1), today):
            add(revenue, inv["currency"], inv["total_untaxed"])
        if is_open(inv):
            add(open_balance, inv["currency"], inv["amount_due"])
        if is_overdue(inv, today):
            add(overdue, inv["currency"], inv["amount_due"])
    return {
        "revenueYearToDate": money_list(revenue),
        "overdueAmount": money_list(overdue),
        "openBalance": money_list(open_balance),
        "unbilledHours": unbilled_hours(
            raw.entries_by_client.get(keys.get("timesheet", ""), []), today
        ),
    }


def customers_where(raw: Raw, **crm: str) -> list[dict[str, str]]:
    """Linked customers whose CRM account has every given field value."""
    return [
        keys
        for keys in raw.links["customer"]
        if "crm" in keys and all(raw.accounts[keys["crm"]][k] == v for k, v in crm.items())
    ]


def customer_name(raw: Raw, keys: dict[str, str]) -> str:
    """The CRM account's name, else the ERP customer's."""
    if "crm" in keys:
        return str(raw.accounts[keys["crm"]]["name"])
    return str(raw.customers[keys["erp"]]["name"])


def totals(raw: Raw, rows: list[dict[str, str]], group: str) -> dict[str | None, dict[str, Any]]:
    """Per value of CRM field ``group``: customer count and summed figures."""
    sums: dict[str | None, dict[str, Any]] = {}
    for keys in rows:
        key = raw.accounts[keys["crm"]][group] if "crm" in keys else None
        mine = figures(raw, keys)
        entry = sums.setdefault(
            key, {"customers": 0, "revenue": {}, "overdue": {}, "open": {}, "unbilled": Decimal(0)}
        )
        entry["customers"] += 1
        for name, wire in (
            ("revenue", "revenueYearToDate"),
            ("overdue", "overdueAmount"),
            ("open", "openBalance"),
        ):
            for money in mine[wire]:
                add(entry[name], money["currency"], money["amount"])
        entry["unbilled"] += mine["unbilledHours"]
    return {
        key: {
            "customers": e["customers"],
            "revenueYearToDate": money_list(e["revenue"]),
            "overdueAmount": money_list(e["overdue"]),
            "openBalance": money_list(e["open"]),
            "unbilledHours": e["unbilled"],
        }
        for key, e in sums.items()
    }
