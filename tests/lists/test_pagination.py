"""Paging through the lists with cursors: every row exactly once, in a stable order that
matches an independent sort of the raw data; bad arguments are refused with BAD_INPUT."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import httpx
import pytest

from tests.lists.conftest import ask, codes
from tests.lists.expected import Raw, customer_name

PAGE = """
query Page($first: Int, $after: String, $order: CustomerOrder, $filter: CustomerFilter) {
  customers(first: $first, after: $after, orderBy: $order, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id keys { system key } } }
  }
}
"""


async def walk(
    gateway: httpx.AsyncClient, first: int, order: dict[str, str] | None = None, **more: Any
) -> tuple[list[dict[str, Any]], int, int]:
    """Every edge of the list, page by page; the total count and the number of pages."""
    edges: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        variables = {"first": first, "after": after, "order": order, **more}
        body = await ask(gateway, PAGE, variables)
        assert "errors" not in body, body["errors"]
        connection = body["data"]["customers"]
        pages += 1
        edges.extend(connection["edges"])
        info = connection["pageInfo"]
        if connection["edges"]:
            assert info["endCursor"] == connection["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            return edges, connection["totalCount"], pages
        after = info["endCursor"]


def crm_or_erp(edge: dict[str, Any]) -> dict[str, str]:
    return {k["system"]: k["key"] for k in edge["node"]["keys"]}


async def test_id_order_walks_every_linked_customer_once(
    gateway: httpx.AsyncClient, raw: Raw
) -> None:
    edges, total, pages = await walk(gateway, 25)
    ids = [int(e["node"]["id"]) for e in edges]
    assert len(ids) == total == len(raw.links["customer"])
    assert ids == sorted(set(ids)), "ascending link-map ids, no duplicates"
    assert pages == -(-total // 25)
    assert sorted(map(sorted, (crm_or_erp(e).items() for e in edges))) == sorted(
        map(sorted, (keys.items() for keys in raw.links["customer"]))
    )


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_name_order_is_the_raw_names_sorted_with_ties_by_id(
    gateway: httpx.AsyncClient, raw: Raw, direction: str
) -> None:
    edges, total, _ = await walk(gateway, 17, {"field": "NAME", "direction": direction})
    assert len(edges) == total == len(raw.links["customer"])
    ids = [e["node"]["id"] for e in edges]
    assert len(set(ids)) == len(ids)
    names = [customer_name(raw, crm_or_erp(e)) for e in edges]
    assert [n.casefold() for n in names] == sorted(
        (n.casefold() for n in names), reverse=direction == "DESC"
    )
    for a, b in itertools.pairwise(edges):
        if (
            customer_name(raw, crm_or_erp(a)).casefold()
            == customer_name(raw, crm_or_erp(b)).casefold()
        ):
            assert int(a["node"]["id"]) < int(b["node"]["id"])


async def test_team_order_puts_customers_without_an_account_last(
    gateway: httpx.AsyncClient, raw: Raw
) -> None:
    edges, total, _ = await walk(gateway, 100, {"field": "TEAM", "direction": "DESC"})
    teams = [
        raw.accounts[keys["crm"]]["team"] if "crm" in keys else None
        for keys in map(crm_or_erp, edges)
    ]
    present = [t for t in teams if t is not None]
    assert teams == present + [None] * (total - len(present))
    assert present == sorted(present, key=str.casefold, reverse=True)


async def test_pages_are_the_same_when_asked_again(gateway: httpx.AsyncClient) -> None:
    order = {"field": "SEGMENT"}
    first = await walk(gateway, 40, order)
    again = await walk(gateway, 40, order)
    assert [e["cursor"] for e in first[0]] == [e["cursor"] for e in again[0]]


async def test_a_filtered_list_pages_through_the_filtered_rows(
    gateway: httpx.AsyncClient, raw: Raw
) -> None:
    edges, total, pages = await walk(
        gateway, 3, {"field": "NAME"}, filter={"team": ["Oslo"], "linkedIn": ["erp"]}
    )
    expected = {
        keys["crm"]
        for keys in raw.links["customer"]
        if "crm" in keys and "erp" in keys and raw.accounts[keys["crm"]]["team"] == "Oslo"
    }
    assert [crm_or_erp(e)["crm"] for e in edges] != []
    assert {crm_or_erp(e)["crm"] for e in edges} == expected
    assert total == len(edges) == len(expected)
    assert pages == -(-total // 3)


def forged(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 0}, "first must be between 1 and 100"),
        ({"first": 101}, "first must be between 1 and 100"),
        ({"after": "not a cursor"}, "after: not a cursor of this list"),
        ({"after": forged({"v": 99, "o": "ID:ASC", "k": None, "i": 1})}, "unknown version"),
        ({"after": forged({"v": 1, "o": "ID:ASC", "k": [["x", 1]], "i": 1})}, "bad sort value"),
        ({"after": forged({"v": 1, "o": "ID:ASC", "k": [["d", "NaN"]], "i": 1})}, "bad sort"),
        ({"after": forged({"v": 1, "o": "NAME:ASC", "k": None, "i": 1})}, "ordering 'NAME:ASC'"),
        ({"filter": {"linkedIn": ["nosuch"]}}, "unknown system 'nosuch'"),
        ({"filter": {"segment": []}}, "segment: give 1 to 100 values"),
        ({"filter": {"keys": {"system": "erp", "keys": []}}}, "give 1 to 500 keys"),
        (
            {"filter": {"hours": {"from": "2026-02-01", "to": "2026-01-01", "min": "1"}}},
            "'from' must not be after 'to'",
        ),
        ({"filter": {"creditLimitMin": {"amount": "1", "currency": "nok"}}}, "creditLimitMin"),
    ],
)
async def test_bad_arguments_are_refused(
    gateway: httpx.AsyncClient, variables: dict[str, Any], message: str
) -> None:
    body = await ask(gateway, PAGE, {"first": 10, **variables})
    assert body["data"]["customers"] is None
    assert codes(body) == ["BAD_INPUT"]
    assert message in body["errors"][0]["message"], body["errors"][0]["message"]


async def test_a_cursor_of_another_ordering_is_refused(gateway: httpx.AsyncClient) -> None:
    body = await ask(gateway, PAGE, {"first": 2, "order": {"field": "NAME"}})
    cursor = body["data"]["customers"]["pageInfo"]["endCursor"]
    refused = await ask(gateway, PAGE, {"first": 2, "after": cursor})
    assert codes(refused) == ["BAD_INPUT"]
    assert "start again without after" in refused["errors"][0]["message"]
