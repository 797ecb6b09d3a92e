"""The file sources read through Keylink's GraphQL over real HTTP on loopback: a customer
linked in the ERP's Excel export and the timesheet's CSV exports. The answer follows the
files as they change between two queries, and a malformed row shows up in
``extensions.sources.<system>.notes`` with its file, line and column while the other rows
are served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from tests.sources.files.conftest import write_csv
from tests.support.servers import ServerThread

ROLES = {"X-Keylink-Roles": "sales,analyst,admin"}
HEADER = "entry_id;date;client_id;project_id;employee;hours;billable;invoiced;description"
HOURS = """query { customer(system: "ts", key: "TS-C-1") {
    hours(from: "2026-12-01", to: "2026-12-31") { total entries { key hours } }
} }"""


@pytest.fixture(params=["none", "memory://"])
async def keylink(
    exports: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """A Keylink on loopback over the copied exports: the ERP workbook as system ``erp``,
    the timesheet CSVs as ``ts``; K-100 and TS-C-1 are one customer. Without a read cache
    and with the default one (which a file system does not use unless its ttl says so)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    store = LinkStore.from_url(url)
    try:
        await store.bulk_import([("customer", {"erp": ["K-100"], "ts": ["TS-C-1"]})], actor="test")
    finally:
        await store.close()
    settings = load_settings(
        overrides={
            "linkmap": {"url": url, "migrate_on_start": False},
            "cache": {"url": request.param},
            "rate_limit": {"enabled": False},
            "systems": {
                "erp": {"kind": "erp", "adapter": "files", "spec": str(exports / "erp.yaml")},
                "ts": {
                    "kind": "timesheet",
                    "adapter": "files",
                    "spec": str(exports / "timesheet.yaml"),
                },
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


async def _ask(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body["errors"]
    return body


def _entries(body: dict[str, Any]) -> dict[str, Decimal]:
    hours = body["data"]["customer"]["hours"]
    return {e["key"]: Decimal(str(e["hours"])) for e in hours["entries"]}


async def test_a_changed_csv_export_shows_in_the_next_answer(
    keylink: httpx.AsyncClient, exports: Path
) -> None:
    before = _entries(await _ask(keylink, HOURS))
    assert before == {"E-1001": Decimal("7.5"), "E-1002": Decimal(6), "E-1004": Decimal("1.5")}
    today = exports / "timesheet" / "entries" / "entries-2026-12-05.csv"
    text = today.read_text(encoding="utf-8-sig")
    text = text.replace(
        "E-1001;01.12.2026;TS-C-1;TS-P-10;Kari Nordmann;7,5;",
        "E-1001;01.12.2026;TS-C-1;TS-P-10;Kari Nordmann;8,25;",
    )
    text += "E-1007;05.12.2026;TS-C-1;TS-P-10;Ola Hansen;2;ja;nei;Test\r\n"
    today.write_text(text, encoding="utf-8-sig")
    after = _entries(await _ask(keylink, HOURS))
    assert after == {
        "E-1001": Decimal("8.25"),
        "E-1002": Decimal(6),
        "E-1004": Decimal("1.5"),
        "E-1007": Decimal(2),
    }


async def test_a_new_daily_export_replaces_the_old_one(
    keylink: httpx.AsyncClient, exports: Path
) -> None:
    assert set(_entries(await _ask(keylink, HOURS))) == {"E-1001", "E-1002", "E-1004"}
    write_csv(
        exports / "timesheet" / "entries" / "entries-2026-12-06.csv",
        [
            HEADER.split(";"),
            ["E-2001", "06.12.2026", "TS-C-1", "TS-P-10", "Kari", "3", "ja", "nei", "x"],
        ],
        bom=True,
    )
    assert _entries(await _ask(keylink, HOURS)) == {"E-2001": Decimal(3)}


async def test_a_malformed_row_is_noted_with_line_and_column(
    keylink: httpx.AsyncClient, exports: Path
) -> None:
    write_csv(
        exports / "timesheet" / "entries" / "entries-2026-12-06.csv",
        [
            HEADER.split(";"),
            ["E-1", "01.12.2026", "TS-C-1", "TS-P-10", "Kari", "2", "ja", "nei", "ok"],
            ["E-2", "02.12.2026", "TS-C-1", "TS-P-10", "Kari", "2.5", "ja", "nei", "dot"],
            ["E-3", "2026-12-03", "TS-C-1", "TS-P-10", "Kari", "1", "ja", "nei", "iso date"],
            ["E-4", "04.12.2026", "TS-C-1", "TS-P-10", "Kari", "4", "ja", "nei", "ok"],
        ],
        bom=True,
    )
    body = await _ask(keylink, HOURS)
    assert _entries(body) == {"E-1": Decimal(2), "E-4": Decimal(4)}
    assert body["data"]["customer"]["hours"]["total"] in (6, "6", 6.0)
    report = body["extensions"]["sources"]["ts"]
    assert report["state"] == "ok"
    notes = report["notes"]
    assert any(
        n.startswith("entries-2026-12-06.csv, line 3, column 6 (hours): not a number")
        for n in notes
    ), notes
    assert any("line 4, column 2 (date): not a date" in n for n in notes), notes


async def test_the_erp_workbook_through_graphql(keylink: httpx.AsyncClient) -> None:
    body = await _ask(
        keylink,
        """query { customer(system: "erp", key: "K-100") {
            orders { key status statusRaw }
            invoices { key status statusRaw isCreditNote amountDue { amount currency } }
        } }""",
    )
    customer = body["data"]["customer"]
    orders = {o["key"]: o for o in customer["orders"]}
    assert (orders["AU-7006"]["status"], orders["AU-7006"]["statusRaw"]) == ("UNKNOWN", "Q7")
    invoices = {i["key"]: i for i in customer["invoices"]}
    assert invoices["GS-5005"]["isCreditNote"] is True
    assert Decimal(invoices["RE-5002"]["amountDue"]["amount"]) == Decimal(1000)
    assert invoices["RE-5007"]["statusRaw"] == "X9"
    notes = body["extensions"]["sources"]["erp"].get("notes", [])
    assert not [n for n in notes if "left out" in n], notes  # no malformed row


async def test_a_missing_export_is_source_unavailable(
    keylink: httpx.AsyncClient, exports: Path
) -> None:
    (exports / "erp.xlsx").unlink()
    response = await keylink.post(
        "/graphql",
        json={"query": 'query { customer(system: "erp", key: "K-100") { invoices { key } } }'},
    )
    body = response.json()
    codes = {e["extensions"]["code"] for e in body.get("errors", [])}
    assert codes == {"SOURCE_UNAVAILABLE"}, body
    assert body["data"]["customer"]["invoices"] is None
    assert str(exports) not in response.text
