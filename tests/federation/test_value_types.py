"""Keylink's value types in a supergraph: ``PageInfo``, ``Money``, ``SystemKey`` and the list
connections and edges are ``@shareable``, so a second subgraph that defines the common
Relay ``PageInfo`` or a ``Money`` composes with Keylink; and the configuration can leave the
order-line mutations out of the supergraph's API with ``@inaccessible``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, build_schema

from demo.runner import DemoUpstreams
from resolvers.schema import build_schema as build_keylink_schema
from tests.conftest import graphql
from tests.federation.billing_subgraph import SCHEMA as BILLING_SCHEMA
from tests.federation.composition import Composer
from tests.federation.notes_subgraph import SCHEMA as NOTES_SCHEMA
from tests.support.gateways import demo_gateway

SHAREABLE = (
    "PageInfo",
    "Money",
    "SystemKey",
    "CustomerConnection",
    "CustomerEdge",
    "ProjectConnection",
    "ProjectEdge",
    "SupplierConnection",
    "SupplierEdge",
)
ORDER_LINE_MUTATIONS = ("addOrderLine", "updateOrderLine", "removeOrderLine")


def type_line(sdl: str, name: str) -> str:
    """The line of ``sdl`` that opens type ``name`` (with its directives)."""
    found = re.search(rf"^type {name}\b[^{{]*", sdl, re.MULTILINE)
    assert found is not None, name
    return found.group(0)


def fields_of(supergraph: str, type_name: str) -> set[str]:
    """The fields of object type ``type_name`` in a (supergraph) SDL."""
    named = build_schema(supergraph).get_type(type_name)
    assert isinstance(named, GraphQLObjectType), type_name
    return set(named.fields)


def test_keylinks_value_types_are_shareable() -> None:
    sdl = build_keylink_schema().as_str()
    for name in SHAREABLE:
        assert "@shareable" in type_line(sdl, name), name
    for entity in ("Customer", "Supplier", "Project"):
        assert "@shareable" not in type_line(sdl, entity), entity


def test_a_subgraph_with_its_own_pageinfo_and_money_composes_with_keylink(
    composer: Composer,
) -> None:
    billing = BILLING_SCHEMA.as_str()
    assert "type PageInfo @shareable" in billing and "type Money @shareable" in billing

    result = composer.compose(
        {
            "keylink": build_keylink_schema().as_str(),
            "notes": NOTES_SCHEMA.as_str(),
            "billing": billing,
        }
    )

    assert result.errors == []
    assert result.supergraph_sdl is not None
    supergraph = result.supergraph_sdl
    relay = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}
    assert fields_of(supergraph, "PageInfo") == relay
    assert fields_of(supergraph, "Money") == {"amount", "currency"}
    for name in ("PageInfo", "Money"):
        opening = supergraph[supergraph.index(f"type {name}\n") :].split("{", 1)[0]
        assert "join__type(graph: KEYLINK)" in opening and "join__type(graph: BILLING)" in opening


async def test_page_info_has_all_four_relay_fields(gateway: httpx.AsyncClient) -> None:
    query = """
    query($after: String) {
      customers(first: 3, after: $after) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor }
      }
    }
    """
    first = (await graphql(gateway, query))["data"]["customers"]
    second = (await graphql(gateway, query, {"after": first["pageInfo"]["endCursor"]}))["data"][
        "customers"
    ]

    for page in (first, second):
        cursors = [e["cursor"] for e in page["edges"]]
        assert page["pageInfo"]["startCursor"] == cursors[0]
        assert page["pageInfo"]["endCursor"] == cursors[-1]
        assert page["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True


def test_hidden_order_line_mutations_are_left_out_of_the_supergraphs_api(
    composer: Composer,
) -> None:
    keylink = build_keylink_schema(hide_mutations=True).as_str()
    for name in ORDER_LINE_MUTATIONS:
        assert re.search(rf"^  {name}\(.*\): \w+! @inaccessible$", keylink, re.MULTILINE), name
    assert "@inaccessible" not in type_line(keylink, "Mutation")

    # beside a subgraph with mutations of its own, only Keylink's are hidden
    result = composer.compose({"keylink": keylink, "billing": BILLING_SCHEMA.as_str()})
    assert result.errors == []
    assert result.supergraph_sdl is not None
    assert fields_of(result.supergraph_sdl, "Mutation") >= {*ORDER_LINE_MUTATIONS, "recordPayment"}
    assert "@inaccessible" not in type_line(result.supergraph_sdl, "Mutation")
    for name in ORDER_LINE_MUTATIONS:
        assert re.search(
            rf"^  {name}\(.*\): \w+! @inaccessible", result.supergraph_sdl, re.MULTILINE
        )

    # composition refuses a Mutation type left with only @inaccessible fields ...
    alone = composer.compose({"keylink": keylink, "notes": NOTES_SCHEMA.as_str()})
    assert alone.errors == [
        'Type "Mutation" is in the API schema but all of its fields are @inaccessible.'
    ]
    # ... so "type" hides the Mutation type as well
    whole = build_keylink_schema(hide_mutations="type").as_str()
    assert "@inaccessible" in type_line(whole, "Mutation")
    hidden = composer.compose({"keylink": whole, "notes": NOTES_SCHEMA.as_str()})
    assert hidden.errors == []


@pytest.fixture(scope="module")
def hiding_gateway(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """A gateway configured with ``federation: {hide_mutations: true}``."""
    extra = {"federation": {"hide_mutations": True}}
    with demo_gateway(live_upstreams, demo_linkmap_url, extra=extra) as url:
        yield url


def test_the_configuration_hides_the_mutations_from_routers_only(hiding_gateway: str) -> None:
    def post(query: str, roles: str) -> dict[str, Any]:
        response = httpx.post(
            f"{hiding_gateway}/graphql",
            json={"query": query},
            headers={"X-Keylink-Roles": roles},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    sdl = post("{ _service { sdl } }", "analyst")["data"]["_service"]["sdl"]
    assert re.search(r"^  addOrderLine\(.*\): \w+! @inaccessible$", sdl, re.MULTILINE)

    # Keylink's own clients still have the mutations, with their permissions
    refused = post(
        'mutation { removeOrderLine(input: {order: {system: "erp", key: "SO-1"}, line: "1",'
        ' expectedVersion: "1"}, idempotencyKey: "k-1") { __typename } }',
        "viewer",
    )
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
