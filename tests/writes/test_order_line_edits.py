"""Issue 3: order-line edits forwarded to the demo ERP over real HTTP, safely.

Expected prices and totals are computed here from the ERP's raw data with plain Decimal
arithmetic; the ERP's state is read back from the ERP itself, never through Keylink.
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.writes.conftest import EditRig
from tests.writes.queries import ADD, AUDIT, ORDER_LINES, PREVIEW, REMOVE, UPDATE

CENT = Decimal("0.01")


def draft_order(rig: EditRig) -> tuple[dict[str, Any], dict[str, Any]]:
    """A draft order with at least two lines, and its first line (from the ERP)."""
    for order in rig.orders(status="draft"):
        lines = rig.lines_of(order["number"])
        if len(lines) >= 2:
            return order, lines[0]
    raise AssertionError("no draft order with lines in the demo data")


def locked_order(rig: EditRig) -> tuple[dict[str, Any], dict[str, Any]]:
    for order in rig.orders(status="confirmed"):
        lines = rig.lines_of(order["number"])
        if lines:
            return order, lines[0]
    raise AssertionError("no confirmed order with lines")


def amount(quantity: str, unit_price: str, discount: str) -> str:
    value = Decimal(quantity) * Decimal(unit_price) * (1 - Decimal(discount) / 100)
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def update_input(order: dict[str, Any], line: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "order": {"system": "erp", "key": order["number"]},
        "line": line["id"],
        "expectedVersion": str(line["version"]),
        **changes,
    }


async def test_update_is_priced_by_the_erp_and_changes_the_erp(rig: EditRig) -> None:
    order, line = draft_order(rig)
    body = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="7.5"), "key": "u-1"})
    result = body["data"]["updateOrderLine"]
    assert result["__typename"] == "OrderLineSaved", result
    stored = rig.line(line["id"])
    assert stored is not None
    assert Decimal(stored["quantity"]) == Decimal("7.5")
    assert result["line"]["amount"]["amount"] == stored["amount"]
    assert stored["amount"] == amount("7.5", stored["unit_price"], stored["discount_percent"])
    assert result["line"]["version"] == str(stored["version"]) != str(line["version"])
    header = rig.order(order["number"])
    untaxed = sum((Decimal(ln["amount"]) for ln in rig.lines_of(order["number"])), Decimal(0))
    assert Decimal(header["total_untaxed"]) == untaxed
    assert result["order"]["total"]["amount"] == header["total"]
    assert body["extensions"]["idempotency"] == [
        {"path": "updateOrderLine", "key": "u-1", "replayed": False}
    ]
    assert [w["idempotency_key"] for w in rig.writes()] == ["u-1"]


async def test_fifty_concurrent_identical_requests_write_once(rig: EditRig) -> None:
    order, line = draft_order(rig)
    variables = {
        "input": update_input(order, line, quantity="3", discountPercent="5"),
        "key": "same-key",
    }
    bodies = await asyncio.gather(*(rig.gql(UPDATE, variables) for _ in range(50)))
    answers = [b["data"]["updateOrderLine"] for b in bodies]
    assert answers[0]["__typename"] == "OrderLineSaved", answers[0]
    assert len(answers) == 50 and all(a == answers[0] for a in answers)
    assert Decimal(answers[0]["line"]["quantity"]) == Decimal(3)
    assert len(rig.writes()) == 1
    replayed = [b["extensions"]["idempotency"][0]["replayed"] for b in bodies]
    assert replayed.count(False) == 1


async def test_replay_returns_the_first_outcome_without_an_erp_call(rig: EditRig) -> None:
    order, line = draft_order(rig)
    variables = {"input": update_input(order, line, quantity="2"), "key": "replay-1"}
    first = await rig.gql(UPDATE, variables)
    rig.faults.sent.clear()
    again = await rig.gql(UPDATE, variables)
    assert again["data"] == first["data"]
    assert again["extensions"]["idempotency"][0]["replayed"] is True
    assert rig.faults.sent == []
    assert len(rig.writes()) == 1


async def test_same_key_different_request_is_refused(rig: EditRig) -> None:
    order, line = draft_order(rig)
    await rig.gql(UPDATE, {"input": update_input(order, line, quantity="2"), "key": "k-mm"})
    body = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="9"), "key": "k-mm"})
    result = body["data"]["updateOrderLine"]
    assert result["code"] == "IDEMPOTENCY_MISMATCH"
    assert len(rig.writes()) == 1
    assert Decimal(rig.line(line["id"])["quantity"]) == Decimal("2")  # type: ignore[index]


async def test_two_editors_with_the_same_version_one_wins(rig: EditRig) -> None:
    order, line = draft_order(rig)
    first, second = await asyncio.gather(
        rig.gql(UPDATE, {"input": update_input(order, line, quantity="11"), "key": "ed-a"}),
        rig.gql(UPDATE, {"input": update_input(order, line, quantity="22"), "key": "ed-b"}),
    )
    results = [first["data"]["updateOrderLine"], second["data"]["updateOrderLine"]]
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["OrderLineSaved", "VersionConflict"], results
    winner = next(r for r in results if r["__typename"] == "OrderLineSaved")
    loser = next(r for r in results if r["__typename"] == "VersionConflict")
    assert loser["code"] == "CONFLICT"
    stored = rig.line(line["id"])
    assert stored is not None
    assert Decimal(stored["quantity"]) == Decimal(winner["line"]["quantity"])
    assert loser["current"]["version"] == str(stored["version"])
    assert len(rig.writes()) == 1


async def test_locked_order_is_refused_and_unchanged(rig: EditRig) -> None:
    order, line = locked_order(rig)
    body = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="4"), "key": "lk"})
    result = body["data"]["updateOrderLine"]
    assert (result["__typename"], result["code"]) == ("OrderLineRejected", "ORDER_LOCKED")
    assert rig.line(line["id"]) == line
    assert rig.writes() == []


async def test_add_and_remove_lines(rig: EditRig) -> None:
    order, _ = draft_order(rig)
    product = next(iter(rig.upstreams.dataset.products.values()))
    before = {ln["id"] for ln in rig.lines_of(order["number"])}
    added = await rig.gql(
        ADD,
        {
            "input": {
                "order": {"system": "erp", "key": order["number"]},
                "product": product.sku,
                "quantity": "4",
                "discountPercent": "10",
            },
            "key": "add-1",
        },
    )
    result = added["data"]["addOrderLine"]
    assert result["__typename"] == "OrderLineSaved", result
    new = [ln for ln in rig.lines_of(order["number"]) if ln["id"] not in before]
    assert len(new) == 1 and new[0]["id"] == result["line"]["key"]
    price = product.prices[order["currency"]]
    assert new[0]["unit_price"] == str(price)
    assert result["line"]["amount"]["amount"] == amount("4", str(price), "10")

    removed = await rig.gql(
        REMOVE,
        {
            "input": {
                "order": {"system": "erp", "key": order["number"]},
                "line": new[0]["id"],
                "expectedVersion": str(new[0]["version"]),
            },
            "key": "rm-1",
        },
    )
    assert removed["data"]["removeOrderLine"]["__typename"] == "OrderLineRemoved"
    assert {ln["id"] for ln in rig.lines_of(order["number"])} == before
    assert len(rig.writes()) == 2


async def test_unknown_product_is_not_found(rig: EditRig) -> None:
    order, _ = draft_order(rig)
    body = await rig.gql(
        ADD,
        {
            "input": {
                "order": {"system": "erp", "key": order["number"]},
                "product": "P-NOPE",
                "quantity": "1",
            },
            "key": "np",
        },
    )
    assert body["data"]["addOrderLine"]["code"] == "NOT_FOUND"
    assert rig.writes() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "1.2345"}, "quantity"),
        ({"discountPercent": "100.5"}, "discountPercent"),
        ({"deliveryDate": "1800-01-01"}, "deliveryDate"),
        ({}, "input"),
    ],
)
async def test_bad_input_is_refused_before_forwarding(
    rig: EditRig, changes: dict[str, Any], field: str
) -> None:
    order, line = draft_order(rig)
    rig.faults.sent.clear()
    body = await rig.gql(UPDATE, {"input": update_input(order, line, **changes), "key": "bad"})
    result = body["data"]["updateOrderLine"]
    assert (result["code"], result["field"]) == ("BAD_INPUT", field)
    assert rig.faults.sent == []
    assert rig.line(line["id"]) == line


async def test_malformed_date_is_bad_input(rig: EditRig) -> None:
    order, line = draft_order(rig)
    body = await rig.gql(
        UPDATE, {"input": update_input(order, line, deliveryDate="31.12.2026"), "key": "d"}
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert rig.writes() == []


async def test_missing_idempotency_key_is_bad_input(rig: EditRig) -> None:
    order, line = draft_order(rig)
    body = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="2")})
    assert body["data"]["updateOrderLine"]["field"] == "idempotencyKey"
    assert rig.writes() == []
    header = await rig.gql(
        UPDATE, {"input": update_input(order, line, quantity="2")}, **{"Idempotency-Key": "hdr"}
    )
    assert header["data"]["updateOrderLine"]["idempotencyKey"] == "hdr"


@pytest.mark.parametrize("key", ["¡clé", "k\u00e9y-1", "line\nbreak", "x" * 256])
async def test_an_idempotency_key_the_erp_header_cannot_carry_is_bad_input(
    rig: EditRig, key: str
) -> None:
    """The key travels on to the ERP as an HTTP header: non-ASCII, control characters or
    an overlong key are refused before anything is sent, never a 500 half-way."""
    order, line = draft_order(rig)
    rig.faults.sent.clear()
    body = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="2"), "key": key})
    result = body["data"]["updateOrderLine"]
    assert (result["code"], result["field"]) == ("BAD_INPUT", "idempotencyKey")
    assert rig.faults.sent == []
    assert rig.line(line["id"]) == line


@pytest.mark.parametrize("roles", ["viewer", "analyst", "viewer,analyst"])
async def test_only_edit_roles_may_edit(rig: EditRig, roles: str) -> None:
    order, line = draft_order(rig)
    body = await rig.gql(
        UPDATE,
        {"input": update_input(order, line, quantity="2"), "key": f"r-{roles}"},
        **{"X-Keylink-Roles": roles},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert rig.writes() == []


async def test_erp_applies_then_times_out_keylink_rereads_and_replay_writes_nothing(
    rig: EditRig,
) -> None:
    order, line = draft_order(rig)
    rig.upstreams.knobs["erp"].update(fault="apply_then_timeout", paths=["/order-lines/"])
    variables = {"input": update_input(order, line, quantity="6"), "key": "lost-answer"}
    body = await rig.gql(UPDATE, variables)
    rig.upstreams.knobs["erp"].reset()
    result = body["data"]["updateOrderLine"]
    assert result["__typename"] == "OrderLineSaved", result
    assert Decimal(result["line"]["quantity"]) == Decimal("6")
    assert len(rig.writes()) == 1
    again = await rig.gql(UPDATE, variables)
    assert again["data"] == body["data"]
    assert len(rig.writes()) == 1


async def test_outcome_unknown_then_resolved_by_the_retry(rig: EditRig) -> None:
    from tests.support.faults import reads, writes

    order, line = draft_order(rig)
    rig.faults.add(writes, "forward_then_timeout", times=1)
    rig.faults.add(reads, "refuse", times=10, after=writes)
    variables = {"input": update_input(order, line, quantity="8"), "key": "unknown-1"}
    body = await rig.gql(UPDATE, variables)
    result = body["data"]["updateOrderLine"]
    assert result["__typename"] == "OutcomeUnknown", result
    assert result["idempotencyKey"] == "unknown-1"
    rig.faults.clear()
    again = await rig.gql(UPDATE, variables)
    assert again["data"]["updateOrderLine"]["__typename"] == "OrderLineSaved"
    assert len(rig.writes()) == 1


async def test_erp_down_before_sending_is_safe_to_retry(rig: EditRig) -> None:
    from tests.support.faults import writes

    order, line = draft_order(rig)
    rig.faults.add(writes, "refuse", times=1)
    variables = {"input": update_input(order, line, quantity="5"), "key": "down-1"}
    body = await rig.gql(UPDATE, variables)
    assert body["data"]["updateOrderLine"]["code"] == "SOURCE_UNAVAILABLE"
    assert rig.writes() == []
    again = await rig.gql(UPDATE, variables)
    assert again["data"]["updateOrderLine"]["__typename"] == "OrderLineSaved"
    assert len(rig.writes()) == 1


async def test_overview_shows_the_edit_in_the_very_next_query_with_cache_on(
    rig: EditRig,
) -> None:
    order, line = draft_order(rig)
    customer = order["customer"]
    before = await rig.gql(ORDER_LINES, {"key": customer})
    assert "errors" not in before
    await rig.gql(ORDER_LINES, {"key": customer})  # warm: served from the cache
    body = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="50"), "key": "ov-1"})
    assert body["data"]["updateOrderLine"]["__typename"] == "OrderLineSaved"
    after = await rig.gql(ORDER_LINES, {"key": customer})
    expected: dict[str, Decimal] = {}
    # open orders: neither cancelled nor invoiced (drafts, quotations, confirmed orders,
    # processing ones whose invoice is still a draft), read from the ERP itself
    open_orders = rig.orders(customer=customer, status="draft,quoted,confirmed,processing")
    assert open_orders
    for header in open_orders:
        expected[header["currency"]] = expected.get(header["currency"], Decimal(0)) + Decimal(
            header["total"]
        )
    shown = after["data"]["customer"]["financialOverview"]["openOrdersValue"]
    assert {m["currency"]: Decimal(m["amount"]) for m in shown} == expected
    assert shown != before["data"]["customer"]["financialOverview"]["openOrdersValue"]
    lines = {ln["key"]: ln for o in after["data"]["customer"]["orders"] for ln in o["lines"]}
    assert Decimal(lines[line["id"]]["quantity"]) == Decimal("50")


async def test_preview_prices_without_writing_and_shows_availability(rig: EditRig) -> None:
    order, _ = draft_order(rig)
    product = next(iter(rig.upstreams.dataset.products.values()))
    body = await rig.gql(
        PREVIEW,
        {
            "input": {
                "order": {"system": "erp", "key": order["number"]},
                "product": product.sku,
                "quantity": "2",
                "discountPercent": "0",
            }
        },
    )
    result = body["data"]["previewOrderLine"]
    assert result["__typename"] == "OrderLinePreview", body
    price = product.prices[order["currency"]]
    assert result["line"]["amount"]["amount"] == amount("2", str(price), "0")
    assert result["line"]["availability"]["productKey"] == product.sku
    assert rig.writes() == []


async def test_every_attempt_is_audited_and_the_trail_is_admin_only(rig: EditRig) -> None:
    order, line = draft_order(rig)
    ref = {"system": "erp", "key": order["number"]}
    attempts = [
        {"input": update_input(order, line, quantity="2"), "key": "au-1"},
        {"input": update_input(order, line, quantity="2"), "key": "au-1"},  # replay
        {"input": update_input(order, line, quantity="3"), "key": "au-2"},  # stale version
        {"input": update_input(order, line, quantity="0"), "key": "au-3"},  # bad input
    ]
    for variables in attempts:
        await rig.gql(UPDATE, variables)
    body = await rig.gql(AUDIT, {"order": ref})
    events = [
        e for e in body["data"]["auditTrail"] if e["idempotencyKey"] in ("au-1", "au-2", "au-3")
    ]
    assert len(events) == len(attempts)
    assert [e["outcome"] for e in reversed(events)] == [
        "APPLIED",
        "APPLIED",
        "CONFLICT",
        "BAD_INPUT",
    ]
    assert [e["replay"] for e in reversed(events)] == [False, True, False, False]
    applied = events[-1]
    assert applied["fields"] == ["quantity"] and applied["actor"] == "dev"
    assert Decimal(applied["before"]["quantity"]) == Decimal(line["quantity"])
    assert Decimal(applied["after"]["quantity"]) == Decimal("2")
    denied = await rig.gql(AUDIT, {"order": ref}, **{"X-Keylink-Roles": "sales"})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_order_is_addressed_by_a_linked_crm_key(
    rig: EditRig, demo_linkmap_url: str
) -> None:
    from linkmap.store import LinkStore

    order, line = draft_order(rig)
    async with LinkStore.from_url(demo_linkmap_url) as store:
        if await store.resolve("order", "crm", f"OPP-{order['number']}") is None:
            await store.create_entity(
                "order", {"crm": [f"OPP-{order['number']}"], "erp": [order["number"]]}, actor="test"
            )
    variables = {
        "input": {
            **update_input(order, line, quantity="4"),
            "order": {"system": "crm", "key": f"OPP-{order['number']}"},
        },
        "key": "via-crm",
    }
    body = await rig.gql(UPDATE, variables)
    assert body["data"]["updateOrderLine"]["__typename"] == "OrderLineSaved", body
    assert Decimal(rig.line(line["id"])["quantity"]) == 4  # type: ignore[index]
    unknown = await rig.gql(
        UPDATE,
        {
            "input": {
                **update_input(order, line, quantity="4"),
                "order": {"system": "crm", "key": "OPP-NONE"},
            },
            "key": "via-crm-2",
        },
    )
    assert unknown["data"]["updateOrderLine"]["code"] == "NOT_FOUND"
