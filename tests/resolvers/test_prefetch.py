"""A list prefetches its items' ERP records and orders in one round: the answers and
errors are those of reading each customer on its own, a viewer's list reads no orders,
and the fields then answer without waiting."""

from __future__ import annotations

from typing import Any

import httpx

from demo.runner import DemoUpstreams
from tests.cache.test_single_flight import counts
from tests.conftest import graphql
from tests.e2e.test_customer_overview import linked_customers

LIST = """
query($keys: [String!]!) {
  customersByKey(system: "erp", keys: $keys) {
    erp { key name currency }
    orders { key status orderDate total { amount currency } }
  }
}
"""
ONE = """
query($key: String!) {
  customer(system: "erp", key: $key) {
    erp { key name currency }
    orders { key status orderDate total { amount currency } }
  }
}
"""


def erp_keys(upstreams: DemoUpstreams, count: int) -> list[str]:
    """ERP numbers of linked demo customers."""
    return [c["erp"] for c in linked_customers(upstreams)[:count]]


async def test_a_prefetched_list_answers_as_single_lookups_do(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    keys = erp_keys(live_upstreams, 20)
    counts(upstream_stats)
    listed = await graphql(gateway, LIST, {"keys": keys})
    assert "errors" not in listed
    assert counts(upstream_stats) == {("erp", "/customers"): 1, ("erp", "/orders"): 1}
    for key, row in zip(keys, listed["data"]["customersByKey"], strict=True):
        alone = await graphql(gateway, ONE, {"key": key})
        assert row == alone["data"]["customer"]
    assert any(row["orders"] for row in listed["data"]["customersByKey"])


async def test_a_viewers_list_reads_no_orders(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    counts(upstream_stats)
    response = await gateway.post(
        "/graphql",
        json={"query": LIST, "variables": {"keys": erp_keys(live_upstreams, 10)}},
        headers={"X-Keylink-Roles": "viewer"},
    )
    body: dict[str, Any] = response.json()
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert all(row["orders"] is None and row["erp"] for row in body["data"]["customersByKey"])
    assert counts(upstream_stats) == {("erp", "/customers"): 1}


async def test_a_failed_prefetch_is_reported_on_every_item_as_before(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    keys = erp_keys(live_upstreams, 5)
    live_upstreams.knobs["erp"].update(fault="503", paths=["/orders"])
    body = await graphql(gateway, LIST, {"keys": keys})
    rows = body["data"]["customersByKey"]
    assert all(row["erp"] and row["orders"] is None for row in rows)
    paths = sorted(tuple(e["path"]) for e in body["errors"])
    assert paths == [("customersByKey", i, "orders") for i in range(5)]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SOURCE_UNAVAILABLE"}


async def test_prefetched_fields_answer_without_waiting(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams, monkeypatch: Any
) -> None:
    from resolvers.types.customer import Customer

    waited: list[str] = []
    standard_orders, standard_erp = Customer._orders, Customer._erp

    def orders_later(self: Any, *args: Any) -> Any:
        waited.append("orders")
        return standard_orders(self, *args)

    def erp_later(self: Any, *args: Any) -> Any:
        waited.append("erp")
        return standard_erp(self, *args)

    monkeypatch.setattr(Customer, "_orders", orders_later)
    monkeypatch.setattr(Customer, "_erp", erp_later)
    listed = await graphql(gateway, LIST, {"keys": erp_keys(live_upstreams, 10)})
    assert "errors" not in listed
    assert waited == []
    alone = await graphql(gateway, ONE, {"key": erp_keys(live_upstreams, 1)[0]})
    assert "errors" not in alone
    assert sorted(waited) == ["erp", "orders"]  # a single lookup still awaits its reads
