"""Keylink persists only the link map and its history: no source data, ever."""

from __future__ import annotations

import re
import sqlite3

import httpx
from sqlalchemy.engine import make_url

from demo.links import demo_links
from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.queries import CUSTOMERS_BY_KEY

LINK_MAP_TABLES = {
    "alembic_version",
    "entities",
    "entity_keys",
    "link_history",
    "idempotency_records",  # outcomes of forwarded writes, kept 24 h
    "audit_events",  # who edited which order line, append-only
    "api_keys",  # hashed credentials of machine clients
    "link_changes",  # who changed which links, when and why (undo)
    "match_rejections",  # pairs of keys an admin said are not the same (never proposed again)
}


def dump(path: str) -> tuple[set[str], str, dict[str, int]]:
    with sqlite3.connect(path) as db:
        tables = {
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        text = "\n".join(
            repr(row) for table in sorted(tables) for row in db.execute(f'SELECT * FROM "{table}"')
        )
        counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    return tables, text, counts


async def test_reads_store_no_source_data(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    path = make_url(demo_linkmap_url).database
    assert path is not None
    tables, _, before = dump(path)
    assert tables == LINK_MAP_TABLES

    crm_keys = [
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and "crm" in link.keys
    ][:20]
    body = await graphql(gateway, CUSTOMERS_BY_KEY, {"system": "crm", "keys": crm_keys})
    assert "errors" not in body

    tables, text, after = dump(path)
    assert tables == LINK_MAP_TABLES
    assert after == before
    data = live_upstreams.dataset
    for row in body["data"]["customersByKey"]:
        assert row["account"]["name"] not in text
    for invoice in list(data.invoices)[:200]:
        assert invoice not in text
    assert not re.search(r"\bINV-\d", text)
