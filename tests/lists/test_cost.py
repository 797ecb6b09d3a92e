"""The query cost of a connection: its edges count as many as its `first` asks for."""

from __future__ import annotations

import httpx

from tests.lists.conftest import ask, codes
from tests.security.test_cost import cost

PAGE = """
query($first: Int) {
  customers(first: $first) { totalCount edges { cursor node { id invoices { key } } } }
}
"""


def test_edges_are_counted_first_times() -> None:
    ten, hundred = cost(PAGE, {"first": 10}), cost(PAGE, {"first": 100})
    # per edge: edges' cursor, node, id, invoices (default 10 invoices x key)
    per_edge = 1 + 1 + 1 + (1 + 10)
    assert ten == 1 + 1 + 1 + 10 * per_edge
    assert hundred == 1 + 1 + 1 + 100 * per_edge
    # without first, the default page of 10 is assumed
    assert cost(PAGE) == ten
    assert cost("{ customers(first: 5) { edges { node { id } } } }") == 1 + 1 + 5 * 2


async def test_a_page_too_expensive_is_refused_before_any_upstream_call(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client]
) -> None:
    query = """
    { customers(first: 100) { edges { node {
        orders { key lines { key quantity amount { amount currency } } }
    } } } }
    """
    body = await ask(gateway, query)
    assert codes(body) == ["LIMIT_EXCEEDED"]
    assert sum(c.get("/_stats").json()["total"] for c in upstream_stats.values()) == 0
