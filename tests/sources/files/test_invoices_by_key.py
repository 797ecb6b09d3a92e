"""Invoices by their number (``invoices_by_key``, ``sources.base.InvoicesByKey``) from an
ERP's file export: the same invoice as the customer's invoice list holds, an unknown number
absent, the export parsed once for both reads, and a spec without the read answering
``Unsupported`` (NOT_SUPPORTED)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from sources.errors import Unsupported
from sources.records import InvoiceQuery
from tests.sources.files.conftest import file_source, write_spec
from tests.support.servers import ServerThread


def with_invoices_by_key(exports: Path) -> Path:
    """The shipped ERP file spec, plus ``invoices_by_key`` on its invoice table."""
    spec: dict[str, Any] = yaml.safe_load((exports / "erp.yaml").read_text(encoding="utf-8"))
    invoices = spec["operations"]["invoices"]
    spec["operations"]["invoices_by_key"] = {
        "table": invoices["table"],
        "fields": invoices["fields"],
    }
    return write_spec(exports / "erp-by-number.yaml", spec)


async def test_invoices_by_their_numbers(exports: Path) -> None:
    erp = file_source(with_invoices_by_key(exports))
    listed = await erp.invoices(await _customers(erp), InvoiceQuery())
    by_number = {i.key: i for invoices in listed.values() for i in invoices}
    wanted = sorted(by_number)[:3]
    assert len(wanted) == 3
    parses = erp.parses
    found = await erp.invoices_by_key([*wanted, "NO-SUCH-INVOICE", wanted[0]])
    assert sorted(found) == wanted
    assert {k: by_number[k] for k in wanted} == dict(found)
    assert all(found[k].number == k for k in wanted)
    assert erp.parses == parses  # the invoice export, parsed once, serves both reads


async def test_a_spec_without_the_read_says_it_is_not_supported(exports: Path) -> None:
    erp = file_source(exports / "erp.yaml")
    assert not erp.read_operations()["invoices_by_key"].many
    with pytest.raises(Unsupported):
        await erp.invoices_by_key(["1"])


async def _customers(erp: Any) -> list[str]:
    table = erp.tables["customers"]
    snapshot = await table.snapshot()
    return sorted(snapshot.indexes["customers"].by_key)


INVOICE = """query($s: String!, $k: String!) {
  invoice(system: $s, key: $k) { system key number amountDue { amount currency } }
}"""
ORDER = """query($s: String!, $k: String!) {
  order(system: $s, key: $k) { system key number lines { key } }
}"""


async def test_graphql_reads_by_number_and_says_when_a_system_cannot(
    exports: Path, tmp_path: Path
) -> None:
    """Two file ERPs: ``erp`` with the shipped spec (no invoices by number), ``byno`` with
    ``invoices_by_key``. Orders are read by number from both (``sales_orders``)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    settings = load_settings(
        overrides={
            "linkmap": {"url": url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "systems": {
                "erp": {"kind": "erp", "adapter": "files", "spec": str(exports / "erp.yaml")},
                "byno": {
                    "kind": "erp",
                    "adapter": "files",
                    "spec": str(with_invoices_by_key(exports)),
                },
            },
        }
    )
    source = file_source(exports / "erp.yaml")
    orders = (await source.tables["orders"].snapshot()).indexes["sales_orders"].by_key
    invoices = (await source.tables["invoices"].snapshot()).indexes["invoices"].by_key
    order_key = sorted(orders)[0]
    invoice = next(i for found in invoices.values() for i in found)
    server = ServerThread(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            headers = {"X-Keylink-Roles": "sales"}

            async def ask(query: str, system: str, key: str) -> dict[str, Any]:
                variables = {"s": system, "k": key}
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                return body

            found = await ask(INVOICE, "byno", invoice.key)
            assert "errors" not in found, found
            assert found["data"]["invoice"]["number"] == invoice.number
            assert found["data"]["invoice"]["amountDue"]["amount"] == str(invoice.amount_due.amount)
            refused = await ask(INVOICE, "erp", invoice.key)
            assert refused["data"] == {"invoice": None}
            assert refused["errors"][0]["extensions"]["code"] == "NOT_SUPPORTED"
            notes = refused["extensions"]["sources"]["erp"]["notes"]
            assert "does not offer invoices_by_key" in notes
            for system in ("erp", "byno"):
                order = await ask(ORDER, system, order_key)
                assert "errors" not in order, order
                assert order["data"]["order"]["key"] == order_key
    finally:
        await asyncio.to_thread(server.stop)
