"""The gateway with its link map in PostgreSQL answers exactly as with SQLite."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import URL

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings, seed_demo_links
from tests.conftest import graphql
from tests.e2e.queries import CUSTOMERS_BY_KEY
from tests.support.postgres import create_pg_database, drop_pg_database
from tests.support.servers import ServerThread

pytestmark = pytest.mark.postgres


async def test_same_answers_with_a_postgres_link_map(
    postgres_server: URL, live_upstreams: DemoUpstreams, gateway: httpx.AsyncClient
) -> None:
    database = await create_pg_database(postgres_server)
    url = database.render_as_string(hide_password=False)
    try:
        await seed_demo_links(url, live_upstreams.dataset)
        settings = demo_settings(live_upstreams.urls, url, rate_limit={"enabled": False})
        server = ServerThread(create_app(settings))
        server.start(ready_path="/readyz")
        try:
            keys = [
                link.keys["crm"][0]
                for link in demo_links(live_upstreams.dataset)
                if link.kind == "customer" and "crm" in link.keys
            ][:25]
            variables = {"system": "crm", "keys": keys}
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as on_postgres:
                from_postgres = await graphql(on_postgres, CUSTOMERS_BY_KEY, variables)
            from_sqlite = await graphql(gateway, CUSTOMERS_BY_KEY, variables)
        finally:
            server.stop()
    finally:
        await drop_pg_database(postgres_server, database)
    assert "errors" not in from_postgres
    assert from_postgres["data"] == from_sqlite["data"]
    assert all(row is not None for row in from_postgres["data"]["customersByKey"])
