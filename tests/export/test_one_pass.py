"""``POST /export`` reads its list once: a list in ID order is one keyset scan of the
link map (one statement per page, one count for ``totalCount``), a list ordered in the
gateway reads its candidates from the upstreams once, not once per page, and the export
is charged by its work: the rows it returns, or the candidates it read when more."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from demo.runner import DemoUpstreams
from linkmap.migrate import upgrade_async
from tests.linkmap.fill import fill
from tests.lists.test_scale import statements_on
from tests.support.gateways import demo_gateway

ANALYST = {"X-Keylink-Principal": "exporter", "X-Keylink-Roles": "analyst"}
BY_ID = """
query All($after: String) {
  customers(first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } }
  }
}
"""
BY_NAME = """
query Named($after: String) {
  customers(first: 40, after: $after, orderBy: {field: NAME}) {
    pageInfo { hasNextPage endCursor } edges { node { keys { system key } } }
  }
}
"""
ONE_NAMED_PAGE = "{ customers(first: 40, orderBy: {field: NAME}) { edges { cursor } } }"
RICH_ONLY = """
query Rich($after: String) {
  customers(first: 100, after: $after,
            filter: {creditLimitMin: {amount: "1000000000", currency: "EUR"}}) {
    pageInfo { hasNextPage endCursor } edges { node { id } }
  }
}
"""
THREE_ROOT_FIELDS = '{ a: customer(system: "erp", key: "x") { id } b: customer(system: "erp", key: "y") { id } c: customer(system: "erp", key: "z") { id } }'  # noqa: E501


@pytest.fixture
async def map_database(tmp_path: Path) -> tuple[str, Path]:
    database = tmp_path / "export.db"
    url = f"sqlite+aiosqlite:///{database}"
    await upgrade_async(url)
    return url, database


async def test_an_export_in_id_order_is_one_keyset_scan(
    live_upstreams: DemoUpstreams, map_database: tuple[str, Path]
) -> None:
    url, database = map_database
    ids = await fill(url, "customer", 2_000)
    with demo_gateway(live_upstreams, url) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            with statements_on(database) as statements:
                response = await client.post(
                    "/export?format=csv", json={"query": BY_ID}, headers=ANALYST
                )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == ids
    pages = len(ids) // 100
    # one statement per page (its rows and their keys), and totalCount counted once
    assert len(statements) == pages + 1
    assert sum("count(" in s.lower() for s in statements) == 1


async def test_an_export_ordered_in_the_gateway_reads_its_candidates_once(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client]
) -> None:
    page = await gateway.post("/graphql", json={"query": ONE_NAMED_PAGE}, headers=ANALYST)
    assert "errors" not in page.json()
    one_page = upstream_stats["crm"].get("/_stats").json()["total"]
    assert one_page > 0
    upstream_stats["crm"].post("/_stats/reset")
    response = await gateway.post("/export?format=jsonl", json={"query": BY_NAME}, headers=ANALYST)
    assert response.status_code == 200, response.text
    assert len(response.text.splitlines()) > 5 * 40  # several pages
    # the names are read for the sort once for the whole export, as for a single page
    assert upstream_stats["crm"].get("/_stats").json()["total"] == one_page


@pytest.fixture
async def slow_refill_gateway(
    live_upstreams: DemoUpstreams, map_database: tuple[str, Path]
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway over 1,000 customers no ERP knows, whose principals may spend 12
    operations at once and get one back a minute."""
    url, _ = map_database
    await fill(url, "customer", 1_000)
    limits = {"enabled": True, "per_minute": 1, "burst": 12}
    with demo_gateway(live_upstreams, url, rate_limit=limits) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            yield client


async def test_an_export_is_charged_by_the_candidates_it_read(
    slow_refill_gateway: httpx.AsyncClient,
) -> None:
    client = slow_refill_gateway
    response = await client.post("/export?format=csv", json={"query": RICH_ONLY}, headers=ANALYST)
    assert response.status_code == 200, response.text
    assert len(response.text.splitlines()) <= 1  # no customer matched: no row
    # 1,000 candidates read for no row: 10 operations (one per 100), not 1 for 0 rows
    after = await client.post("/graphql", json={"query": THREE_ROOT_FIELDS}, headers=ANALYST)
    assert after.status_code == 429
