"""S5 row scope (BOLA): a scoped principal sees only entities in its scope; anything else
answers as if it were not linked, without a single upstream call."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from demo.links import DemoLink, demo_links
from demo.runner import DemoUpstreams
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from linkmap.errors import InvalidInput
from linkmap.records import Entity
from linkmap.scope import parse_scope
from tests.support.gateways import demo_gateway
from tests.writes.queries import PREVIEW

CUSTOMER = 'query($k: String!) { customer(system: "erp", key: $k) { id erp { name } } }'
MANY = 'query($k: [String!]!) { customersByKey(system: "erp", keys: $k) { id account { name } } }'
SUPPLIER = 'query($k: String!) { supplier(system: "erp", key: $k) { id erp { name } } }'
PROJECT = 'query($k: String!) { project(system: "erp", key: $k) { id erp { name } } }'


def linked(upstreams: DemoUpstreams, kind: str, count: int) -> list[DemoLink]:
    wanted = {"erp", "crm"} if kind == "customer" else {"erp"}
    return [
        link
        for link in demo_links(upstreams.dataset)
        if link.kind == kind and wanted <= set(link.keys)
    ][:count]


def calls(stats: dict[str, httpx.Client]) -> int:
    return sum(client.get("/_stats").json()["total"] for client in stats.values())


def ask(
    gateway: str, query: str, variables: dict[str, object], scope: str | None
) -> dict[str, object]:
    headers = {"X-Keylink-Principal": "partner", "X-Keylink-Roles": "sales"}
    if scope is not None:
        headers["X-Keylink-Scope"] = scope
    response = httpx.post(
        f"{gateway}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_scope_entries_match_kind_system_and_pattern() -> None:
    scope = parse_scope(["customer:erp:100*", "project:timesheet:P-7"])
    customer = Entity(1, "customer", {"erp": ("10012",), "crm": ("A-9",)})
    assert scope.admits(customer)
    assert not scope.admits(Entity(2, "customer", {"erp": ("20012",), "crm": ("100",)}))
    assert not scope.admits(Entity(3, "supplier", {"erp": ("10012",)}))  # kind matters
    assert scope.admits(Entity(4, "project", {"timesheet": ("P-7",)}))
    assert not scope.admits(Entity(5, "project", {"timesheet": ("P-77",)}))  # whole key
    assert not parse_scope([]).admits(customer)  # an empty scope admits nothing
    assert parse_scope(["customer:erp:a.b"]).admits(Entity(6, "customer", {"erp": ("a.b",)}))
    assert not parse_scope(["customer:erp:a.b"]).admits(Entity(7, "customer", {"erp": ("axb",)}))
    for bad in ("customer:erp", "planet:erp:1", "customer::1", ":erp:1"):
        with pytest.raises(InvalidInput):
            parse_scope([bad])


@pytest.mark.parametrize(("kind", "query"), [("supplier", SUPPLIER), ("project", PROJECT)])
def test_out_of_scope_suppliers_and_projects_cost_no_upstream_call(
    gateway_url: str,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
    kind: str,
    query: str,
) -> None:
    mine, other = (link.keys["erp"][0] for link in linked(live_upstreams, kind, 2))
    scope = f"{kind}:erp:{mine}"
    refused = ask(gateway_url, query, {"k": other}, scope)
    assert refused == {"data": {kind: None}, "extensions": refused["extensions"]}
    assert calls(upstream_stats) == 0
    allowed = ask(gateway_url, query, {"k": mine}, scope)
    assert allowed["data"][kind]["erp"]["name"]  # type: ignore[index]
    assert calls(upstream_stats) > 0


def test_out_of_scope_customers_cost_no_upstream_call(
    gateway_url: str, live_upstreams: DemoUpstreams, upstream_stats: dict[str, httpx.Client]
) -> None:
    mine, other, third = (link.keys["erp"][0] for link in linked(live_upstreams, "customer", 3))
    scope = f"customer:erp:{mine}"
    assert ask(gateway_url, CUSTOMER, {"k": other}, scope)["data"] == {"customer": None}
    assert ask(gateway_url, MANY, {"k": [other, third]}, scope)["data"] == {
        "customersByKey": [None, None]
    }
    assert calls(upstream_stats) == 0
    rows = ask(gateway_url, MANY, {"k": [other, mine]}, scope)["data"]["customersByKey"]  # type: ignore[index]
    assert rows[0] is None and rows[1]["account"]["name"]
    # without a scope the same principal sees both
    unscoped = ask(gateway_url, MANY, {"k": [other, mine]}, None)["data"]["customersByKey"]  # type: ignore[index]
    assert all(row is not None for row in unscoped)


def test_an_order_is_edited_only_when_its_customer_or_itself_is_in_scope(
    gateway_url: str, live_upstreams: DemoUpstreams, upstream_stats: dict[str, httpx.Client]
) -> None:
    """A scoped principal edits (and previews) an order whose customer is in its row scope
    (as it reads it: ``order`` in GraphQL); another customer's order is NOT_FOUND, learnt
    from one read of the order (whose customer it is) and nothing else: no edit or preview
    reaches the ERP."""
    linked_customers = {link.keys["erp"][0] for link in linked(live_upstreams, "customer", 50)}
    order = next(
        o
        for o in live_upstreams.dataset.orders.values()
        if o.status == "draft" and o.customer in linked_customers
    )
    other = next(key for key in sorted(linked_customers) if key != order.customer)
    product = next(iter(live_upstreams.dataset.products.values()))
    variables = {
        "input": {
            "order": {"system": "erp", "key": order.number},
            "product": product.sku,
            "quantity": "1",
        }
    }
    scoped = ask(gateway_url, PREVIEW, variables, f"customer:erp:{other}")
    assert scoped["data"]["previewOrderLine"]["code"] == "NOT_FOUND"  # type: ignore[index]
    assert calls(upstream_stats) == 1  # the order read to learn its customer; no preview
    mine = ask(gateway_url, PREVIEW, variables, f"customer:erp:{order.customer}")
    assert mine["data"]["previewOrderLine"]["__typename"] == "OrderLinePreview"  # type: ignore[index]
    unscoped = ask(gateway_url, PREVIEW, variables, None)
    assert unscoped["data"]["previewOrderLine"]["__typename"] == "OrderLinePreview"  # type: ignore[index]


@pytest.fixture(scope="module")
def enforcing(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    with demo_gateway(live_upstreams, demo_linkmap_url, extra={"auth": {"mode": "enforce"}}) as url:
        yield url


async def test_an_api_key_carries_its_scope(
    enforcing: str,
    demo_linkmap_url: str,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    mine, other = (link.keys["erp"][0] for link in linked(live_upstreams, "customer", 2))
    engine = create_engine(demo_linkmap_url)
    try:
        record, key = await ApiKeyStore(engine).create(
            f"partner-{uuid.uuid4().hex[:8]}", ["sales"], actor="t", scope=[f"customer:erp:{mine}"]
        )
    finally:
        await engine.dispose()
    assert record.scope is not None

    def with_key(k: str) -> dict[str, object]:
        response = httpx.post(
            f"{enforcing}/graphql",
            json={"query": CUSTOMER, "variables": {"k": k}},
            headers={"X-API-Key": key, "X-Keylink-Scope": "customer:erp:*"},  # ignored
            timeout=30,
        )
        body: dict[str, object] = response.json()
        return body

    assert with_key(other)["data"] == {"customer": None}
    assert calls(upstream_stats) == 0
    assert with_key(mine)["data"]["customer"]["erp"]["name"]  # type: ignore[index]
