"""A customer list filtered on a CRM field and sorted by one is paged by the CRM itself
(its search filters and orders a page at a time): a page asks the CRM as often at 10,000
customers as at 1,000, and the pages hold the rows the CRM's order gives, each once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo import crm
from demo.records import CrmAccount, DemoDataset
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from linkmap.migrate import upgrade_async
from tests.linkmap.fill import fill
from tests.lists.conftest import ask
from tests.support.servers import ServerThread

TEAMS = ("Oslo", "Bergen", "Stockholm", "Copenhagen")
SEGMENTS = ("Industry", "Retail", "Public")
PAGE = """
query($after: String, $order: CustomerOrder, $filter: CustomerFilter) {
  customers(first: 25, after: $after, orderBy: $order, filter: $filter) {
    recordsRead
    pageInfo { hasNextPage endCursor }
    edges { node { keys { system key } account { name team } } }
  }
}
"""


def account(number: int) -> CrmAccount:
    """The generated account ``number``: names out of key order, four teams."""
    return CrmAccount(
        id=f"A-{number:06d}",
        name=f"Customer {(number * 7919) % 100_003:06d}",
        owner=f"Owner {number % 13}",
        team=TEAMS[number % len(TEAMS)],
        segment=SEGMENTS[number % len(SEGMENTS)],
        country="NO",
    )


def crm_dataset(base: DemoDataset, size: int) -> DemoDataset:
    """The demo dataset with ``size`` generated CRM accounts (and no contacts)."""
    accounts = {a.id: a for a in map(account, range(1, size + 1))}
    made = dataclasses.replace(base, accounts=accounts, contacts={}, activities={})
    made.build_indexes()
    return made


@contextmanager
def crm_gateway(
    live_upstreams: DemoUpstreams, database: Path, size: int
) -> Iterator[tuple[str, str]]:
    """A CRM of ``size`` accounts and a gateway (CRM only) whose link map holds a
    customer per account; their base URLs."""
    crm_server = ServerThread(crm.create_app(crm_dataset(live_upstreams.dataset, size)))
    crm_server.start()
    url = f"sqlite+aiosqlite:///{database}"
    settings = demo_settings({"crm": crm_server.url}, url, cache_url="none")
    gateway = ServerThread(create_app(settings))
    gateway.start()
    try:
        yield crm_server.url, gateway.url
    finally:
        gateway.stop()
        crm_server.stop()


async def two_pages(
    live_upstreams: DemoUpstreams, tmp_path: Path, size: int, variables: dict[str, Any]
) -> tuple[list[int], list[dict[str, Any]]]:
    """CRM requests made by each of the first two pages of the list at ``size``
    customers, and the rows of both pages."""
    database = tmp_path / f"crm-{size}.db"
    await upgrade_async(f"sqlite+aiosqlite:///{database}")
    await fill(
        f"sqlite+aiosqlite:///{database}",
        "customer",
        size,
        keys=lambda entity_id: (("crm", f"A-{entity_id:06d}"),),
    )
    calls: list[int] = []
    rows: list[dict[str, Any]] = []
    with (
        crm_gateway(live_upstreams, database, size) as (crm_url, gateway_url),
        httpx.Client(base_url=crm_url, timeout=10) as stats,
    ):
        async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
            after = None
            for _ in range(2):
                stats.post("/_stats/reset").raise_for_status()
                body = await ask(client, PAGE, {**variables, "after": after})
                assert "errors" not in body, body["errors"]
                connection = body["data"]["customers"]
                calls.append(stats.get("/_stats").json()["total"])
                rows.extend(connection["edges"])
                assert connection["pageInfo"]["hasNextPage"]
                after = connection["pageInfo"]["endCursor"]
    return calls, rows


@pytest.mark.parametrize(
    "order", [{"field": "NAME"}, {"field": "SEGMENT", "direction": "DESC"}], ids=str
)
async def test_a_crm_sorted_and_filtered_page_asks_the_crm_as_often_at_1k_and_10k(
    live_upstreams: DemoUpstreams, tmp_path: Path, order: dict[str, str]
) -> None:
    teams = ["Oslo", "Bergen"]
    variables: dict[str, Any] = {"order": order, "filter": {"team": teams}}
    small, small_rows = await two_pages(live_upstreams, tmp_path, 1_000, variables)
    large, large_rows = await two_pages(live_upstreams, tmp_path, 10_000, variables)
    assert small == large
    assert all(calls == 1 for calls in small)  # one search page each
    for rows, size in ((small_rows, 1_000), (large_rows, 10_000)):
        accounts = [account(n) for n in range(1, size + 1) if account(n).team in teams]
        field = order["field"].lower()
        descending = order.get("direction") == "DESC"
        accounts.sort(key=lambda a: (getattr(a, field), a.id), reverse=descending)
        expected = [a.id for a in accounts[:50]]
        assert [r["node"]["keys"][0]["key"] for r in rows] == expected
        assert all(r["node"]["account"]["team"] in teams for r in rows)


WALK = """
query($after: String, $order: CustomerOrder) {
  customers(first: 40, after: $after, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id keys { system key } } }
  }
}
"""


async def test_without_a_filter_customers_without_an_account_follow_in_id_order(
    live_upstreams: DemoUpstreams, tmp_path: Path
) -> None:
    database = tmp_path / "tail.db"
    url = f"sqlite+aiosqlite:///{database}"
    await upgrade_async(url)
    size = 300
    linked = await fill(url, "customer", size, keys=lambda i: (("crm", f"A-{i:06d}"),))
    unlinked = await fill(url, "customer", 30, keys=lambda i: (("erp", f"E-{i}"),))
    order = {"field": "TEAM", "direction": "DESC"}
    seen: list[dict[str, Any]] = []
    pages = 0
    with crm_gateway(live_upstreams, database, size) as (_, gateway_url):
        async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
            after = None
            while True:
                body = await ask(client, WALK, {"order": order, "after": after})
                assert "errors" not in body, body["errors"]
                connection = body["data"]["customers"]
                seen.extend(e["node"] for e in connection["edges"])
                pages += 1
                if not connection["pageInfo"]["hasNextPage"]:
                    break
                after = connection["pageInfo"]["endCursor"]
    assert connection["totalCount"] == len(seen) == size + 30
    assert pages == -(-(size + 30) // 40)
    by_crm = sorted((account(i) for i in linked), key=lambda a: (a.team, a.id), reverse=True)
    assert [n["keys"][0]["key"] for n in seen[:size]] == [a.id for a in by_crm]
    assert [int(n["id"]) for n in seen[size:]] == unlinked
