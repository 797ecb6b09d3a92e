"""What a sales rep reads about a customer on the states a real company's Tryton holds,
made by Tryton's own workflow (``tests/tryton/scenario.py``): a processing sale whose
invoice is still a draft, a quotation, a credit note, a partly paid invoice, ten sales of
one day, stock in two warehouses, a VAT number, locked sales and a version conflict.

Each test states what the figure means to its reader (``../shared/FIGURES.md``) and
checks it against Tryton's own rows, read through the tests' own JSON-RPC client.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sources.errors import Rejected, Unsupported
from sources.records import EntryQuery, LineChanges
from sources.tryton import TrytonSource
from tests.conftest import graphql
from tests.support.tryton import TrytonServer
from tests.tryton.expected import money_map, overview, party_hours
from tests.writes.queries import ADD, PREVIEW, UPDATE

EDGE = """
query Edge($key: String!) {
  customer(system: "tryton", key: $key) {
    erp { key vatId }
    orders { key number status statusRaw orderDate total { amount currency } }
    invoices { key number status isCreditNote dueDate total { amount } amountDue { amount } }
    financialOverview {
      openBalance { amount currency }
      overdueAmount { amount currency }
      overdueCount
      openOrdersValue { amount currency }
      revenueYearToDate { amount currency }
    }
  }
}
"""


async def edge(keylink: httpx.AsyncClient) -> dict[str, Any]:
    """Party C-EDGE as Keylink shows it (no errors allowed)."""
    body = await graphql(keylink, EDGE, {"key": "C-EDGE"})
    assert "errors" not in body, body["errors"]
    customer: dict[str, Any] = body["data"]["customer"]
    return customer


def _order(customer: dict[str, Any], sale_key: str) -> dict[str, Any]:
    (found,) = [o for o in customer["orders"] if o["key"] == sale_key]
    return found


def _invoice(customer: dict[str, Any], invoice_key: str) -> dict[str, Any]:
    (found,) = [i for i in customer["invoices"] if i["key"] == invoice_key]
    return found


async def test_a_processing_sale_whose_invoice_is_a_draft_is_confirmed_and_still_open(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    # The customer has not been invoiced yet: the order is CONFIRMED, its value is open.
    made = tryton.scenario["processing_draft_invoice"]
    (row,) = tryton.search_read(
        "sale.sale", [["id", "=", made["sale"]]], ["state", "invoice_state", "invoices.state"]
    )
    assert (row["state"], row["invoice_state"]) == ("processing", "pending")
    assert [i["state"] for i in row["invoices."]] == ["draft"]
    customer = await edge(keylink)
    order = _order(customer, tryton.key_of("sale.sale", made["sale"]))
    assert (order["status"], order["statusRaw"]) == ("CONFIRMED", "processing")
    assert order["number"] == made["number"]
    open_orders = money_map(customer["financialOverview"]["openOrdersValue"])
    assert open_orders == overview(tryton, "C-EDGE", date.today())["openOrdersValue"]
    assert open_orders["EUR"] >= Decimal(made["total"])
    # the draft invoice is not yet an invoice to the customer: listed as a draft, with no
    # number and no due date, and in no figure (the overview matched Tryton's rows above)
    draft_key = tryton.key_of("account.invoice", made["invoice"])
    assert draft_key == f"draft-{made['invoice']}"  # a draft invoice has no number yet
    draft = _invoice(customer, draft_key)
    assert (draft["status"], draft["number"], draft["dueDate"]) == ("DRAFT", None, None)
    assert Decimal(draft["total"]["amount"]) == Decimal(made["total"])
    drafts = await graphql(
        keylink,
        'query { customer(system: "tryton", key: "C-EDGE") { invoices(status: DRAFT) { key } '
        "open: invoices(status: OPEN) { key } } }",
        {},
    )
    listed = drafts["data"]["customer"]
    assert listed["invoices"] == [{"key": draft_key}]
    assert draft_key not in {i["key"] for i in listed["open"]}


async def test_a_quotation_is_quoted_and_counts_as_open(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    made = tryton.scenario["quotation"]
    customer = await edge(keylink)
    order = _order(customer, made["number"])
    assert (order["status"], order["statusRaw"]) == ("QUOTED", "quotation")
    quoted = [o for o in customer["orders"] if o["status"] == "QUOTED"]
    assert len(quoted) == 11  # the quotation and the ten of one day


async def test_a_credit_note_is_never_overdue_and_lowers_the_open_balance(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    made = tryton.scenario["credit_note"]
    partly = tryton.scenario["partly_paid"]
    customer = await edge(keylink)
    credit = _invoice(customer, tryton.key_of("account.invoice", made["credit_note"]))
    credited = _invoice(customer, tryton.key_of("account.invoice", made["invoice"]))
    assert Decimal(credit["total"]["amount"]) == Decimal(made["total"]) < 0
    assert credit["isCreditNote"] is True
    assert credit["dueDate"] < date.today().isoformat()  # its due date has passed...
    assert credit["status"] == "OPEN"  # ...yet it is not overdue
    assert credited["status"] == "OVERDUE"
    figures = customer["financialOverview"]
    # open: the credited invoice, its credit note (negative) and what remains of the
    # partly paid one
    want_open = (
        Decimal(credited["amountDue"]["amount"])
        + Decimal(credit["amountDue"]["amount"])
        + Decimal(partly["amount_to_pay"])
    )
    assert Decimal(credit["amountDue"]["amount"]) == -Decimal(credited["amountDue"]["amount"])
    assert money_map(figures["openBalance"]) == {"EUR": want_open}
    # overdue: the credited invoice and the partly paid one, never the credit note
    assert figures["overdueCount"] == 2
    want_overdue = Decimal(credited["amountDue"]["amount"]) + Decimal(partly["amount_to_pay"])
    assert money_map(figures["overdueAmount"]) == {"EUR": want_overdue}
    want = overview(tryton, "C-EDGE", date.today())
    assert money_map(figures["overdueAmount"]) == want["overdueAmount"]
    assert money_map(figures["openBalance"]) == want["openBalance"]
    assert money_map(figures["revenueYearToDate"]) == want["revenueYearToDate"]


async def test_a_partly_paid_invoice_is_open_for_what_remains(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    made = tryton.scenario["partly_paid"]
    assert Decimal(0) < Decimal(made["amount_to_pay"]) < Decimal(made["total"])
    customer = await edge(keylink)
    invoice = _invoice(customer, tryton.key_of("account.invoice", made["invoice"]))
    assert Decimal(invoice["total"]["amount"]) == Decimal(made["total"])
    assert Decimal(invoice["amountDue"]["amount"]) == Decimal(made["amount_to_pay"])
    assert invoice["status"] == "OVERDUE"


async def test_orders_of_one_day_come_newest_first_by_their_number_in_natural_order(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    # Tryton numbers sales when they are quoted; these ten were quoted last-made first, so
    # their numbers run 9..18 against their ids: only the number gives the right order.
    made = tryton.scenario["same_day"]
    customer = await edge(keylink)
    same_day = [o for o in customer["orders"] if o["orderDate"] == made["date"]]
    numbers = [o["number"] for o in same_day]
    assert numbers == [str(n) for n in range(18, 8, -1)]
    # each is keyed by its number, the one people use (FIGURES.md), not by its id
    assert [o["key"] for o in same_day] == numbers
    dates = [o["orderDate"] for o in customer["orders"]]
    assert dates == sorted(dates, reverse=True)


async def test_a_party_vat_number_is_read_from_its_identifiers(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    (party,) = tryton.search_read(
        "party.party", [["code", "=", "C-EDGE"]], ["identifiers.type", "identifiers.code"]
    )
    assert [(i["type"], i["code"]) for i in party["identifiers."]] == [
        ("eu_vat", tryton.scenario["vat"])
    ]
    customer = await edge(keylink)
    assert customer["erp"] == {"key": "C-EDGE", "vatId": tryton.scenario["vat"]}


AVAILABILITY = """
query($key: String!) {
  customer(system: "tryton", key: $key) {
    orders { key lines { productKey availability {
      productKey onHand warehouses { warehouseKey warehouseName quantity } } } }
  }
}
"""


async def test_stock_on_hand_is_read_per_warehouse_and_in_total(
    keylink: httpx.AsyncClient, adapter: TrytonSource, tryton: TrytonServer
) -> None:
    # On hand: what is physically in the warehouses the company sells from. A product
    # with no moves has 0; a service keeps no stock (null).
    stock = tryton.scenario["stock"]
    body = await graphql(keylink, AVAILABILITY, {"key": "C-EDGE"})
    assert "errors" not in body, body["errors"]
    lines = [line for order in body["data"]["customer"]["orders"] for line in order["lines"]]
    sensor = next(line["availability"] for line in lines if line["productKey"] == "SEN-100")
    kit = next(line["availability"] for line in lines if line["productKey"] == "MNT-KIT")
    want = {
        (key, place["name"], Decimal(place["quantity"]))
        for key, place in stock["warehouses"].items()
    }
    got = {
        (w["warehouseKey"], w["warehouseName"], Decimal(w["quantity"]))
        for w in sensor["warehouses"]
    }
    assert got == want
    assert Decimal(sensor["onHand"]) == Decimal(10)
    assert Decimal(kit["onHand"]) == Decimal(0)
    assert {Decimal(w["quantity"]) for w in kit["warehouses"]} == {Decimal(0)}
    products = await adapter.products([stock["service"]])
    assert products[stock["service"]].on_hand is None
    assert products[stock["service"]].stock is None


async def _answer(keylink: httpx.AsyncClient, document: str, payload: dict[str, Any]) -> Any:
    variables: dict[str, Any] = {"input": payload}
    if document is not PREVIEW:
        variables["key"] = str(uuid.uuid4())
    body = await graphql(keylink, document, variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def _lines(tryton: TrytonServer, sale_id: int) -> list[dict[str, Any]]:
    return tryton.search_read(
        "sale.line",
        [["sale", "=", sale_id], ["type", "=", "line"]],
        ["quantity", "unit_price", "_timestamp"],
    )


async def test_preview_answers_order_locked_on_a_locked_sale_as_the_edit_does(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    # Only a draft's lines can change; a quoted or processing sale is locked, and a
    # preview says so exactly as the edit would, instead of pricing a line.
    # (a processing sale is amended instead: tests/tryton/test_sales_desk.py)
    for sale_id in (tryton.scenario["quotation"]["sale"],):
        before = _lines(tryton, sale_id)
        assert before, f"sale {sale_id} has no lines"
        order = {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)}
        line = before[0]
        new = {"order": order, "product": "MNT-KIT", "quantity": "2"}
        change = {"order": order, "line": str(line["id"]), "quantity": "9"}
        answers = [
            await _answer(keylink, PREVIEW, new),
            await _answer(keylink, ADD, new),
            await _answer(keylink, PREVIEW, change),
            await _answer(keylink, UPDATE, {**change, "expectedVersion": str(line["_timestamp"])}),
        ]
        assert [(a["__typename"], a["code"]) for a in answers] == [
            ("OrderLineRejected", "ORDER_LOCKED")
        ] * 4, answers
        assert _lines(tryton, sale_id) == before


async def test_preview_answers_not_found_on_a_missing_sale_as_the_edit_does(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    (last,) = tryton.call("model.sale.sale.search", [], 0, 1, [["id", "DESC"]])
    new = {"order": {"system": "tryton", "key": str(last + 1000)}, "product": "MNT-KIT"}
    new["quantity"] = "2"
    preview = await _answer(keylink, PREVIEW, new)
    added = await _answer(keylink, ADD, new)
    assert (preview["__typename"], preview["code"]) == ("OrderLineRejected", "NOT_FOUND")
    assert (added["__typename"], added["code"]) == ("OrderLineRejected", "NOT_FOUND")


async def test_a_version_conflict_returns_the_line_as_tryton_has_it_now(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    # The rep must see the current line to decide what to do: never null on CONFLICT.
    (sale_id,) = [
        s["id"]
        for s in tryton.seed["sales"]
        if s["state"] == "draft" and "discounted_line" not in s
    ][-1:]
    (line, *_) = _lines(tryton, sale_id)
    seen = str(line["_timestamp"])
    tryton.call("model.sale.line.write", [line["id"]], {"quantity": 7.0})
    (now,) = [r for r in _lines(tryton, sale_id) if r["id"] == line["id"]]
    assert str(now["_timestamp"]) != seen
    result = await _answer(
        keylink,
        UPDATE,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)},
            "line": str(line["id"]),
            "expectedVersion": seen,
            "quantity": "99",
        },
    )
    assert (result["__typename"], result["code"]) == ("VersionConflict", "CONFLICT")
    current = result["current"]
    assert current is not None, result
    assert (current["key"], current["version"]) == (str(line["id"]), str(now["_timestamp"]))
    assert Decimal(current["quantity"]) == Decimal(7)
    (after,) = [r for r in _lines(tryton, sale_id) if r["id"] == line["id"]]
    assert after["quantity"] == 7.0


async def test_without_its_modules_tryton_says_what_it_cannot_answer(
    base_adapter: TrytonSource, tryton: TrytonServer
) -> None:
    # The same database read as a Tryton without the sales desk's modules: "no orders"
    # would be a lie to a buyer, so the reads say the system does not offer them.
    with pytest.raises(Unsupported, match="purchase module"):
        await base_adapter.purchase_orders(["S-STEEL"], True)
    with pytest.raises(Unsupported, match="purchase module"):
        await base_adapter.purchase_order_lines(["1"])
    project = str(tryton.seed["projects"][0]["id"])
    with pytest.raises(Unsupported, match="project_invoice"):
        await base_adapter.project_invoices([project])
    customers = await base_adapter.customers(["C-ACME"])
    assert customers["C-ACME"].credit_limit is None and customers["C-ACME"].credit_used is None
    assert any("account_credit_limit" in note for note in getattr(customers, "notes", ()))
    entries = await base_adapter.project_time_entries([project], EntryQuery())
    assert entries[project] and all(e.billable and not e.invoiced for e in entries[project])
    assert base_adapter.keeps_billing_flags is False
    draft_line = str(tryton.seed["sales"][-1]["discounted_line"])
    with pytest.raises(Rejected, match="sale_discount") as refused:
        await base_adapter.preview_line_change(draft_line, LineChanges(discount_percent=Decimal(5)))
    assert refused.value.code == "BAD_INPUT"


async def test_unbilled_hours_are_the_billable_hours_tryton_has_not_invoiced(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    query = """query { customer(system: "tryton", key: "C-ACME") {
      financialOverview { unbilledHours } } }"""
    body = await graphql(keylink, query, {})
    assert "errors" not in body, body["errors"]
    hours = Decimal(body["data"]["customer"]["financialOverview"]["unbilledHours"])
    expected = overview(tryton, "C-ACME", date.today())["unbilledHours"]
    assert hours == expected > 0
    assert hours < party_hours(tryton, "C-ACME")  # some hours are invoiced, some not billable
    # Tryton keeps billing flags here (project_invoice): no note that it does not
    assert "notes" not in body["extensions"]["sources"]["tryton"]
