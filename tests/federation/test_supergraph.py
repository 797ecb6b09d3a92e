"""Keylink in a supergraph, queried through Apollo Gateway (Apollo's JavaScript router):
the router's query plans call Keylink's ``_entities`` with the representations it builds,
by ``id`` and by ``keys { system key }``, and join the answers with another subgraph's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from linkmap.records import Entity
from tests.federation.composition import Composer
from tests.federation.links import linked_in
from tests.federation.notes_subgraph import SCHEMA as NOTES_SCHEMA
from tests.federation.notes_subgraph import notes_app
from tests.support.servers import ServerThread

ROUTER_HEADERS = {"X-Keylink-Principal": "router", "X-Keylink-Roles": "analyst"}


@pytest.fixture(scope="module")
def notes_url() -> Iterator[str]:
    """The notes subgraph on loopback (its base URL)."""
    server = ServerThread(notes_app())
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def supergraph(gateway_url: str, notes_url: str, composer: Composer) -> str:
    """The supergraph SDL of Keylink (SDL fetched from the gateway) and the notes subgraph."""
    response = httpx.post(
        f"{gateway_url}/graphql",
        json={"query": "{ _service { sdl } }"},
        headers=ROUTER_HEADERS,
        timeout=30,
    )
    keylink_sdl = response.json()["data"]["_service"]["sdl"]
    result = composer.compose(
        {"keylink": keylink_sdl, "notes": NOTES_SCHEMA.as_str()},
        urls={"keylink": f"{gateway_url}/graphql", "notes": f"{notes_url}/graphql"},
    )
    assert result.errors == []
    assert result.supergraph_sdl is not None
    return result.supergraph_sdl


def run(
    composer: Composer,
    supergraph: str,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] = ROUTER_HEADERS,
) -> dict[str, Any]:
    """The router's answer to ``query``, asserting it has no errors."""
    [result] = composer.execute(supergraph, [{"query": query, "variables": variables}], headers)
    assert result["errors"] == [], result["errors"]
    return result


def test_keylink_customers_gain_the_notes_subgraphs_fields(
    composer: Composer,
    supergraph: str,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
) -> None:
    entity = linked_in(demo_entities, "customer", {"erp", "crm"})[0]
    query = """
    query($k: String!) { customer(system: "crm", key: $k) { id erp { name } notes } }
    """
    result = run(composer, supergraph, query, {"k": entity.keys["crm"][0]})
    assert result["data"]["customer"] == {
        "id": str(entity.id),
        "erp": {"name": live_upstreams.dataset.customers[entity.keys["erp"][0]].name},
        "notes": [f"note on customer {entity.id}"],
    }


def test_the_router_resolves_keylink_customers_by_id(
    composer: Composer,
    supergraph: str,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
) -> None:
    first, second = linked_in(demo_entities, "customer", {"erp", "crm"})[3:5]
    unknown = max(e.id for es in demo_entities.values() for e in es) + 1000
    query = """
    query($ids: [ID!]!) { notedCustomers(ids: $ids) { id notes account { name } } }
    """
    result = run(
        composer, supergraph, query, {"ids": [str(second.id), str(unknown), str(first.id)]}
    )
    accounts = live_upstreams.dataset.accounts
    assert result["data"]["notedCustomers"] == [
        {
            "id": str(second.id),
            "notes": [f"note on customer {second.id}"],
            "account": {"name": accounts[second.keys["crm"][0]].name},
        },
        {"id": str(unknown), "notes": [f"note on customer {unknown}"], "account": None},
        {
            "id": str(first.id),
            "notes": [f"note on customer {first.id}"],
            "account": {"name": accounts[first.keys["crm"][0]].name},
        },
    ]


def test_the_router_resolves_keylink_projects_by_a_system_key(
    composer: Composer,
    supergraph: str,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
) -> None:
    project = linked_in(demo_entities, "project", {"erp", "timesheet"})[0]
    timesheet_key = project.keys["timesheet"][0]
    query = """
    query($keys: [String!]!) { timesheetProjects(keys: $keys) { tags id erp { name } } }
    """
    result = run(composer, supergraph, query, {"keys": [timesheet_key]})
    assert result["data"]["timesheetProjects"] == [
        {
            "tags": [f"timesheet:{timesheet_key}"],
            "id": str(project.id),
            "erp": {"name": live_upstreams.dataset.projects[project.keys["erp"][0]].name},
        }
    ]


def test_the_row_scope_holds_through_the_router(
    composer: Composer, supergraph: str, demo_entities: dict[str, list[Entity]]
) -> None:
    inside, outside = linked_in(demo_entities, "customer", {"erp", "crm"})[:2]
    headers = {**ROUTER_HEADERS, "X-Keylink-Scope": f"customer:erp:{inside.keys['erp'][0]}"}
    query = "query($ids: [ID!]!) { notedCustomers(ids: $ids) { id erp { name } } }"
    result = run(composer, supergraph, query, {"ids": [str(outside.id), str(inside.id)]}, headers)
    found = result["data"]["notedCustomers"]
    assert found[0] == {"id": str(outside.id), "erp": None}
    assert found[1]["erp"] is not None
