"""Lists whose cost follows the page, not the link map: a gateway over the demo upstreams
with a link map of its own, filled with thousands of customers.

A page in ID order runs the same link-map statements at 100 and at 10,000 customers, and
so does ``totalCount`` (one count); an unfiltered list over more customers than the old
100,000 bound answers; pages neither repeat nor skip a customer while customers are added.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from demo.runner import DemoUpstreams
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from resolvers.lists.selection import MAX_CANDIDATES
from tests.linkmap.fill import fill
from tests.lists.conftest import ask, codes
from tests.support.gateways import demo_gateway

PAGE = """
query($first: Int, $after: String, $order: CustomerOrder, $filter: CustomerFilter) {
  customers(first: $first, after: $after, orderBy: $order, filter: $filter) {
    recordsRead
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id keys { system key } } }
  }
}
"""
COUNT = """
query($filter: CustomerFilter) { customers(first: 1, filter: $filter) { totalCount } }
"""
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})


@contextmanager
def statements_on(database: Path) -> Iterator[list[str]]:
    """The SQL statements any engine of this process runs on the SQLite file
    ``database`` inside the block (the gateway runs in a thread of the test process)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        ours = conn.engine.url.database == str(database)
        if ours and statement.split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


class MapGateway:
    """A gateway on its own SQLite link map, and that map's URL and file."""

    def __init__(self, client: httpx.AsyncClient, url: str, database: Path) -> None:
        self.client = client
        self.url = url
        self.database = database

    async def fill(self, count: int) -> list[int]:
        """Add ``count`` customers (ERP and CRM keys no upstream knows)."""
        return await fill(self.url, "customer", count)


@pytest.fixture
async def map_gateway(live_upstreams: DemoUpstreams, tmp_path: Path) -> AsyncIterator[MapGateway]:
    database = tmp_path / "scale.db"
    url = f"sqlite+aiosqlite:///{database}"
    await upgrade_async(url)
    with demo_gateway(live_upstreams, url) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            yield MapGateway(client, url, database)


async def page(gateway: MapGateway, **variables: Any) -> dict[str, Any]:
    body = await ask(gateway.client, PAGE, variables)
    assert "errors" not in body, body["errors"]
    connection: dict[str, Any] = body["data"]["customers"]
    return connection


async def cost_of_a_page(gateway: MapGateway, after_id: int) -> tuple[int, int, int]:
    """Link-map statements of a page (after the cursor of ``after_id``) and of a count,
    and the page's ``recordsRead``."""
    start = await page(
        gateway, first=1, filter={"keys": {"system": "erp", "keys": [f"E{after_id:07d}"]}}
    )
    cursor = start["edges"][0]["cursor"]
    with statements_on(gateway.database) as listed:
        found = await page(gateway, first=10, after=cursor, filter={"linkedIn": ["crm"]})
    assert [int(e["node"]["id"]) for e in found["edges"]] == list(
        range(after_id + 1, after_id + 11)
    )
    assert found["pageInfo"]["hasNextPage"] and found["pageInfo"]["hasPreviousPage"]
    with statements_on(gateway.database) as counted:
        await ask(gateway.client, COUNT, {"filter": {"linkedIn": ["crm"]}})
    return len(listed), len(counted), found["recordsRead"]


async def test_a_page_and_its_count_run_as_many_statements_at_100_as_at_10000_customers(
    map_gateway: MapGateway,
) -> None:
    ids = await map_gateway.fill(100)
    small = await cost_of_a_page(map_gateway, ids[50])
    ids += await map_gateway.fill(9_900)
    large = await cost_of_a_page(map_gateway, ids[5_000])
    assert small == large
    listed, counted, read = small
    assert listed == 1 and read == 11  # one statement of first + 1 rows (is there more?)
    assert counted == 2  # the page of one row, and one count
    total = await ask(map_gateway.client, COUNT, {"filter": {"linkedIn": ["crm"]}})
    assert total["data"]["customers"]["totalCount"] == 10_000


async def test_totalcount_is_counted_only_when_selected(map_gateway: MapGateway) -> None:
    await map_gateway.fill(30)
    with statements_on(map_gateway.database) as without:
        await page(map_gateway, first=5)
    with statements_on(map_gateway.database) as counted:
        body = await ask(map_gateway.client, COUNT)
    assert body["data"]["customers"]["totalCount"] == 30
    assert not any("count(" in s.lower() for s in without)
    assert sum("count(" in s.lower() for s in counted) == 1


async def test_an_unfiltered_list_answers_over_more_customers_than_the_old_bound(
    map_gateway: MapGateway,
) -> None:
    size = MAX_CANDIDATES + 25
    ids = await map_gateway.fill(size)
    up = await page(map_gateway, first=3)
    assert [int(e["node"]["id"]) for e in up["edges"]] == ids[:3]
    down = await page(map_gateway, first=3, order={"field": "ID", "direction": "DESC"})
    assert [int(e["node"]["id"]) for e in down["edges"]] == ids[-1:-4:-1]
    after = await page(
        map_gateway,
        first=2,
        after=down["pageInfo"]["endCursor"],
        order={"field": "ID", "direction": "DESC"},
    )
    assert [int(e["node"]["id"]) for e in after["edges"]] == ids[-4:-6:-1]
    assert up["recordsRead"] == down["recordsRead"] == 4
    total = await ask(map_gateway.client, COUNT)
    assert total["data"]["customers"]["totalCount"] == size
    # an order computed in the gateway still needs every candidate: refused, saying why
    named = await ask(map_gateway.client, PAGE, {"first": 3, "order": {"field": "NAME"}})
    assert codes(named) == ["BAD_INPUT"]
    assert "order by ID" in named["errors"][0]["message"]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_pages_neither_repeat_nor_skip_while_customers_are_added(
    map_gateway: MapGateway, direction: str
) -> None:
    before = await map_gateway.fill(60)
    order = {"field": "ID", "direction": direction}
    seen: list[int] = []
    after = None
    async with LinkStore.from_url(map_gateway.url) as store:
        while True:
            found = await page(map_gateway, first=7, after=after, order=order)
            seen.extend(int(e["node"]["id"]) for e in found["edges"])
            if not found["pageInfo"]["hasNextPage"]:
                break
            after = found["pageInfo"]["endCursor"]
            if len(seen) < 40:
                await store.create_entity("customer", {"erp": [f"added-{len(seen)}"]}, actor="test")
        added = await store.count_entities("customer") - len(before)
    assert len(seen) == len(set(seen))
    if direction == "DESC":
        assert seen == sorted(before, reverse=True)
    else:
        assert seen[: len(before)] == before and seen == sorted(seen)
        assert len(seen) == len(before) + added


async def test_a_scope_selects_in_the_link_map_what_it_admits(map_gateway: MapGateway) -> None:
    ids = await map_gateway.fill(250)
    scope = "customer:erp:E000001*,customer:crm:C0000007"
    inside = [i for i in ids if f"E{i:07d}".startswith("E000001") or i == 7]
    headers = {"X-Keylink-Principal": "scoped", "X-Keylink-Roles": "analyst"}
    seen: list[int] = []
    after = None
    while True:
        response = await map_gateway.client.post(
            "/graphql",
            json={"query": PAGE, "variables": {"first": 40, "after": after}},
            headers={**headers, "X-Keylink-Scope": scope},
        )
        found = response.json()["data"]["customers"]
        seen.extend(int(e["node"]["id"]) for e in found["edges"])
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert seen == inside
    counted = await map_gateway.client.post(
        "/graphql", json={"query": COUNT}, headers={**headers, "X-Keylink-Scope": scope}
    )
    assert counted.json()["data"]["customers"]["totalCount"] == len(inside)
