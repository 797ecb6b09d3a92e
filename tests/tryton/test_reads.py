"""The demo ERP's GraphQL scenarios against a real Tryton: customer overview, orders with
lines, invoices, project hours and partial failure; expected figures come from Tryton's
own rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.queries import OVERVIEW_FIELDS
from tests.support.tryton import TrytonServer
from tests.tryton.expected import money_map, overview, project_hours, sale_status

PARTIES = ["C-ACME", "C-BOLT", "C-CRANE", "C-DUNE", "C-EDGE"]

OVERVIEWS = """
query Overviews($keys: [String!]!) {
  customersByKey(system: "tryton", keys: $keys) {
    keys { system key }
    account { name }
    erp { system key name currency }
    financialOverview { OVERVIEW }
  }
}
""".replace("OVERVIEW", OVERVIEW_FIELDS)


async def test_overview_of_every_party_matches_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer, crm_keys: dict[str, str]
) -> None:
    body = await graphql(keylink, OVERVIEWS, {"keys": PARTIES})
    assert "errors" not in body, body["errors"]
    today = date.today()
    names = {r["code"]: r["name"] for r in tryton.search_read("party.party", [], ["code", "name"])}
    for code, customer in zip(PARTIES, body["data"]["customersByKey"], strict=True):
        assert {"system": "crm", "key": crm_keys[code]} in customer["keys"]
        assert customer["erp"] == {
            "system": "tryton",
            "key": code,
            "name": names[code],
            "currency": "EUR",
        }
        assert customer["account"]["name"]
        got = customer["financialOverview"]
        want = overview(tryton, code, today)
        for field in (
            "openBalance",
            "overdueAmount",
            "revenueYearToDate",
            "revenueSamePeriodLastYear",
            "openOrdersValue",
        ):
            assert money_map(got[field]) == want[field], (code, field)
        assert got["overdueCount"] == want["overdueCount"], code
        assert Decimal(got["hoursThisMonth"]) == want["hoursThisMonth"], code
        assert Decimal(got["unbilledHours"]) == want["unbilledHours"], code


async def test_the_seed_gives_the_overview_real_figures(
    keylink: httpx.AsyncClient, crm_keys: dict[str, str]
) -> None:
    """Guard against a vacuous comparison: Acme has an overdue invoice, open orders and hours."""
    query = (
        'query($k: String!) { customer(system: "crm", key: $k) { financialOverview { OVERVIEW } } }'
    )
    body = await graphql(
        keylink, query.replace("OVERVIEW", OVERVIEW_FIELDS), {"k": crm_keys["C-ACME"]}
    )
    figures = body["data"]["customer"]["financialOverview"]
    assert figures["overdueCount"] >= 1
    assert money_map(figures["openOrdersValue"])["EUR"] > 0
    assert money_map(figures["revenueSamePeriodLastYear"])["EUR"] > 0
    assert Decimal(figures["unbilledHours"]) > 0


ORDERS = """
query Orders($key: String!) {
  customer(system: "tryton", key: $key) {
    orders {
      key status total { amount currency } totalUntaxed { amount currency }
      lines { key productKey quantity unitPrice { amount currency } amount { amount } version }
    }
    invoices { key status issueDate dueDate total { amount } amountDue { amount } orderKey }
  }
}
"""


def keyed(row: dict[str, Any]) -> str:
    """Keylink's key of a Tryton sale or invoice row: its number, else draft-<id>."""
    return str(row["number"]) if row.get("number") else f"draft-{row['id']}"


async def test_orders_with_lines_and_invoices_match_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    body = await graphql(keylink, ORDERS, {"key": "C-ACME"})
    assert "errors" not in body, body["errors"]
    customer = body["data"]["customer"]
    sales = tryton.search_read(
        "sale.sale",
        [["party.code", "=", "C-ACME"]],
        ["number", "state", "total_amount", "untaxed_amount", "invoices.state"],
    )
    assert len(sales) >= 5
    # orders are keyed by the number people use; a draft (no number yet) by draft-<id>
    assert {o["key"] for o in customer["orders"]} == {keyed(s) for s in sales}
    assert any(o["key"].startswith("draft-") for o in customer["orders"])
    for order in customer["orders"]:
        sale = next(s for s in sales if keyed(s) == order["key"])
        assert Decimal(order["total"]["amount"]) == sale["total_amount"]
        assert Decimal(order["totalUntaxed"]["amount"]) == sale["untaxed_amount"]
        assert order["status"] == sale_status(sale)
        lines = tryton.search_read(
            "sale.line",
            [["sale", "=", sale["id"]], ["type", "=", "line"]],
            ["product.code", "quantity", "unit_price", "amount", "_timestamp"],
        )
        assert lines, f"sale {sale['id']} has no lines"
        assert [line["key"] for line in order["lines"]] == [str(r["id"]) for r in lines]
        for line, row in zip(order["lines"], lines, strict=True):
            assert line["productKey"] == row["product."]["code"]
            assert Decimal(line["quantity"]) == Decimal(str(row["quantity"]))
            assert Decimal(line["unitPrice"]["amount"]) == row["unit_price"]
            assert Decimal(line["amount"]["amount"]) == row["amount"]
            assert line["version"] == str(row["_timestamp"])
    invoices = tryton.search_read(
        "account.invoice",
        [["party.code", "=", "C-ACME"], ["type", "=", "out"], ["state", "in", ["posted", "paid"]]],
        [
            "number",
            "state",
            "total_amount",
            "amount_to_pay",
            "invoice_date",
            "sales.number",
            "lines_to_pay.maturity_date",
        ],
    )
    assert len(invoices) >= 3
    got = {i["key"]: i for i in customer["invoices"] if i["status"] != "DRAFT"}
    assert set(got) == {row["number"] for row in invoices}
    for row in invoices:
        invoice = got[row["number"]]
        due = min(line["maturity_date"] for line in row["lines_to_pay."])
        assert row["total_amount"] > 0  # C-ACME has no credit notes: plain invoices only
        status = "PAID" if row["state"] == "paid" else "OPEN"
        if status == "OPEN" and due < date.today():
            status = "OVERDUE"
        assert invoice["status"] == status
        assert invoice["dueDate"] == due.isoformat()
        assert Decimal(invoice["total"]["amount"]) == row["total_amount"]
        assert Decimal(invoice["amountDue"]["amount"]) == row["amount_to_pay"]
        assert invoice["issueDate"] == row["invoice_date"].isoformat()
        # the order an invoice came from, by its number; none for a project's invoice
        sales_of = row["sales."]
        assert invoice["orderKey"] == (sales_of[0]["number"] if sales_of else None)


PROJECT = """
query Project($key: String!) {
  project(system: "tryton", key: $key) {
    erp { key name status }
    customer { erp { key } }
    hours { total byEmployee { employee hours } entries { employee date hours } }
  }
}
"""


@pytest.mark.parametrize("index", [0, 1, 2, 3])
async def test_project_hours_match_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer, index: int
) -> None:
    project = tryton.seed["projects"][index]
    body = await graphql(keylink, PROJECT, {"key": str(project["id"])})
    assert "errors" not in body, body["errors"]
    got = body["data"]["project"]
    assert got["erp"]["name"] == project["name"]
    assert got["customer"]["erp"]["key"] == project["party"]
    assert Decimal(got["hours"]["total"]) == project_hours(tryton, [project["id"]])
    assert len(got["hours"]["entries"]) == project["entries"]


async def test_partial_failure_keeps_tryton_fields_when_the_crm_fails(
    keylink: httpx.AsyncClient,
    tryton: TrytonServer,
    live_upstreams: DemoUpstreams,
    upstream_stats: Any,
) -> None:
    live_upstreams.knobs["crm"].update(fault="503")
    body = await graphql(keylink, OVERVIEWS, {"keys": ["C-BOLT"]})
    customer = body["data"]["customersByKey"][0]
    assert customer["account"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SOURCE_UNAVAILABLE"}
    assert {e["extensions"]["system"] for e in body["errors"]} == {"crm"}
    want = overview(tryton, "C-BOLT", date.today())
    assert money_map(customer["financialOverview"]["openBalance"]) == want["openBalance"]
    assert customer["erp"]["key"] == "C-BOLT"
