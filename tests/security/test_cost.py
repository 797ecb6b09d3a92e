"""S1: the query cost model (list fields multiply) and its limit, over real HTTP."""

from __future__ import annotations

import httpx
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.cost import operation_cost
from gateway.limits import LimitSettings
from resolvers.schema import build_schema
from tests.conftest import graphql

SCHEMA = build_schema([], suggestions=False)._schema

OVERVIEW_OF_MANY = """
query Many($keys: [String!]!) {
  customersByKey(system: "erp", keys: $keys) {
    id
    financialOverview { openBalance { amount currency } overdueCount }
  }
}
"""


def cost(query: str, variables: dict[str, object] | None = None, list_size: int = 10) -> int:
    document = parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return operation_cost(SCHEMA, operation, fragments, variables or {}, list_size)


def test_every_field_costs_one() -> None:
    assert cost('{ customer(system: "erp", key: "1") { id keys { system key } } }') == 1 + (
        1 + 1 + 10 * 2
    )


def test_list_fields_multiply_by_their_keys() -> None:
    one = cost(OVERVIEW_OF_MANY, {"keys": ["a"]})
    fifty = cost(OVERVIEW_OF_MANY, {"keys": ["a"] * 50})
    # customersByKey itself costs 1; its selection is paid once per key
    assert fifty - 1 == 50 * (one - 1)


def test_literal_lists_and_default_sizes_count() -> None:
    literal = cost('{ customersByKey(system: "erp", keys: ["a", "b", "c"]) { id } }')
    assert literal == 1 + 3 * 1
    assert cost(OVERVIEW_OF_MANY, {"keys": ["a"]}, list_size=10) < cost(
        OVERVIEW_OF_MANY, {"keys": ["a"]}, list_size=20
    )


def test_fragments_are_counted_where_they_are_spread() -> None:
    inline = cost('{ customer(system: "erp", key: "1") { id account { name segment } } }')
    spread = cost(
        'query { customer(system: "erp", key: "1") { ...F } } '
        "fragment F on Customer { id account { name segment } }"
    )
    assert inline == spread


def test_default_limit_admits_the_fifty_customer_overview() -> None:
    from tests.e2e.queries import CUSTOMERS_BY_KEY

    assert cost(CUSTOMERS_BY_KEY, {"keys": ["k"] * 50}) <= LimitSettings().max_cost


async def test_an_expensive_query_is_refused_before_any_upstream_call(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client]
) -> None:
    from tests.e2e.queries import CUSTOMERS_BY_KEY

    keys = [str(10001 + i) for i in range(500)]
    assert cost(CUSTOMERS_BY_KEY, {"keys": keys}) > LimitSettings().max_cost
    body = await graphql(gateway, CUSTOMERS_BY_KEY, {"system": "erp", "keys": keys})
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "Query cost" in error["message"]
    for client in upstream_stats.values():
        assert client.get("/_stats").json()["total"] == 0

    cheap = await graphql(gateway, CUSTOMERS_BY_KEY, {"system": "erp", "keys": keys[:3]})
    assert "errors" not in cheap
    assert len(cheap["data"]["customersByKey"]) == 3
