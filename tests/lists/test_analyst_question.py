"""Issue 7's analyst question over real HTTP: "revenue this year, overdue amount and
unbilled hours for every CRM account in segment Industry, owned by the Oslo team", checked
row by row against the upstreams' raw JSON; and the CRM filter pushed down to the CRM."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems
from tests.e2e.expected import is_overdue
from tests.lists.conftest import ask
from tests.lists.expected import Raw, customers_where, figures
from tests.support.gateways import demo_gateway

MONEY = "{ amount currency }"
QUESTION = f"""
query Question($after: String) {{
  customers(filter: {{segment: ["Industry"], team: ["Oslo"]}}, first: 100, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{
      answeredBy
      unanswered
      node {{
        keys {{ system key }}
        account {{ name segment team }}
        financialOverview {{
          revenueYearToDate {MONEY}
          overdueAmount {MONEY}
          unbilledHours
        }}
      }}
    }}
  }}
}}
"""
ACCOUNTS_ONLY = """
{ customers(filter: {segment: ["Industry"], team: ["Oslo"]}, first: 100) {
    totalCount edges { node { keys { system key } account { name } } } } }
"""


def keyed(node: dict[str, Any]) -> dict[str, str]:
    return {k["system"]: k["key"] for k in node["keys"]}


def requests(stats: dict[str, httpx.Client]) -> dict[str, dict[str, int]]:
    return {name: client.get("/_stats").json()["requests"] for name, client in stats.items()}


async def test_industry_accounts_of_the_oslo_team_match_the_raw_data(
    gateway: httpx.AsyncClient, raw: Raw
) -> None:
    body = await ask(gateway, QUESTION)
    assert "errors" not in body, body["errors"]
    connection = body["data"]["customers"]
    assert connection["pageInfo"]["hasNextPage"] is False
    expected = {keys["crm"]: keys for keys in customers_where(raw, segment="Industry", team="Oslo")}
    assert len(expected) >= 3, "the demo data should hold a few such accounts"
    assert connection["totalCount"] == len(expected)
    got = {keyed(edge["node"])["crm"]: edge for edge in connection["edges"]}
    assert set(got) == set(expected)
    for crm_key, edge in got.items():
        keys = expected[crm_key]
        node = edge["node"]
        assert keyed(node) == keys
        assert node["account"]["segment"] == "Industry"
        assert node["account"]["team"] == "Oslo"
        want = figures(raw, keys)
        overview = node["financialOverview"]
        assert overview["revenueYearToDate"] == want["revenueYearToDate"], crm_key
        assert overview["overdueAmount"] == want["overdueAmount"], crm_key
        assert str(overview["unbilledHours"]) == str(want["unbilledHours"]), crm_key
        linked = [s for s in ("erp", "crm", "timesheet") if s in keys]
        assert edge["answeredBy"] == linked
        assert edge["unanswered"] == []


async def test_crm_filter_is_pushed_down_to_one_crm_request(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client], raw: Raw
) -> None:
    body = await ask(gateway, ACCOUNTS_ONLY)
    assert "errors" not in body, body["errors"]
    assert body["data"]["customers"]["totalCount"] == len(
        customers_where(raw, segment="Industry", team="Oslo")
    )
    seen = requests(upstream_stats)
    # one search request answers the filter and every account field; nothing else is read
    assert seen == {"erp": {}, "crm": {"/accounts": 1}, "timesheet": {}}


async def test_the_question_reads_only_the_matching_customers(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client], raw: Raw
) -> None:
    body = await ask(gateway, QUESTION)
    assert "errors" not in body, body["errors"]
    seen = requests(upstream_stats)
    matching = len(customers_where(raw, segment="Industry", team="Oslo"))
    assert matching <= 100
    assert seen["crm"] == {"/accounts": 1}
    # one batch per (system, operation): master data for answeredBy, open invoices, the
    # revenue window, unbilled entries; never one request per customer
    assert seen["erp"] == {"/customers": 1, "/invoices": 2}
    assert seen["timesheet"] == {"/clients": 1, "/entries": 1}


async def test_without_pushdown_the_same_rows_cost_a_read_of_every_account(
    live_upstreams: DemoUpstreams,
    demo_linkmap_url: str,
    upstream_stats: dict[str, httpx.Client],
    raw: Raw,
    tmp_path: Path,
) -> None:
    spec_path = Path(demo_systems(live_upstreams.urls)["crm"]["spec"])
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    del spec["operations"]["account_search"]
    plain = tmp_path / "crm-no-search.yaml"
    plain.write_text(yaml.safe_dump(spec), encoding="utf-8")
    systems = demo_systems(live_upstreams.urls)
    systems["crm"]["spec"] = str(plain)
    with demo_gateway(live_upstreams, demo_linkmap_url, extra={"systems": systems}) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            body = await ask(client, ACCOUNTS_ONLY)
    assert "errors" not in body, body["errors"]
    expected = {keys["crm"] for keys in customers_where(raw, segment="Industry", team="Oslo")}
    got = {keyed(e["node"])["crm"] for e in body["data"]["customers"]["edges"]}
    assert got == expected
    linked_accounts = sum(1 for keys in raw.links["customer"] if "crm" in keys)
    # the filter is checked on every linked account, read in batches of 100
    assert requests(upstream_stats)["crm"] == {"/accounts": -(-linked_accounts // 100)}


OVERDUE = """
{ customers(filter: {overdueAmountMin: {amount: "50000", currency: "NOK"}}, first: 100) {
    totalCount edges { node { keys { system key } } } } }
"""


async def test_an_overdue_filter_is_pushed_down_to_one_listing_of_overdue_invoices(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client], raw: Raw
) -> None:
    body = await ask(gateway, OVERDUE)
    assert "errors" not in body, body["errors"]
    overdue = [
        inv
        for invoices in raw.invoices_by_customer.values()
        for inv in invoices
        if is_overdue(inv, raw.today)
    ]
    expected = {
        keys["erp"]
        for keys in raw.links["customer"]
        if "erp" in keys
        and sum(
            (
                Decimal(i["amount_due"])
                for i in raw.invoices_by_customer.get(keys["erp"], [])
                if i in overdue and i["currency"] == "NOK"
            ),
            Decimal(0),
        )
        >= 50000
    }
    got = {keyed(e["node"])["erp"] for e in body["data"]["customers"]["edges"]}
    assert got == expected and expected
    # the overdue invoices are listed once (500 a page), not read customer batch by batch
    assert requests(upstream_stats) == {
        "erp": {"/invoices": -(-len(overdue) // 500)},
        "crm": {},
        "timesheet": {},
    }
