"""A sales rep names an order or an invoice by the number the ERP gives it (``SO-100123``,
``INV-200456``), or an order by the key another system holds for it (a CRM deal linked with
``keylink links add order``); the gateway answers it as the ERP has it now, through real
HTTP against the demo upstreams, within the caller's roles and row scope, and many such
lookups in one request cost one ERP request per kind of record."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.links import demo_links
from demo.records import DemoDataset
from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems, seed_demo_links
from tests.support.gateways import demo_gateway

KEYLINK = [sys.executable, "-m", "gateway.cli.main"]

ORDER = """query($s: String!, $k: String!) {
  order(system: $s, key: $k) {
    system key number status statusRaw orderDate
    total { amount currency } totalUntaxed { amount currency }
    lines { key orderKey productKey quantity discountPercent
            unitPrice { amount currency } amount { amount currency } version }
  }
}"""

INVOICE = """query($s: String!, $k: String!) {
  invoice(system: $s, key: $k) {
    system key number status statusRaw issueDate dueDate isCreditNote orderKey projectKey
    total { amount currency } totalUntaxed { amount currency } amountDue { amount currency }
  }
}"""


# -- the demo ERP's own answers, read directly (not through Keylink) --------------------------


class Erp:
    """The demo ERP's HTTP API, asked directly: what the gateway must agree with."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10)

    def order(self, number: str) -> dict[str, Any]:
        items: list[dict[str, Any]] = self.client.get("/orders", params={"ids": number}).json()[
            "items"
        ]
        assert len(items) == 1
        return items[0]

    def lines(self, number: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client.get(
            "/order-lines", params={"order": number, "per_page": "500"}
        ).json()["items"]
        return items

    def invoice(self, number: str) -> dict[str, Any]:
        items: list[dict[str, Any]] = self.client.get("/invoices", params={"ids": number}).json()[
            "items"
        ]
        assert len(items) == 1
        return items[0]


def money(value: dict[str, str]) -> tuple[Decimal, str]:
    return Decimal(value["amount"]), value["currency"]


def linked_customers(dataset: DemoDataset) -> list[str]:
    """ERP numbers of the customers the demo link map holds, in number order."""
    return [
        link.keys["erp"][0]
        for link in demo_links(dataset)
        if link.kind == "customer" and "erp" in link.keys
    ]


def orders_with_lines(dataset: DemoDataset, count: int) -> list[str]:
    """``count`` order numbers, each of another linked customer, each with lines."""
    found: list[str] = []
    for customer in linked_customers(dataset):
        for number in dataset.orders_by_customer.get(customer, []):
            if dataset.lines_by_order.get(number):
                found.append(number)
                break
        if len(found) == count:
            return found
    raise AssertionError("the demo data has too few orders with lines")


def invoices_of_linked_customers(dataset: DemoDataset, count: int) -> list[str]:
    """``count`` invoice numbers, each of another linked customer."""
    found = [
        dataset.invoices_by_customer[c][0]
        for c in linked_customers(dataset)
        if dataset.invoices_by_customer.get(c)
    ]
    assert len(found) >= count
    return found[:count]


# -- a gateway of our own: the demo links, plus order links made with the CLI ------------------

DEALS = ("DEAL-1", "DEAL-2", "DEAL-3")
"""CRM keys of orders, linked by ``keylink links add`` (the first) and ``links import``."""


class Rig:
    """The gateway under test, the ERP asked directly, and which CRM deal is which order."""

    def __init__(self, url: str, upstreams: DemoUpstreams, deals: dict[str, str]) -> None:
        self.url = url
        self.upstreams = upstreams
        self.erp = Erp(upstreams.urls["erp"])
        self.deals = deals

    def ask(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        roles: str = "sales",
        scope: str | None = None,
    ) -> dict[str, Any]:
        headers = {"X-Keylink-Principal": "rep", "X-Keylink-Roles": roles}
        if scope is not None:
            headers["X-Keylink-Scope"] = scope
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def keylink(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEYLINK, *args, "--config", str(config)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
async def linkmap(
    live_upstreams: DemoUpstreams, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A link map with the demo links and three CRM deals linked to ERP orders by the
    ``keylink`` command (one with ``links add``, two with ``links import``)."""
    folder = tmp_path_factory.mktemp("lookups")
    url = f"sqlite+aiosqlite:///{folder / 'keylink.db'}"
    await seed_demo_links(url, live_upstreams.dataset)
    config = folder / "keylink.yaml"
    config.write_text(
        yaml.safe_dump({"linkmap": {"url": url}, "systems": demo_systems(live_upstreams.urls)}),
        encoding="utf-8",
    )
    numbers = orders_with_lines(live_upstreams.dataset, 3)
    deals = dict(zip(DEALS, numbers, strict=True))
    added = keylink(config, "links", "add", "order", f"crm={DEALS[0]}", f"erp={numbers[0]}")
    assert added.returncode == 0, added.stderr
    link_file = folder / "orders.csv"
    link_file.write_text(
        "kind,erp,crm\n" + "".join(f"order,{deals[d]},{d}\n" for d in DEALS[1:]),
        encoding="utf-8",
    )
    imported = keylink(config, "links", "import", str(link_file), "--apply")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    yield url, deals


@pytest.fixture(scope="module")
def rig(live_upstreams: DemoUpstreams, linkmap: tuple[str, dict[str, str]]) -> Iterator[Rig]:
    """A gateway (read cache off: every read reaches the ERP) over that link map."""
    url, deals = linkmap
    with demo_gateway(live_upstreams, url) as gateway:
        yield Rig(gateway, live_upstreams, deals)


def calls(stats: dict[str, httpx.Client]) -> dict[str, dict[str, int]]:
    """Requests per upstream and path since the stats were reset."""
    return {name: client.get("/_stats").json()["requests"] for name, client in stats.items()}


# -- orders -------------------------------------------------------------------------------------


def assert_is_the_erps_order(rig: Rig, found: dict[str, Any], number: str) -> None:
    order = rig.erp.order(number)
    assert (found["system"], found["key"], found["number"]) == ("erp", number, number)
    assert found["statusRaw"] == order["status"]
    assert found["orderDate"] == order["order_date"]
    assert money(found["total"]) == (Decimal(order["total"]), order["currency"])
    assert money(found["totalUntaxed"]) == (Decimal(order["total_untaxed"]), order["currency"])
    lines = rig.erp.lines(number)
    assert lines and len(lines) == order["line_count"]
    assert [line["key"] for line in found["lines"]] == [str(line["id"]) for line in lines]
    for got, line in zip(found["lines"], lines, strict=True):
        assert got["orderKey"] == number and got["productKey"] == line["product"]
        assert Decimal(got["quantity"]) == Decimal(line["quantity"])
        assert money(got["amount"]) == (Decimal(line["amount"]), line["currency"])
        assert money(got["unitPrice"]) == (Decimal(line["unit_price"]), line["currency"])
    assert sum(Decimal(line["amount"]["amount"]) for line in found["lines"]) == Decimal(
        order["total_untaxed"]
    )


def test_an_order_by_its_erp_number_with_its_lines(rig: Rig) -> None:
    number = orders_with_lines(rig.upstreams.dataset, 5)[4]
    body = rig.ask(ORDER, {"s": "erp", "k": number})
    assert "errors" not in body, body
    assert_is_the_erps_order(rig, body["data"]["order"], number)
    assert body["extensions"]["sources"]["erp"]["state"] == "ok"


def test_an_order_by_a_crm_key_linked_with_the_cli(rig: Rig) -> None:
    for deal, number in rig.deals.items():  # links add, then links import
        body = rig.ask(ORDER, {"s": "crm", "k": deal})
        assert "errors" not in body, body
        assert_is_the_erps_order(rig, body["data"]["order"], number)


def test_an_order_the_erp_does_not_hold_is_null(rig: Rig) -> None:
    body = rig.ask(ORDER, {"s": "erp", "k": "SO-999999"})
    assert body["data"] == {"order": None} and "errors" not in body


def test_a_key_of_another_system_not_linked_to_an_order_is_null_without_an_erp_call(
    rig: Rig, upstream_stats: dict[str, httpx.Client]
) -> None:
    dataset = rig.upstreams.dataset
    customer_crm_key = next(
        link.keys["crm"][0]
        for link in demo_links(dataset)
        if link.kind == "customer" and "crm" in link.keys
    )
    some_order = next(iter(dataset.orders))
    for system, key in [("crm", customer_crm_key), ("crm", some_order), ("timesheet", "ACME")]:
        body = rig.ask(ORDER, {"s": system, "k": key})
        assert body["data"] == {"order": None} and "errors" not in body, (system, key)
    invoice = next(iter(dataset.invoices))
    body = rig.ask(INVOICE, {"s": "crm", "k": invoice})  # the link map links no invoices
    assert body["data"] == {"invoice": None} and "errors" not in body
    assert all(not paths for paths in calls(upstream_stats).values())


def test_an_unknown_system_is_refused_with_the_known_ones(rig: Rig) -> None:
    for query, field in [(ORDER, "order"), (INVOICE, "invoice")]:
        body = rig.ask(query, {"s": "sap", "k": "SO-1"})
        assert body["data"] == {field: None}
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_INPUT"
        assert error["message"] == "unknown system 'sap'; known systems: erp, crm, timesheet"


def test_a_viewer_sees_no_order_or_invoice(rig: Rig) -> None:
    number = orders_with_lines(rig.upstreams.dataset, 1)[0]
    for query, key, field in [(ORDER, number, "order"), (INVOICE, "INV-200001", "invoice")]:
        body = rig.ask(query, {"s": "erp", "k": key}, roles="viewer")
        assert body["data"] == {field: None}
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- invoices -----------------------------------------------------------------------------------


def test_an_invoice_and_a_credit_note_by_their_numbers(rig: Rig) -> None:
    dataset = rig.upstreams.dataset
    overdue = next(i for i in dataset.invoices.values() if i.is_overdue(dataset.today))
    credit = next(i for i in dataset.invoices.values() if i.kind == "credit_note")
    for wanted, status in [(overdue, "OVERDUE"), (credit, None)]:
        body = rig.ask(INVOICE, {"s": "erp", "k": wanted.number})
        assert "errors" not in body, body
        found = body["data"]["invoice"]
        erp = rig.erp.invoice(wanted.number)
        assert (found["system"], found["key"], found["number"]) == (
            "erp",
            erp["number"],
            erp["number"],
        )
        assert found["issueDate"] == erp["issue_date"] and found["dueDate"] == erp["due_date"]
        assert found["orderKey"] == erp["order"] and found["projectKey"] == erp["project"]
        assert money(found["total"]) == (Decimal(erp["total"]), erp["currency"])
        assert money(found["totalUntaxed"]) == (Decimal(erp["total_untaxed"]), erp["currency"])
        assert money(found["amountDue"]) == (Decimal(erp["amount_due"]), erp["currency"])
        assert found["isCreditNote"] is (erp["kind"] == "credit_note")
        assert found["status"] == (status or erp["status"].upper())


def test_an_invoice_the_erp_does_not_hold_is_null(rig: Rig) -> None:
    body = rig.ask(INVOICE, {"s": "erp", "k": "INV-999999"})
    assert body["data"] == {"invoice": None} and "errors" not in body


# -- row scope ---------------------------------------------------------------------------------


def test_a_scoped_principal_reads_only_orders_and_invoices_of_its_customers(
    rig: Rig, upstream_stats: dict[str, httpx.Client]
) -> None:
    dataset = rig.upstreams.dataset
    mine, other = orders_with_lines(dataset, 2)
    my_invoice, other_invoice = (
        next(i for i in dataset.invoices.values() if i.customer == dataset.orders[o].customer)
        for o in (mine, other)
    )
    customer = dataset.orders[mine].customer
    scope = f"customer:erp:{customer}"
    assert rig.ask(ORDER, {"s": "erp", "k": mine}, scope=scope)["data"]["order"]["key"] == mine
    assert rig.ask(ORDER, {"s": "erp", "k": other}, scope=scope)["data"] == {"order": None}
    found = rig.ask(INVOICE, {"s": "erp", "k": my_invoice.number}, scope=scope)["data"]
    assert found["invoice"]["key"] == my_invoice.number
    hidden = rig.ask(INVOICE, {"s": "erp", "k": other_invoice.number}, scope=scope)
    assert hidden["data"] == {"invoice": None} and "errors" not in hidden
    # through a CRM deal linked to another customer's order: as if not linked
    deal = next(d for d, n in rig.deals.items() if dataset.orders[n].customer != customer)
    assert rig.ask(ORDER, {"s": "crm", "k": deal}, scope=scope)["data"] == {"order": None}
    # a scope that admits the deal's order entity admits the order, whoever its customer
    by_order = rig.ask(ORDER, {"s": "crm", "k": deal}, scope=f"order:crm:{deal}")["data"]
    assert by_order["order"]["key"] == rig.deals[deal]


def test_a_scope_that_can_admit_no_order_costs_no_erp_call(
    rig: Rig, upstream_stats: dict[str, httpx.Client]
) -> None:
    dataset = rig.upstreams.dataset
    number = orders_with_lines(dataset, 1)[0]
    supplier = next(iter(dataset.suppliers))
    scope = f"supplier:erp:{supplier}"
    assert rig.ask(ORDER, {"s": "erp", "k": number}, scope=scope)["data"] == {"order": None}
    invoice = next(iter(dataset.invoices))
    assert rig.ask(INVOICE, {"s": "erp", "k": invoice}, scope=scope)["data"] == {"invoice": None}
    assert all(not paths for paths in calls(upstream_stats).values())


# -- batching -------------------------------------------------------------------------------------


def aliased(field: str, selection: str, system: str, keys: list[str], prefix: str) -> str:
    return "\n".join(
        f'{prefix}{i}: {field}(system: "{system}", key: "{key}") {selection}'
        for i, key in enumerate(keys)
    )


def test_many_lookups_in_one_request_cost_one_erp_request_per_kind_of_record(
    rig: Rig, upstream_stats: dict[str, httpx.Client]
) -> None:
    dataset = rig.upstreams.dataset
    orders = orders_with_lines(dataset, 10)
    invoices = invoices_of_linked_customers(dataset, 10)
    lines = "{ key number total { amount } lines { key amount { amount } } }"
    query = (
        "{\n"
        + aliased("order", lines, "erp", orders, "o")
        + "\n"
        + aliased("invoice", "{ key amountDue { amount } }", "erp", invoices, "i")
        + "\n}"
    )
    body = rig.ask(query)
    assert "errors" not in body, body
    data = body["data"]
    assert [data[f"o{i}"]["key"] for i in range(10)] == orders
    assert [data[f"i{i}"]["key"] for i in range(10)] == invoices
    assert all(data[f"o{i}"]["lines"] for i in range(10))
    assert calls(upstream_stats) == {
        "erp": {"/orders": 1, "/order-lines": 1, "/invoices": 1},
        "crm": {},
        "timesheet": {},
    }


def test_many_orders_by_linked_crm_keys_cost_one_erp_request(
    rig: Rig, upstream_stats: dict[str, httpx.Client]
) -> None:
    deals = list(rig.deals)
    body = rig.ask("{\n" + aliased("order", "{ key lines { key } }", "crm", deals, "d") + "\n}")
    assert "errors" not in body, body
    assert [body["data"][f"d{i}"]["key"] for i in range(len(deals))] == list(rig.deals.values())
    assert calls(upstream_stats)["erp"] == {"/orders": 1, "/order-lines": 1}
