"""S1: the query cost model (list fields multiply) and its limit, over real HTTP."""

from __future__ import annotations

import httpx
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.http.cost import operation_cost
from gateway.http.limits import LimitSettings, limit_extensions
from linkmap.store import LinkStore
from resolvers.federation import MAX_REPRESENTATIONS
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


EXPENSIVE_PER_PAGE = """
query Page($n: Int! = 100) {
  customers(first: $n) { edges { node {
    orders { key status lines { key quantity amount { amount currency } } }
  } } }
}
"""


def test_variable_defaults_are_costed() -> None:
    # an omitted variable is costed with its default, a given one with its value,
    # exactly as the literal would be
    literal = EXPENSIVE_PER_PAGE.replace("first: $n", "first: 100")
    assert cost(EXPENSIVE_PER_PAGE) == cost(literal) > LimitSettings().max_cost
    assert cost(EXPENSIVE_PER_PAGE, {"n": 5}) == cost(literal.replace("100", "5"))
    listed = (
        'query($k: [String!]! = ["a", "b", "c"]) { customersByKey(system: "erp", keys: $k) { id } }'
    )
    assert cost(listed) == 1 + 3 * 1
    assert cost(listed, {"k": ["a"] * 7}) == 1 + 7 * 1


def test_schema_argument_defaults_are_costed() -> None:
    # auditTrail's first defaults to 50 in the schema; omitted, it is 50, not the default
    # list size; a variable without a default that is not given leaves the argument omitted
    trail = '{ auditTrail(order: {system: "erp", key: "SO1"}) { id at } }'
    assert cost(trail) == 1 + 50 * 2
    unset = 'query($n: Int) { auditTrail(order: {system: "erp", key: "SO1"}, first: $n) { id } }'
    assert cost(unset) == 1 + 50 * 1


async def test_the_cost_limit_holds_for_variable_defaults(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client]
) -> None:
    headers = {"X-Keylink-Principal": "cost", "X-Keylink-Roles": "analyst"}
    response = await gateway.post("/graphql", json={"query": EXPENSIVE_PER_PAGE}, headers=headers)
    body = response.json()
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    assert "Query cost" in body["errors"][0]["message"]
    for client in upstream_stats.values():
        assert client.get("/_stats").json()["total"] == 0

    small = await gateway.post(
        "/graphql",
        json={"query": EXPENSIVE_PER_PAGE, "variables": {"n": 2}},
        headers=headers,
    )
    assert "errors" not in small.json(), small.json()
    assert len(small.json()["data"]["customers"]["edges"]) == 2


ROUTER_FETCH = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on Customer {
      id keys { system key } account { name segment owner }
      erp { name currency creditLimit { amount currency } }
      financialOverview {
        openBalance { amount currency } overdueAmount { amount currency } overdueCount
      }
      orders { key number status orderDate total { amount currency } lines { key quantity } }
      invoices { key status total { amount currency } }
    }
  }
}
"""
"""What a router asks of each customer another subgraph's answer references."""


def test_an_entity_fetch_is_charged_per_representation() -> None:
    from gateway.http.cost import estimate

    document = parse(ROUTER_FETCH)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    one = {"__typename": "Customer", "id": "1"}
    found = [estimate(SCHEMA, operation, {}, {"r": [one] * n}, 10) for n in (1, 200, 500)]
    per_entity = found[0].per_entity
    assert LimitSettings().max_cost / 200 < per_entity <= LimitSettings().max_entity_cost
    # the work grows with the representations; what the limit counts does not
    assert [f.total for f in found] == [1 + n * per_entity for n in (1, 200, 500)]
    assert {f.charged for f in found} == {1 + per_entity}
    assert {f.per_entity for f in found} == {per_entity}


async def test_an_entity_fetch_of_200_representations_passes_the_cost_limit(
    gateway: httpx.AsyncClient, demo_linkmap_url: str
) -> None:
    store = LinkStore.from_url(demo_linkmap_url)
    try:
        customers = await store.list_entities("customer", limit=1000)
    finally:
        await store.close()
    representations = [
        {"__typename": "Customer", "id": str(customers[i % len(customers)].id)} for i in range(200)
    ]
    response = await gateway.post(
        "/graphql",
        json={"query": ROUTER_FETCH, "variables": {"r": representations}},
        headers={"X-Keylink-Principal": "router", "X-Keylink-Roles": "sales"},
        timeout=60,
    )
    body = response.json()
    assert "LIMIT_EXCEEDED" not in str(body.get("errors")), body.get("errors")
    answered = body["data"]["_entities"]
    assert len(answered) == 200
    assert all(entity is not None and entity["id"] for entity in answered)


async def test_the_cost_of_one_representation_is_bounded() -> None:
    limits = LimitSettings(max_entity_cost=100)
    schema = build_schema(limit_extensions(limits, dev=False), suggestions=False)
    one = {"__typename": "Customer", "id": "1"}
    result = await schema.execute(ROUTER_FETCH, variable_values={"r": [one]})
    assert result.data is None
    [error] = result.errors or []
    assert error.extensions == {"code": "LIMIT_EXCEEDED"}
    assert "per _entities representation exceeds the limit of 100" in error.message
    # the number of representations is bounded as keys are (resolvers.federation:
    # MAX_REPRESENTATIONS, tests/federation/test_entities.py)
    assert MAX_REPRESENTATIONS == 500
