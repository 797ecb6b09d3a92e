"""The legacy ERP read through Keylink's GraphQL over real HTTP, on every database: a
customer linked to its key in the SQL system shows its orders (an unmapped state as
UNKNOWN with the ERP's own code), its invoices with exact money, and its overview."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.legacy_erp import SPEC
from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from tests.sources.sql.conftest import LegacyDb
from tests.support.servers import ServerThread

ROLES = {"X-Keylink-Roles": "sales,analyst,admin"}


@pytest.fixture
async def keylink(legacy_db: LegacyDb, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A Keylink on loopback over the legacy ERP alone, C-1001 and C-1002 linked."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    store = LinkStore.from_url(url)
    try:
        await store.bulk_import(
            [("customer", {"legacy": ["C-1001"]}), ("customer", {"legacy": ["C-1002"]})],
            actor="test",
        )
    finally:
        await store.close()
    settings = load_settings(
        overrides={
            "linkmap": {"url": url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "systems": {
                "legacy": {
                    "kind": "erp",
                    "adapter": "sql",
                    "url": legacy_db.url.render_as_string(hide_password=False),
                    "spec": str(SPEC),
                }
            },
        }
    )
    server = ServerThread(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=ROLES) as client:
            yield client
    finally:
        await asyncio.to_thread(server.stop)


def _money(value: dict[str, str]) -> tuple[Decimal, str]:
    """An amount as an exact Decimal with its currency (SQLite keeps no trailing zeros:
    its DECIMAL columns hold REALs, read back through their shortest exact repr)."""
    return Decimal(value["amount"]), value["currency"]


async def _ask(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def test_orders_and_invoices_through_graphql(keylink: httpx.AsyncClient) -> None:
    data = await _ask(
        keylink,
        """query { customer(system: "legacy", key: "C-1001") {
            orders { key status statusRaw total { amount currency } }
            invoices { key status amountDue { amount currency } isCreditNote }
        } }""",
    )
    orders = {o["key"]: o for o in data["customer"]["orders"]}
    assert orders["SO-2006"]["status"] == "UNKNOWN"
    assert orders["SO-2006"]["statusRaw"] == "55"
    assert orders["SO-2003"]["status"] == "CONFIRMED"
    assert _money(orders["SO-2001"]["total"]) == (Decimal("1250.00"), "NOK")
    invoices = {i["key"]: i for i in data["customer"]["invoices"]}
    assert invoices["I-9004"]["isCreditNote"] is True
    assert _money(invoices["I-9002"]["amountDue"]) == (Decimal("15000.00"), "NOK")
    assert invoices["I-9005"]["status"] == "DRAFT"


async def test_a_euro_customer_through_graphql(keylink: httpx.AsyncClient) -> None:
    data = await _ask(
        keylink,
        """query { customer(system: "legacy", key: "C-1002") {
            invoices { key total { amount currency } }
        } }""",
    )
    invoices = data["customer"]["invoices"]
    assert [i["key"] for i in invoices] == ["I-9101"]
    assert _money(invoices[0]["total"]) == (Decimal("1190.00"), "EUR")
