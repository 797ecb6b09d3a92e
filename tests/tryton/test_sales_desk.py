"""The whole sales desk on a real Tryton (issue 21): purchases with their lines, a
discounted line edited through Keylink and priced by Tryton, a delivery date, an amendment
of a processing sale, a customer over its credit limit, a project with invoiced and
uninvoiced timesheet lines, and records addressed by the numbers people use.

The data is made by Tryton's own workflow (demo/tryton/seed.py through proteus); every
answer is checked against Tryton's rows read through the tests' own JSON-RPC client.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from sources.tryton import TrytonSource
from tests.conftest import graphql
from tests.support.tryton import TrytonServer
from tests.tryton.expected import project_hours
from tests.writes.queries import UPDATE

SUPPLIER = """
query($key: String!) {
  supplier(system: "tryton", key: $key) {
    purchaseOrders {
      key number status statusRaw orderDate expectedDate total { amount currency }
      lines { key orderKey productKey quantity unit { symbol digits }
              unitPrice { amount currency } amount { amount } deliveryDate }
    }
    openPurchaseOrders { key }
  }
}
"""


async def ask(keylink: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    """The data of ``query``; no errors allowed."""
    body = await graphql(keylink, query, variables)
    assert "errors" not in body, body["errors"]
    return body


async def edit(keylink: httpx.AsyncClient, payload: dict[str, Any]) -> dict[str, Any]:
    """One line change through Keylink, with a fresh idempotency key; its result."""
    body = await ask(keylink, UPDATE, {"input": payload, "key": str(uuid.uuid4())})
    result: dict[str, Any] = body["data"]["updateOrderLine"]
    return result


def line_row(tryton: TrytonServer, line_id: int, *extra: str) -> dict[str, Any]:
    """A sale line as Tryton has it."""
    fields = ["sale", "quantity", "unit_price", "base_price", "discount_rate", "amount"]
    (row,) = tryton.search_read("sale.line", [["id", "=", line_id]], [*fields, *extra])
    return row


async def test_a_purchase_is_shown_by_its_number_with_its_lines(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    made = next(p for p in tryton.seed["purchases"] if p["party"] == "S-STEEL")
    (row,) = tryton.search_read(
        "purchase.purchase",
        [["id", "=", made["id"]]],
        ["number", "state", "purchase_date", "delivery_date", "total_amount", "currency.code"],
    )
    lines = tryton.search_read(
        "purchase.line",
        [["purchase", "=", made["id"]], ["type", "=", "line"]],
        ["product.code", "quantity", "unit.symbol", "unit_price", "amount"],
    )
    supplier = (await ask(keylink, SUPPLIER, {"key": "S-STEEL"}))["data"]["supplier"]
    (order,) = supplier["purchaseOrders"]
    # confirmed and awaiting its goods: open (not yet received), keyed by its number
    assert (order["key"], order["number"]) == (row["number"], row["number"])
    assert (order["status"], order["statusRaw"]) == ("OPEN", "processing")
    assert supplier["openPurchaseOrders"] == [{"key": row["number"]}]
    assert order["orderDate"] == row["purchase_date"].isoformat()
    assert order["expectedDate"] == row["delivery_date"].isoformat()
    assert order["total"] == {"amount": str(row["total_amount"]), "currency": "EUR"}
    assert [line["key"] for line in order["lines"]] == [str(r["id"]) for r in lines]
    for line, want in zip(order["lines"], lines, strict=True):
        assert line["orderKey"] == row["number"]
        assert line["productKey"] == want["product."]["code"]
        assert Decimal(line["quantity"]) == Decimal(str(want["quantity"]))
        assert line["unit"] == {"symbol": want["unit."]["symbol"], "digits": 0}
        assert Decimal(line["unitPrice"]["amount"]) == want["unit_price"]
        assert Decimal(line["amount"]["amount"]) == want["amount"]


async def test_a_draft_purchase_has_no_number_and_is_keyed_by_its_id(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    made = next(p for p in tryton.seed["purchases"] if p["party"] == "S-CHIP")
    assert made["state"] == "draft" and made["number"] is None
    supplier = (await ask(keylink, SUPPLIER, {"key": "S-CHIP"}))["data"]["supplier"]
    (order,) = supplier["purchaseOrders"]
    assert (order["key"], order["number"], order["status"]) == (f"draft-{made['id']}", None, "OPEN")
    assert [line["orderKey"] for line in order["lines"]] == [f"draft-{made['id']}"]


async def test_a_discounted_line_edited_through_keylink_is_priced_by_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    made = next(s for s in tryton.seed["sales"] if "discounted_line" in s)
    line_id = made["discounted_line"]
    before = line_row(tryton, line_id, "_timestamp")
    assert before["discount_rate"] == Decimal("0.1000")  # made with 10 % off in Tryton
    order = {"system": "tryton", "key": tryton.key_of("sale.sale", made["id"])}
    assert order["key"] == f"draft-{made['id']}"  # a draft has no number yet
    result = await edit(
        keylink,
        {
            "order": order,
            "line": str(line_id),
            "expectedVersion": str(before["_timestamp"]),
            "discountPercent": "25",
            "quantity": "6",
        },
    )
    assert result["__typename"] == "OrderLineSaved", result
    after = line_row(tryton, line_id)
    # Tryton's own price: its base price less the discount, rounded as Tryton rounds it
    assert after["discount_rate"] == Decimal("0.2500")
    assert after["unit_price"] == (after["base_price"] * Decimal("0.75")).quantize(
        Decimal("0.0001")
    )
    assert after["quantity"] == 6.0
    line = result["line"]
    assert Decimal(line["discountPercent"]) == Decimal(25)
    # Keylink's unit price is the price before the discount (as on every adapter), its
    # amount Tryton's own, after the discount
    assert Decimal(line["unitPrice"]["amount"]) == after["base_price"]
    assert Decimal(line["amount"]["amount"]) == after["amount"]
    assert line["orderKey"] == order["key"]


async def test_a_delivery_date_is_the_sales_shipping_date_in_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    made = next(s for s in tryton.seed["sales"] if "discounted_line" in s)
    line_id = made["discounted_line"]
    before = line_row(tryton, line_id, "_timestamp", "shipping_date")
    wanted = date.today() + timedelta(days=30)
    assert before["shipping_date"] != wanted
    result = await edit(
        keylink,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", made["id"])},
            "line": str(line_id),
            "expectedVersion": str(before["_timestamp"]),
            "deliveryDate": wanted.isoformat(),
        },
    )
    assert result["__typename"] == "OrderLineSaved", result
    assert result["line"]["deliveryDate"] == wanted.isoformat()
    (sale,) = tryton.search_read("sale.sale", [["id", "=", made["id"]]], ["shipping_date"])
    assert sale["shipping_date"] == wanted
    assert line_row(tryton, line_id, "shipping_date")["shipping_date"] == wanted


async def test_a_processing_sale_is_amended_through_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    sale_id = tryton.scenario["processing_draft_invoice"]["sale"]
    (line, *_) = tryton.search_read(
        "sale.line",
        [["sale", "=", sale_id], ["type", "=", "line"]],
        ["quantity", "unit_price", "_timestamp"],
    )
    result = await edit(
        keylink,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)},
            "line": str(line["id"]),
            "expectedVersion": str(line["_timestamp"]),
            "quantity": "5",
        },
    )
    assert result["__typename"] == "OrderLineSaved", result
    (sale,) = tryton.search_read(
        "sale.sale",
        [["id", "=", sale_id]],
        ["state", "revision", "total_amount", "amendments.state", "invoices.state"],
    )
    # Tryton validated and applied the amendment: the sale is still processing, one
    # revision on, and its (draft) invoice was redone for the new quantity
    assert sale["state"] == "processing" and sale["revision"] == 1
    assert [a["state"] for a in sale["amendments."]] == ["validated"]
    after = line_row(tryton, line["id"])
    assert after["quantity"] == 5.0
    assert Decimal(result["order"]["total"]["amount"]) == sale["total_amount"]
    assert Decimal(result["line"]["quantity"]) == Decimal(5)


async def test_a_customer_over_its_credit_limit(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    (party,) = tryton.search_read(
        "party.party", [["code", "=", "C-ACME"]], ["credit_limit_amount", "credit_amount"]
    )
    assert party["credit_amount"] > party["credit_limit_amount"]  # over its limit in Tryton
    query = """query { customer(system: "tryton", key: "C-ACME") {
      erp { creditLimit { amount currency } creditUsed { amount currency } }
      financialOverview { creditLimit { amount } creditAvailable { amount } } } }"""
    customer = (await ask(keylink, query, {}))["data"]["customer"]
    assert customer["erp"]["creditLimit"] == {
        "amount": str(party["credit_limit_amount"]),
        "currency": "EUR",
    }
    assert Decimal(customer["erp"]["creditUsed"]["amount"]) == party["credit_amount"]
    assert Decimal(customer["financialOverview"]["creditAvailable"]["amount"]) < 0


async def test_a_project_with_invoiced_and_uninvoiced_timesheet_lines(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    project = next(p for p in tryton.seed["projects"] if "invoice" in p)
    query = """query($key: String!) { project(system: "tryton", key: $key) {
      invoices { key number status }
      actualRevenue { amount currency }
      hours { total billable billed unbilled entries { key invoiced billable } } } }"""
    body = await ask(keylink, query, {"key": str(project["id"])})
    got = body["data"]["project"]
    invoice = project["invoice"]
    (row,) = tryton.search_read(
        "account.invoice", [["id", "=", invoice["id"]]], ["number", "state", "untaxed_amount"]
    )
    assert got["invoices"] == [{"key": row["number"], "number": row["number"], "status": "OPEN"}]
    assert got["actualRevenue"] == [{"amount": str(row["untaxed_amount"]), "currency": "EUR"}]
    entries = {e["key"]: e for e in got["hours"]["entries"]}
    lines = tryton.search_read(
        "timesheet.line", [["id", "in", [int(k) for k in entries]]], ["invoice_line"]
    )
    invoiced = {str(r["id"]) for r in lines if r["invoice_line"] and str(r["id"]) in entries}
    assert invoiced and invoiced != set(entries)  # some invoiced, some not
    assert {k for k, e in entries.items() if e["invoiced"]} == invoiced
    hours = got["hours"]
    assert Decimal(hours["total"]) == project_hours(tryton, [project["id"]])
    assert Decimal(hours["unbilled"]) == project_hours(tryton, [project["id"]], uninvoiced=True)
    assert Decimal(hours["billed"]) + Decimal(hours["unbilled"]) == Decimal(hours["billable"])
    assert Decimal(hours["billed"]) > 0 and Decimal(hours["unbilled"]) > 0


async def test_sales_and_invoices_are_addressed_by_their_number(
    adapter: TrytonSource, tryton: TrytonServer
) -> None:
    sales = tryton.search_read(
        "sale.sale", [["party.code", "=", "C-ACME"]], ["number", "total_amount"]
    )
    numbered = [s for s in sales if s["number"]]
    draft = next(s for s in sales if not s["number"])
    keys = [s["number"] for s in numbered] + [f"draft-{draft['id']}", "999999", "draft-999999"]
    found = await adapter.sales_orders(keys)
    assert set(found) == {s["number"] for s in numbered} | {f"draft-{draft['id']}"}
    for sale in numbered:
        assert found[sale["number"]].total.amount == sale["total_amount"]
    # an id is no key: "5" names the sale numbered 5, whichever its id
    by_id = {str(s["id"]): s for s in numbered}
    for key, sale in found.items():
        if key in by_id and by_id[key]["number"] != key:
            assert sale.number == key
    invoices = tryton.search_read(
        "account.invoice", [["type", "=", "out"], ["number", "!=", None]], ["number"]
    )
    by_number = await adapter.invoices_by_key([i["number"] for i in invoices])
    assert {i.number for i in by_number.values()} == {i["number"] for i in invoices}
    lines = await adapter.order_lines([f"draft-{draft['id']}"])
    assert lines[f"draft-{draft['id']}"]
    assert all(line.order_key == f"draft-{draft['id']}" for line in lines[f"draft-{draft['id']}"])
    assert all(line.unit is not None for line in lines[f"draft-{draft['id']}"])
