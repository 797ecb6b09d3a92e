"""Issue 2 end to end: the live customer financial overview over real HTTP.

The demo upstreams and the gateway run under uvicorn on loopback. Expected figures are
computed from the upstreams' raw JSON by ``expected.py``, not by Keylink's code.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import httpx
import pytest

from demo.links import demo_links, unlinked_keys
from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.expected import expected_overview
from tests.e2e.queries import CUSTOMER, CUSTOMERS_BY_KEY


def linked_customers(upstreams: DemoUpstreams) -> list[dict[str, str]]:
    """Demo customers linked in all three systems: {system: key}."""
    return [
        {system: keys[0] for system, keys in link.keys.items()}
        for link in demo_links(upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
    ]


def multi_currency_customer(upstreams: DemoUpstreams) -> dict[str, str]:
    """A linked customer with open invoices or open orders in more than one currency."""
    data = upstreams.dataset
    for keys in linked_customers(upstreams):
        currencies = {
            data.invoices[i].currency
            for i in data.invoices_by_customer.get(keys["erp"], [])
            if data.invoices[i].status == "open"
        }
        if len(currencies) > 1:
            return keys
    raise AssertionError("the demo data has no multi-currency customer")


def normalise(overview: dict[str, Any]) -> dict[str, Any]:
    """Wire values as strings for comparison with the expected figures."""
    return {
        k: (str(v) if k in ("hoursThisMonth", "unbilledHours") else v) for k, v in overview.items()
    }


@pytest.fixture(scope="module")
def erp_client(live_upstreams: DemoUpstreams) -> httpx.Client:
    return httpx.Client(base_url=live_upstreams.urls["erp"], timeout=10)


@pytest.fixture(scope="module")
def ts_client(live_upstreams: DemoUpstreams) -> httpx.Client:
    return httpx.Client(base_url=live_upstreams.urls["timesheet"], timeout=10)


async def check_overview(
    gateway: httpx.AsyncClient,
    erp_client: httpx.Client,
    ts_client: httpx.Client,
    keys: dict[str, str],
    system: str,
) -> dict[str, Any]:
    body = await graphql(gateway, CUSTOMER, {"system": system, "key": keys[system]})
    assert "errors" not in body, body["errors"]
    customer = body["data"]["customer"]
    today = date.fromisoformat(customer["financialOverview"]["asOf"])
    assert today == date.today()
    expected = expected_overview(erp_client, ts_client, keys["erp"], keys.get("timesheet"), today)
    assert normalise(customer["financialOverview"]) == normalise(expected)
    assert {(k["system"], k["key"]) for k in customer["keys"]} >= set(keys.items())
    return customer


@pytest.mark.parametrize("index", [0, 7, 42, 120])
async def test_overview_matches_independent_computation(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    erp_client: httpx.Client,
    ts_client: httpx.Client,
    index: int,
) -> None:
    keys = linked_customers(live_upstreams)[index]
    customer = await check_overview(gateway, erp_client, ts_client, keys, "crm")
    account = live_upstreams.dataset.accounts[keys["crm"]]
    assert customer["account"]["name"] == account.name
    assert customer["account"]["owner"] == account.owner
    assert customer["account"]["segment"] == account.segment
    erp_customer = live_upstreams.dataset.customers[keys["erp"]]
    assert customer["erp"]["name"] == erp_customer.name
    assert customer["erp"]["currency"] == erp_customer.currency


async def test_several_currencies_give_one_figure_each_never_a_sum(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    erp_client: httpx.Client,
    ts_client: httpx.Client,
) -> None:
    keys = multi_currency_customer(live_upstreams)
    customer = await check_overview(gateway, erp_client, ts_client, keys, "erp")
    currencies = [m["currency"] for m in customer["financialOverview"]["openBalance"]]
    assert len(currencies) > 1 and currencies == sorted(set(currencies))
    assert customer["financialOverview"]["creditAvailable"] is None


@pytest.mark.parametrize("system", ["erp", "crm", "timesheet"])
async def test_any_systems_key_finds_the_same_customer(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams, system: str
) -> None:
    keys = linked_customers(live_upstreams)[3]
    body = await graphql(
        gateway,
        "query($s: String!, $k: String!) "
        "{ customer(system: $s, key: $k) { id keys { system key } } }",
        {"s": system, "k": keys[system]},
    )
    found = {(k["system"], k["key"]) for k in body["data"]["customer"]["keys"]}
    assert found == set(keys.items())


async def test_customers_by_key_keeps_order_and_nulls_unlinked_keys(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams
) -> None:
    linked = [c["crm"] for c in linked_customers(live_upstreams)[:3]]
    deliberately_unlinked = next(k for s, k in unlinked_keys(live_upstreams.dataset) if s == "crm")
    keys = [linked[0], deliberately_unlinked, linked[1], "A-0000", linked[2]]
    body = await graphql(
        gateway,
        'query($k: [String!]!) { customersByKey(system: "crm", keys: $k) { keys { system key } } }',
        {"k": keys},
    )
    rows = body["data"]["customersByKey"]
    assert [row is None for row in rows] == [False, True, False, True, False]
    for key, row in zip(keys, rows, strict=True):
        if row is not None:
            assert {"system": "crm", "key": key} in row["keys"]


async def test_fifty_customers_cost_one_request_per_system_endpoint_and_page(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    customers = linked_customers(live_upstreams)[:50]
    erp_keys = ",".join(c["erp"] for c in customers)
    ts_keys = ",".join(c["timesheet"] for c in customers)
    today = date.today()

    def pages(http: httpx.Client, path: str, **params: str) -> int:
        total = http.get(path, params={**params, "per_page": "500"}).json()["total"]
        return max(1, math.ceil(total / 500))

    erp, ts = upstream_stats["erp"], upstream_stats["timesheet"]
    expected = {
        ("erp", "/customers"): 1,
        ("erp", "/invoices"): pages(erp, "/invoices", customer=erp_keys, status="open")
        + pages(
            erp,
            "/invoices",
            customer=erp_keys,
            issued_from=date(today.year - 1, 1, 1).isoformat(),
            issued_to=today.isoformat(),
        ),
        ("erp", "/orders"): pages(
            erp, "/orders", customer=erp_keys, status="draft,quoted,confirmed,processing"
        ),
        ("crm", "/accounts"): 1,
        ("timesheet", "/entries"): pages(
            ts,
            "/entries",
            client=ts_keys,
            **{"from": today.replace(day=1).isoformat()},
            to=today.isoformat(),
        )
        + pages(ts, "/entries", client=ts_keys, billable="true", invoiced="false"),
    }
    for client in upstream_stats.values():
        client.post("/_stats/reset").raise_for_status()

    body = await graphql(
        gateway, CUSTOMERS_BY_KEY, {"system": "crm", "keys": [c["crm"] for c in customers]}
    )
    assert "errors" not in body
    rows = body["data"]["customersByKey"]
    assert len(rows) == 50 and all(row["financialOverview"]["creditLimit"] for row in rows)

    seen: dict[tuple[str, str], int] = {}
    for system, client in upstream_stats.items():
        for path, count in client.get("/_stats").json()["requests"].items():
            seen[(system, path)] = count
    assert seen == expected
    assert sum(seen.values()) < 50
