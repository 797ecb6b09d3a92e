"""``_entities`` over real HTTP against the demo gateway: the right entities, in order,
read live; unknown and out-of-scope references are null; bad ones are BAD_INPUT."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from demo.links import unlinked
from demo.runner import DemoUpstreams
from linkmap.records import Entity
from resolvers.federation import MAX_REPRESENTATIONS
from tests.federation.links import linked_in

ENTITIES = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    __typename
    ... on Customer { id keys { system key } erp { name } account { name } }
    ... on Supplier { id erp { name } }
    ... on Project { projectId: id erp { name } }
  }
}
"""


async def entities(
    gateway: httpx.AsyncClient,
    representations: list[Any],
    *,
    roles: str = "sales",
    scope: str | None = None,
) -> dict[str, Any]:
    """The ``_entities`` answer (``data`` and ``errors``) for ``representations``."""
    headers = {"X-Keylink-Principal": "router", "X-Keylink-Roles": roles}
    if scope is not None:
        headers["X-Keylink-Scope"] = scope
    response = await gateway.post(
        "/graphql", json={"query": ENTITIES, "variables": {"r": representations}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_id(typename: str, entity: Entity) -> dict[str, Any]:
    """A representation of ``entity`` by its link-map id."""
    return {"__typename": typename, "id": str(entity.id)}


def by_keys(typename: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    """A representation by ``(system, key)`` pairs."""
    return {"__typename": typename, "keys": [{"system": s, "key": k} for s, k in pairs]}


def customer(upstreams: DemoUpstreams, entity: Entity) -> dict[str, Any]:
    """What ``_entities`` must answer for a customer, from the link map and the demo data."""
    erp, crm = entity.keys["erp"][0], entity.keys["crm"][0]
    return {
        "__typename": "Customer",
        "id": str(entity.id),
        "keys": [{"system": s, "key": k} for s, ks in entity.keys.items() for k in ks],
        "erp": {"name": upstreams.dataset.customers[erp].name},
        "account": {"name": upstreams.dataset.accounts[crm].name},
    }


async def test_references_by_id_answer_the_right_entities_in_order(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
) -> None:
    customers = linked_in(demo_entities, "customer", {"erp", "crm"})[:4]
    supplier = linked_in(demo_entities, "supplier", {"erp"})[0]
    project = linked_in(demo_entities, "project", {"erp"})[0]
    unknown = max(e.id for es in demo_entities.values() for e in es) + 1000

    body = await entities(
        gateway,
        [
            by_id("Customer", customers[2]),
            by_id("Supplier", supplier),
            by_id("Customer", customers[0]),
            {"__typename": "Customer", "id": str(unknown)},
            by_id("Project", project),
            by_id("Customer", customers[3]),
            by_id("Customer", supplier),  # a supplier's id is no customer
            by_id("Customer", customers[1]),
            {"__typename": "Project", "id": None},  # an unlinked project's id is null
        ],
    )

    assert "errors" not in body, body["errors"]
    data = live_upstreams.dataset
    assert body["data"]["_entities"] == [
        customer(live_upstreams, customers[2]),
        {
            "__typename": "Supplier",
            "id": str(supplier.id),
            "erp": {"name": data.suppliers[supplier.keys["erp"][0]].name},
        },
        customer(live_upstreams, customers[0]),
        None,
        {
            "__typename": "Project",
            "projectId": str(project.id),
            "erp": {"name": data.projects[project.keys["erp"][0]].name},
        },
        customer(live_upstreams, customers[3]),
        None,
        customer(live_upstreams, customers[1]),
        None,
    ]


async def test_references_by_system_keys_find_the_entity_holding_a_listed_key(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
) -> None:
    first, second = linked_in(demo_entities, "customer", {"erp", "crm", "timesheet"})[:2]
    never_linked = next(
        link for link in unlinked(live_upstreams.dataset) if link.kind == "customer"
    )
    project = linked_in(demo_entities, "project", {"erp", "timesheet"})[0]

    body = await entities(
        gateway,
        [
            by_keys("Customer", ("crm", first.keys["crm"][0])),
            by_keys("Customer", ("notes", "N-1"), ("timesheet", second.keys["timesheet"][0])),
            by_keys("Customer", *[(s, ks[0]) for s, ks in never_linked.keys.items()]),
            by_keys("Project", ("timesheet", project.keys["timesheet"][0])),
            by_keys("Customer", ("erp", "no-such-customer")),
        ],
    )

    assert "errors" not in body, body["errors"]
    found = body["data"]["_entities"]
    assert found[0] == customer(live_upstreams, first)
    assert found[1] == customer(live_upstreams, second)
    assert found[2] is None
    assert found[3]["projectId"] == str(project.id)
    assert found[4] is None


async def test_entities_outside_the_row_scope_are_null(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
) -> None:
    inside, outside = linked_in(demo_entities, "customer", {"erp", "crm"})[:2]
    supplier = linked_in(demo_entities, "supplier", {"erp"})[0]
    scope = f"customer:erp:{inside.keys['erp'][0]}"

    body = await entities(
        gateway,
        [
            by_id("Customer", outside),
            by_id("Customer", inside),
            by_keys("Customer", ("crm", outside.keys["crm"][0])),
            by_keys("Customer", ("crm", inside.keys["crm"][0])),
            by_id("Supplier", supplier),
        ],
        scope=scope,
    )

    assert "errors" not in body, body["errors"]
    expected = customer(live_upstreams, inside)
    assert body["data"]["_entities"] == [None, expected, None, expected, None]


async def test_malformed_representations_are_bad_input_at_their_index(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
) -> None:
    good = linked_in(demo_entities, "customer", {"erp", "crm"})[0]
    body = await entities(
        gateway,
        [
            {"id": str(good.id)},  # no __typename
            {"__typename": "SystemKey", "id": str(good.id)},  # not an entity type
            {"__typename": "Customer", "id": "A-1108"},  # not a link-map id
            {"__typename": "Customer"},  # no key fields
            {"__typename": "Customer", "keys": [{"system": "crm"}]},
            {"__typename": "Customer", "keys": []},
            "Customer:1",
            by_id("Customer", good),
        ],
    )

    assert body["data"]["_entities"][:7] == [None] * 7
    assert body["data"]["_entities"][7] == customer(live_upstreams, good)
    paths = sorted(e["path"][1] for e in body["errors"])
    assert paths == list(range(7))
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_INPUT"}


async def test_too_many_representations_are_refused(
    gateway: httpx.AsyncClient, demo_entities: dict[str, list[Entity]]
) -> None:
    one = by_id("Customer", demo_entities["customer"][0])
    body = await entities(gateway, [one] * (MAX_REPRESENTATIONS + 1))
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_INPUT"]


@pytest.mark.parametrize("key", ["id", "keys"])
async def test_references_are_batched(
    gateway: httpx.AsyncClient,
    demo_entities: dict[str, list[Entity]],
    upstream_stats: dict[str, httpx.Client],
    key: str,
) -> None:
    customers = linked_in(demo_entities, "customer", {"erp", "crm"})[:20]
    body = await entities(
        gateway,
        [
            by_id("Customer", c) if key == "id" else by_keys("Customer", ("crm", c.keys["crm"][0]))
            for c in customers
        ],
    )

    assert "errors" not in body
    assert all(found is not None for found in body["data"]["_entities"])
    calls = {name: c.get("/_stats").json()["requests"] for name, c in upstream_stats.items()}
    assert calls["erp"] == {"/customers": 1}, calls  # one read for all twenty
    assert calls["crm"] == {"/accounts": 1}, calls


@pytest.mark.parametrize("roles", ["sales", "analyst", "admin"])
async def test_the_subgraph_sdl_is_for_sales_analysts_and_admins(
    gateway: httpx.AsyncClient, roles: str
) -> None:
    response = await gateway.post(
        "/graphql", json={"query": "{ _service { sdl } }"}, headers={"X-Keylink-Roles": roles}
    )
    assert "type Customer @key" in response.json()["data"]["_service"]["sdl"]


async def test_viewers_do_not_get_the_subgraph_sdl(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/graphql", json={"query": "{ _service { sdl } }"}, headers={"X-Keylink-Roles": "viewer"}
    )
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
