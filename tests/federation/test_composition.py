"""Keylink's subgraph SDL, as the gateway serves it over HTTP, composes with other
subgraphs into a supergraph with Apollo's own composition library."""

from __future__ import annotations

import httpx
from graphql import GraphQLObjectType, build_schema

from resolvers.schema import build_schema as build_keylink_schema
from tests.federation.composition import Composer

FEDERATION = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])'
)

CRM_NOTES = f"""
{FEDERATION}

type Customer @key(fields: "id") {{
  id: ID!
  notes: [String]
}}
"""
"""A second subgraph extending Keylink's customers by their link-map id."""

CRM_TAGS = f"""
{FEDERATION}

type SystemKey {{
  system: String!
  key: String!
}}

type Customer @key(fields: "keys {{ system key }}") {{
  keys: [SystemKey!]!
  tags: [String!]
}}

type Project @key(fields: "keys {{ system key }}") {{
  keys: [SystemKey!]!
  tags: [String!]
}}
"""
"""A third subgraph that knows customers and projects only by their systems' keys."""

SDL_QUERY = "{ _service { sdl } }"


async def keylink_sdl(gateway: httpx.AsyncClient) -> str:
    """Keylink's subgraph SDL, as ``_service { sdl }`` serves it over HTTP."""
    response = await gateway.post(
        "/graphql", json={"query": SDL_QUERY}, headers={"X-Keylink-Roles": "analyst"}
    )
    assert response.status_code == 200, response.text
    sdl: str = response.json()["data"]["_service"]["sdl"]
    return sdl


def fields_of(supergraph: str, type_name: str) -> set[str]:
    """The fields of object type ``type_name`` in a (supergraph) SDL."""
    named = build_schema(supergraph).get_type(type_name)
    assert isinstance(named, GraphQLObjectType), type_name
    return set(named.fields)


async def test_subgraph_sdl_composes_with_a_subgraph_extending_customer(
    gateway: httpx.AsyncClient, composer: Composer
) -> None:
    sdl = await keylink_sdl(gateway)
    assert '@key(fields: "id")' in sdl and '@key(fields: "keys { system key }")' in sdl

    result = composer.compose({"keylink": sdl, "crm-notes": CRM_NOTES})

    assert result.errors == []
    assert result.supergraph_sdl is not None
    customer = fields_of(result.supergraph_sdl, "Customer")
    assert {"id", "keys", "account", "erp", "financialOverview", "notes"} <= customer
    assert 'join__type(graph: CRM_NOTES, key: "id")' in result.supergraph_sdl
    assert 'join__type(graph: KEYLINK, key: "keys { system key }")' in result.supergraph_sdl
    for entity in ("Supplier", "Project"):
        assert "id" in fields_of(result.supergraph_sdl, entity)


async def test_subgraphs_may_join_by_system_keys_instead_of_ids(
    gateway: httpx.AsyncClient, composer: Composer
) -> None:
    result = composer.compose(
        {"keylink": await keylink_sdl(gateway), "crm-notes": CRM_NOTES, "crm-tags": CRM_TAGS}
    )

    assert result.errors == []
    assert result.supergraph_sdl is not None
    assert {"notes", "tags", "financialOverview"} <= fields_of(result.supergraph_sdl, "Customer")
    assert {"tags", "budget"} <= fields_of(result.supergraph_sdl, "Project")


async def test_keylink_schema_prints_the_sdl_the_gateway_serves(
    gateway: httpx.AsyncClient,
) -> None:
    # so `keylink schema > keylink.graphql` is what a schema registry is given
    assert await keylink_sdl(gateway) == build_keylink_schema().as_str()
