"""``customerTotals`` against sums made independently from the raw upstream data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.expected import add, money_list
from tests.lists.conftest import ask
from tests.lists.expected import Raw, customers_where, figures, totals

MONEY = "{ amount currency }"
GROUP = f"""key customers revenueYearToDate {MONEY} overdueAmount {MONEY}
            openBalance {MONEY} unbilledHours"""
TOTALS = f"""
query($groupBy: CustomerGrouping!, $filter: CustomerFilter) {{
  customerTotals(groupBy: $groupBy, filter: $filter) {{
    asOf groupBy groups {{ {GROUP} }} overall {{ {GROUP} }}
  }}
}}
"""


def plain(group: dict[str, Any]) -> dict[str, Any]:
    return {**group, "unbilledHours": Decimal(str(group["unbilledHours"]))}


@pytest.mark.parametrize("field", ["segment", "owner", "country"])
async def test_totals_per_crm_field_for_the_oslo_team(
    gateway: httpx.AsyncClient, raw: Raw, field: str
) -> None:
    body = await ask(gateway, TOTALS, {"groupBy": field.upper(), "filter": {"team": ["Oslo"]}})
    assert "errors" not in body, body["errors"]
    result = body["data"]["customerTotals"]
    assert result["asOf"] == raw.today.isoformat()
    rows = customers_where(raw, team="Oslo")
    expected = totals(raw, rows, field)
    got = {g["key"]: plain(g) for g in result["groups"]}
    assert got == {k: {"key": k, **v} for k, v in expected.items()}
    assert [g["key"] for g in result["groups"]] == sorted(expected, key=lambda k: (k is None, k))
    overall = totals(raw, [{**keys, "crm": keys["crm"]} for keys in rows], "team")["Oslo"]
    assert plain(result["overall"]) == {"key": None, **overall}


async def test_totals_per_month_add_up_to_the_overall_figures(
    gateway: httpx.AsyncClient, raw: Raw
) -> None:
    keys = {"system": "erp", "keys": [k["erp"] for k in raw.links["customer"] if "erp" in k][:40]}
    body = await ask(gateway, TOTALS, {"groupBy": "MONTH", "filter": {"keys": keys}})
    assert "errors" not in body, body["errors"]
    result = body["data"]["customerTotals"]
    rows = [k for k in raw.links["customer"] if k.get("erp") in keys["keys"]]
    revenue: dict[str, Decimal] = {}
    overdue: dict[str, Decimal] = {}
    unbilled = Decimal(0)
    for row in rows:
        mine = figures(raw, row)
        for money in mine["revenueYearToDate"]:
            add(revenue, money["currency"], money["amount"])
        for money in mine["overdueAmount"]:
            add(overdue, money["currency"], money["amount"])
        unbilled += mine["unbilledHours"]
    overall = result["overall"]
    assert overall["customers"] == len(rows)
    assert overall["revenueYearToDate"] == money_list(revenue)
    assert overall["overdueAmount"] == money_list(overdue)
    assert Decimal(str(overall["unbilledHours"])) == unbilled
    months = [g["key"] for g in result["groups"]]
    assert months == sorted(months)
    assert all(len(m) == 7 and m[4] == "-" for m in months)
    this_year = [g for g in result["groups"] if g["key"].startswith(str(raw.today.year))]
    summed: dict[str, Decimal] = {}
    for group in result["groups"]:
        for money in group["revenueYearToDate"]:
            add(summed, money["currency"], money["amount"])
        if not group["key"].startswith(str(raw.today.year)):
            assert group["revenueYearToDate"] == []
    assert money_list(summed) == money_list(revenue)
    assert this_year
    assert sum(Decimal(str(g["unbilledHours"])) for g in result["groups"]) == unbilled
