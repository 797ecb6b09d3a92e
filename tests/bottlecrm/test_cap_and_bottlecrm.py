"""A customer whose ERP is SAP CAP (demo/sap, OData v4) and whose CRM is BottleCRM gets one
overview query answered from both, and the upstream calls that query costs do not grow
with the customer's orders (issue 25's "done when").

Both systems are real and run on loopback: CAP serves the contract's SAP rows plus two
customers made here with 2 and 6 orders (both within one of the service's pages of 7:
past that the service itself pages, one call per 7 orders, never one per order); BottleCRM
holds one account per customer, made through its REST API. Calls are counted on each
server: CAP's request log and gunicorn's access log. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from sources.registry import Reach, build_source, load_adapters
from sources.rest import RestConfig, RestSource
from tests.bottlecrm.server import SPEC, BottleCrm, gateway_system
from tests.conftest import repo_root
from tests.support import contract_odata
from tests.support.contract_odata import CapServer, contract_seed
from tests.support.servers import ServerThread

ORDERS = {"90002": 2, "90003": 6}
"""The customers made here and how many orders each has in the ERP."""
QUERY = """query($key: String!) {
  customer(system: "crm", key: $key) {
    account { key name contacts { key } opportunities { key stage amount { amount currency } }
              tasks { key status dueDate } }
    erp { key name }
    orders { key status total { amount currency } lines { key } }
    financialOverview { openBalance { amount currency } openOrdersValue { amount currency }
                        overdueCount }
  }
}"""


def _tables(today: date) -> dict[str, list[dict[str, Any]]]:
    """The contract's SAP rows, plus customers 90002 and 90003 with copies of the first
    orders (and their items) of the contract's customer."""
    tables, _ = contract_seed(today)
    partners, orders = tables["sap.sd-BusinessPartners"], tables["sap.sd-SalesOrders"]
    items = tables["sap.sd-SalesOrderItems"]
    model = partners[0]
    serial = 9_500_000
    for customer, count in ORDERS.items():
        partners.append({**model, "BusinessPartner": customer, "BusinessPartnerFullName": customer})
        for order in [o for o in orders if o["SoldToParty"] == model["BusinessPartner"]][:count]:
            serial += 1
            orders.append({**order, "SalesOrder": str(serial), "SoldToParty": customer})
            for n, item in enumerate(i for i in items if i["SalesOrder"] == order["SalesOrder"]):
                items.append(
                    {
                        **copy.copy(item),
                        "SalesOrder": str(serial),
                        "SalesOrderItem": f"{serial}-{(n + 1) * 10:06d}",
                    }
                )
    return tables


@dataclass
class Both:
    """The two systems and the account made in BottleCRM for each customer."""

    cap: CapServer
    crm: BottleCrm
    accounts: dict[str, str]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    """SAP CAP and BottleCRM on loopback, each customer with its account and a deal."""
    cap = CapServer(tmp_path_factory.mktemp("cap"), _tables(date.today()))
    crm = BottleCrm(tmp_path_factory.mktemp("bottlecrm"))
    try:
        cap.start()
        crm.start()
        accounts: dict[str, str] = {}
        for customer in ORDERS:
            key = crm.post("/api/accounts/", {"name": f"Customer {customer}"})["id"]
            accounts[customer] = key
            crm.post(
                "/api/contacts/",
                {"first_name": "Buyer", "last_name": customer, "account": key},
            )
            crm.post(
                "/api/opportunities/",
                {
                    "name": f"Renewal {customer}",
                    "account": key,
                    "stage": "PROPOSAL",
                    "amount": "990.00",
                    "currency": "EUR",
                },
            )
            crm.post(
                "/api/tasks/",
                {"title": "Call", "status": "New", "priority": "Low", "account": key},
            )
        yield Both(cap, crm, accounts)
    finally:
        cap.stop()
        crm.stop()


@pytest.fixture(scope="module")
async def gateway(both: Both, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A Keylink over both systems (no response or read cache), each customer linked."""
    url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('links')) / 'links.db'}"
    await upgrade_async(url)
    store = LinkStore.from_url(url)
    try:
        await store.bulk_import(
            [("customer", {"sap": [c], "crm": [a]}) for c, a in both.accounts.items()],
            actor="test",
        )
    finally:
        await store.close()
    os.environ["KEYLINK_BOTTLECRM_TOKEN"] = both.crm.token
    settings = load_settings(
        overrides={
            "linkmap": {"url": url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "systems": {
                "sap": contract_odata.gateway_system(both.cap.url),
                "crm": gateway_system(both.crm.url),
            },
        }
    )
    server = ServerThread(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)


def _cap_requests(cap: CapServer) -> list[str]:
    """The requests CAP logged (one line per request it served, $batch parts included)."""
    path = cap.workdir / "cds.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return re.findall(r"\[odata\] - (\w+ \S+)", text)


async def _overview(both: Both, gateway: str, customer: str) -> tuple[dict[str, Any], int, int]:
    """The overview of ``customer`` and the calls it cost CAP and BottleCRM."""
    cap_before, crm_before = len(_cap_requests(both.cap)), len(both.crm.requests_logged())
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as client:
        answer = await client.post(
            "/graphql",
            json={"query": QUERY, "variables": {"key": both.accounts[customer]}},
            headers={"X-Keylink-Roles": "sales,analyst,admin"},
        )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body["errors"]
    await asyncio.sleep(0)  # the servers log a request before they answer it
    return (
        body["data"]["customer"],
        len(_cap_requests(both.cap)) - cap_before,
        len(both.crm.requests_logged()) - crm_before,
    )


async def test_one_query_answers_from_both_systems(both: Both, gateway: str) -> None:
    customer, cap_calls, crm_calls = await _overview(both, gateway, "90003")
    account = customer["account"]
    assert account["name"] == "Customer 90003"
    assert len(account["contacts"]) == 1
    assert [o["stage"] for o in account["opportunities"]] == ["OPEN"]
    assert account["opportunities"][0]["amount"] == {"amount": "990.00", "currency": "EUR"}
    assert [t["status"] for t in account["tasks"]] == ["OPEN"]
    assert customer["erp"]["key"] == "90003"
    assert len(customer["orders"]) == ORDERS["90003"]
    assert all(order["lines"] for order in customer["orders"])
    assert customer["financialOverview"]["openOrdersValue"] is not None
    assert cap_calls > 0 and crm_calls > 0


async def test_upstream_calls_do_not_grow_with_the_orders(both: Both, gateway: str) -> None:
    few, cap_few, crm_few = await _overview(both, gateway, "90002")
    many, cap_many, crm_many = await _overview(both, gateway, "90003")
    assert len(few["orders"]) == ORDERS["90002"] < len(many["orders"]) == ORDERS["90003"]
    assert sum(len(o["lines"]) for o in few["orders"]) < sum(
        len(o["lines"]) for o in many["orders"]
    )
    assert cap_few == cap_many, (cap_few, cap_many)
    assert crm_few == crm_many, (crm_few, crm_many)


async def test_the_example_config_reads_bottlecrm(both: Both) -> None:
    """examples/bottlecrm.yaml, as written (its spec, its bearer token from the
    environment), reads the live BottleCRM once pointed at its address."""
    os.environ["BOTTLECRM_TOKEN"] = both.crm.token
    settings = load_settings(repo_root() / "examples" / "bottlecrm.yaml")
    crm = settings.systems["crm"]
    assert isinstance(crm, RestConfig)
    assert crm.spec.resolve() == SPEC.resolve()
    load_adapters()
    source = build_source("crm", crm.model_copy(update={"url": both.crm.url}), Reach())
    assert isinstance(source, RestSource)
    try:
        keys = list(both.accounts.values())
        found = await source.accounts(keys)
        assert {key: a.name for key, a in found.items()} == {
            key: f"Customer {customer}" for customer, key in both.accounts.items()
        }
    finally:
        await source.aclose()
