"""Order-line edits through Keylink change sale lines in a real Tryton, read back through
Tryton's own API; Tryton's timestamps and sale states decide, Keylink reports."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sources.errors import Conflict, Rejected
from sources.records import LineChanges
from sources.tryton import TrytonSource
from tests.conftest import graphql
from tests.support.tryton import TrytonError, TrytonServer
from tests.writes.queries import ADD, REMOVE, UPDATE

LINE_FIELDS = ["sale", "quantity", "unit_price", "amount", "description", "product.code"]


def sale_ids(tryton: TrytonServer, state: str) -> list[int]:
    """Seeded sales in ``state``."""
    return [
        s["id"]
        for s in tryton.seed["sales"]
        if s["state"] == state and "discounted_line" not in s  # that one is the desk's
    ]


def lines_of(tryton: TrytonServer, sale_id: int) -> list[dict[str, Any]]:
    """The product lines of a sale as Tryton has them."""
    return tryton.search_read(
        "sale.line", [["sale", "=", sale_id], ["type", "=", "line"]], [*LINE_FIELDS, "_timestamp"]
    )


def sale_totals(tryton: TrytonServer, sale_id: int) -> tuple[Decimal, Decimal]:
    """(untaxed, total) of a sale as Tryton computes them."""
    (sale,) = tryton.search_read(
        "sale.sale", [["id", "=", sale_id]], ["untaxed_amount", "total_amount"]
    )
    return sale["untaxed_amount"], sale["total_amount"]


async def version_of(keylink: httpx.AsyncClient, line_id: int) -> str:
    """The line's version as Keylink shows it."""
    query = """query($key: String!) { customer(system: "tryton", key: $key) {
      orders { lines { key version } } } }"""
    for party in ("C-ACME", "C-BOLT", "C-CRANE"):
        body = await graphql(keylink, query, {"key": party})
        for order in body["data"]["customer"]["orders"]:
            for line in order["lines"]:
                if line["key"] == str(line_id):
                    return str(line["version"])
    raise AssertionError(f"line {line_id} not found through Keylink")


async def edit(
    keylink: httpx.AsyncClient, document: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Send one edit with a fresh idempotency key; its result object."""
    body = await graphql(keylink, document, {"input": payload, "key": str(uuid.uuid4())})
    assert "errors" not in body, body
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


async def test_changing_a_quantity_changes_the_line_in_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    sale_id = sale_ids(tryton, "draft")[0]
    line = lines_of(tryton, sale_id)[0]
    new_quantity = Decimal(str(line["quantity"])) + 3
    result = await edit(
        keylink,
        UPDATE,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)},
            "line": str(line["id"]),
            "expectedVersion": await version_of(keylink, line["id"]),
            "quantity": str(new_quantity),
        },
    )
    assert result["__typename"] == "OrderLineSaved", result
    (after,) = [r for r in lines_of(tryton, sale_id) if r["id"] == line["id"]]
    assert Decimal(str(after["quantity"])) == new_quantity
    assert after["amount"] == line["unit_price"] * new_quantity
    assert Decimal(result["line"]["amount"]["amount"]) == after["amount"]
    assert Decimal(result["line"]["quantity"]) == new_quantity
    untaxed, total = sale_totals(tryton, sale_id)
    assert Decimal(result["order"]["totalUntaxed"]["amount"]) == untaxed
    assert Decimal(result["order"]["total"]["amount"]) == total
    assert result["line"]["version"] == str(after["_timestamp"])


async def test_adding_and_removing_a_line_goes_through_tryton(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    sale_id = sale_ids(tryton, "draft")[1]
    before = {r["id"] for r in lines_of(tryton, sale_id)}
    untaxed_before, total_before = sale_totals(tryton, sale_id)
    added = await edit(
        keylink,
        ADD,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)},
            "product": "MNT-KIT",
            "quantity": "3",
        },
    )
    assert added["__typename"] == "OrderLineSaved", added
    (new,) = [r for r in lines_of(tryton, sale_id) if r["id"] not in before]
    assert added["line"]["key"] == str(new["id"])
    assert new["product."]["code"] == "MNT-KIT"
    assert new["unit_price"] == Decimal("22.0000")  # Tryton's list price, by its on_change
    untaxed, total = sale_totals(tryton, sale_id)
    assert untaxed == untaxed_before + Decimal("66.00")
    assert total - total_before > untaxed - untaxed_before  # the product's tax applies
    assert Decimal(added["order"]["total"]["amount"]) == total

    removed = await edit(
        keylink,
        REMOVE,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)},
            "line": added["line"]["key"],
            "expectedVersion": added["line"]["version"],
        },
    )
    assert removed["__typename"] == "OrderLineRemoved", removed
    assert {r["id"] for r in lines_of(tryton, sale_id)} == before
    assert sale_totals(tryton, sale_id) == (untaxed_before, total_before)


async def test_a_stale_edit_is_refused_by_tryton_as_conflict(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    sale_id = sale_ids(tryton, "draft")[2]
    line = lines_of(tryton, sale_id)[0]
    seen = await version_of(keylink, line["id"])
    # someone edits the line in Tryton itself after Keylink's client read it
    tryton.call("model.sale.line.write", [line["id"]], {"description": "changed in Tryton"})
    result = await edit(
        keylink,
        UPDATE,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)},
            "line": str(line["id"]),
            "expectedVersion": seen,
            "quantity": "99",
        },
    )
    assert result["__typename"] == "VersionConflict", result
    assert result["code"] == "CONFLICT"
    (after,) = [r for r in lines_of(tryton, sale_id) if r["id"] == line["id"]]
    assert after["quantity"] == line["quantity"]
    assert after["description"] == "changed in Tryton"


async def test_editing_a_quoted_sale_reports_order_locked_and_changes_nothing(
    keylink: httpx.AsyncClient, tryton: TrytonServer
) -> None:
    sale_id = sale_ids(tryton, "quotation")[0]
    before = lines_of(tryton, sale_id)
    line = before[0]
    result = await edit(
        keylink,
        UPDATE,
        {
            "order": {"system": "tryton", "key": tryton.key_of("sale.sale", sale_id)},
            "line": str(line["id"]),
            "expectedVersion": await version_of(keylink, line["id"]),
            "quantity": "1",
        },
    )
    assert result["__typename"] == "OrderLineRejected", result
    assert result["code"] == "ORDER_LOCKED"
    assert lines_of(tryton, sale_id) == before


async def test_a_quoted_sale_is_locked_with_the_reason(
    adapter: TrytonSource, tryton: TrytonServer
) -> None:
    sale_id = sale_ids(tryton, "quotation")[0]
    before = lines_of(tryton, sale_id)
    line = before[0]
    with pytest.raises(Rejected) as refused:
        await adapter.change_order_line(
            str(line["id"]),
            LineChanges(quantity=Decimal(1)),
            version=str(line["_timestamp"]),
            idempotency_key="k",
        )
    assert refused.value.code == "ORDER_LOCKED"
    assert "quotation" in refused.value.message and "draft" in refused.value.message
    assert lines_of(tryton, sale_id) == before


async def test_without_sale_amendment_a_processing_sale_is_locked_and_says_why(
    base_adapter: TrytonSource, tryton: TrytonServer
) -> None:
    sale_id = sale_ids(tryton, "processing")[0]
    before = lines_of(tryton, sale_id)
    line = before[0]
    (order,) = (await base_adapter.sales_orders([tryton.key_of("sale.sale", sale_id)])).values()
    assert order.locked and not order.amendable
    with pytest.raises(Rejected) as refused:
        await base_adapter.change_order_line(
            str(line["id"]),
            LineChanges(quantity=Decimal(1)),
            version=str(line["_timestamp"]),
            idempotency_key="k",
        )
    assert refused.value.code == "ORDER_LOCKED"
    assert "sale_amendment" in refused.value.message  # why: the module is not active
    assert order.lock_reason == refused.value.message
    # Tryton itself refuses the same write with its own words
    with pytest.raises(TrytonError, match="not allowed to modify"):
        tryton.call("model.sale.line.write", [line["id"]], {"quantity": 1.0})
    assert lines_of(tryton, sale_id) == before


async def test_tryton_itself_refuses_a_stale_timestamp(
    adapter: TrytonSource, tryton: TrytonServer
) -> None:
    sale_id = sale_ids(tryton, "draft")[2]
    before = lines_of(tryton, sale_id)
    line = before[0]
    with pytest.raises(Conflict):
        await adapter.change_order_line(
            str(line["id"]),
            LineChanges(quantity=Decimal(2)),
            version="1000000000.0",
            idempotency_key="k",
        )
    assert lines_of(tryton, sale_id) == before
