"""Filters on ERP and timesheet fields, and the project and supplier lists, each checked
against a selection made independently from the raw upstream data."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.e2e.expected import is_overdue
from tests.lists.conftest import ask
from tests.lists.expected import Raw

CUSTOMERS = """
query($filter: CustomerFilter) {
  customers(filter: $filter, first: 100) {
    totalCount pageInfo { hasNextPage } edges { node { keys { system key } } }
  }
}
"""


async def selected(gateway: httpx.AsyncClient, query: str, field: str, filter: Any) -> set[str]:
    """The first key (ERP, else any) of every row the list answers for ``filter``."""
    rows: set[str] = set()
    body = await ask(gateway, query, {"filter": filter})
    assert "errors" not in body, body["errors"]
    connection = body["data"][field]
    assert connection["pageInfo"]["hasNextPage"] is False, "widen `first` in the test"
    for edge in connection["edges"]:
        keys = {k["system"]: k["key"] for k in edge["node"]["keys"]}
        rows.add(keys.get("erp") or next(iter(keys.values())))
    assert connection["totalCount"] == len(rows)
    return rows


def with_erp(raw: Raw, kind: str = "customer") -> list[dict[str, str]]:
    return [keys for keys in raw.links[kind] if "erp" in keys]


async def test_has_overdue_and_overdue_amount(gateway: httpx.AsyncClient, raw: Raw) -> None:
    overdue: dict[str, dict[str, Decimal]] = {}
    for keys in with_erp(raw):
        for inv in raw.invoices_by_customer.get(keys["erp"], []):
            if is_overdue(inv, raw.today):
                sums = overdue.setdefault(keys["erp"], {})
                sums[inv["currency"]] = sums.get(inv["currency"], Decimal(0)) + Decimal(
                    inv["amount_due"]
                )
    got = await selected(
        gateway,
        CUSTOMERS,
        "customers",
        {"hasOverdue": True, "linkedIn": ["erp"], "country": ["NO"]},
    )
    norwegian = {
        keys["erp"]
        for keys in with_erp(raw)
        if "crm" in keys and raw.accounts[keys["crm"]]["country"] == "NO"
    }
    assert set(overdue) & norwegian and got == set(overdue) & norwegian
    big = {k for k, sums in overdue.items() if sums.get("NOK", Decimal(0)) >= Decimal("100000")}
    got = await selected(
        gateway,
        CUSTOMERS,
        "customers",
        {"overdueAmountMin": {"amount": "100000", "currency": "NOK"}},
    )
    assert got == big
    assert big, "the demo data should hold customers with large overdue amounts"


async def test_credit_limit_between(gateway: httpx.AsyncClient, raw: Raw) -> None:
    expected = {
        keys["erp"]
        for keys in with_erp(raw)
        if raw.customers[keys["erp"]]["currency"] == "EUR"
        and Decimal("20000")
        <= Decimal(raw.customers[keys["erp"]]["credit_limit"])
        <= Decimal("75000")
    }
    got = await selected(
        gateway,
        CUSTOMERS,
        "customers",
        {
            "creditLimitMin": {"amount": "20000", "currency": "EUR"},
            "creditLimitMax": {"amount": "75000.00", "currency": "EUR"},
        },
    )
    assert got == expected
    assert expected


async def test_hours_in_a_period(gateway: httpx.AsyncClient, raw: Raw) -> None:
    start, end = raw.today - timedelta(days=60), raw.today - timedelta(days=1)
    expected = set()
    for keys in raw.links["customer"]:
        entries = raw.entries_by_client.get(keys.get("timesheet", ""), [])
        hours = sum(
            (Decimal(e["hours"]) for e in entries if start <= date.fromisoformat(e["date"]) <= end),
            Decimal(0),
        )
        if Decimal(40) <= hours <= Decimal(120):
            expected.add(keys.get("erp") or keys["timesheet"])
    filter = {
        "hours": {"from": start.isoformat(), "to": end.isoformat(), "min": "40", "max": "120"}
    }
    got = await selected(gateway, CUSTOMERS, "customers", filter)
    assert got == expected
    assert expected


PROJECTS = """
query($filter: ProjectFilter) {
  projects(filter: $filter, first: 100) {
    totalCount pageInfo { hasNextPage } edges { node { keys { system key } } }
  }
}
"""


async def test_projects_over_their_budgeted_hours(gateway: httpx.AsyncClient, raw: Raw) -> None:
    expected = set()
    for keys in raw.links["project"]:
        project = raw.ts_projects.get(keys.get("timesheet", ""))
        if project is None or project["budget_hours"] is None:
            continue
        logged = sum(
            (Decimal(e["hours"]) for e in raw.entries_by_project.get(project["code"], [])),
            Decimal(0),
        )
        if logged > Decimal(project["budget_hours"]):
            expected.add(keys.get("erp") or keys["timesheet"])
    got = await selected(gateway, PROJECTS, "projects", {"overBudgetHours": True})
    assert got == expected
    assert expected
    open_ones = {
        k for k in expected if k in raw.erp_projects and raw.erp_projects[k]["status"] == "open"
    }
    got = await selected(
        gateway, PROJECTS, "projects", {"overBudgetHours": True, "status": ["OPEN"]}
    )
    assert open_ones and got == open_ones


SUPPLIERS = """
query($filter: SupplierFilter, $first: Int) {
  suppliers(filter: $filter, first: $first, orderBy: {field: NAME, direction: DESC}) {
    totalCount pageInfo { hasNextPage } edges { node { keys { system key } erp { name } } }
  }
}
"""


async def test_suppliers_by_country_sorted_by_name(gateway: httpx.AsyncClient, raw: Raw) -> None:
    body = await ask(gateway, SUPPLIERS, {"filter": {"country": ["SE", "DK"]}, "first": 100})
    assert "errors" not in body, body["errors"]
    names = [e["node"]["erp"]["name"] for e in body["data"]["suppliers"]["edges"]]
    expected = [
        raw.suppliers[keys["erp"]]["name"]
        for keys in raw.links["supplier"]
        if raw.suppliers[keys["erp"]]["country"] in ("SE", "DK")
    ]
    assert names == sorted(expected, key=str.casefold, reverse=True)
    assert names
