"""A preview answers exactly as the edit of the same line would (FIGURES.md, "order
editable"), on the demo ERP over the REST adapter: ORDER_LOCKED on every locked order,
NOT_FOUND on a missing order or line, CONFLICT on a stale version, and on success the
very line and totals the edit then saves. Nothing a preview does is ever written.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from sources.errors import Conflict
from sources.records import LineChanges, OrderLine
from sources.rest import RestConfig, RestSource
from tests.conftest import repo_root
from tests.writes.conftest import EditRig
from tests.writes.queries import ADD, REMOVE, UPDATE

PREVIEW = """
query($input: PreviewOrderLineInput!) {
  previewOrderLine(input: $input) {
    __typename
    ... on OrderLinePreview {
      line { productKey quantity discountPercent unitPrice { amount currency }
             amount { amount currency } }
      order { key total { amount currency } totalUntaxed { amount currency } }
    }
    ... on OrderLineRejected { code field }
    ... on VersionConflict { code current { key version quantity } }
  }
}
"""

LOCKED_STATES = ["quoted", "confirmed", "processing", "invoiced", "cancelled"]


def ref(number: str) -> dict[str, str]:
    return {"system": "erp", "key": number}


def order_with_lines(rig: EditRig, state: str, count: int = 1) -> tuple[dict[str, Any], list[Any]]:
    """An order in the ERP state ``state`` with at least ``count`` lines, and its lines."""
    for order in rig.orders(status=state):
        lines = rig.lines_of(order["number"])
        if len(lines) >= count:
            return order, lines
    raise AssertionError(f"no {state} order with {count} lines in the demo data")


async def answer(rig: EditRig, document: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The result of one preview (no key) or edit (a fresh idempotency key)."""
    variables: dict[str, Any] = {"input": payload}
    if document is not PREVIEW:
        variables["key"] = str(uuid.uuid4())
    body = await rig.gql(document, variables)
    assert "errors" not in body, body
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


def refusal(result: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return result["__typename"], result.get("code"), result.get("field")


@pytest.mark.parametrize("state", LOCKED_STATES)
async def test_preview_answers_order_locked_on_a_locked_order_as_the_edit_does(
    rig: EditRig, state: str
) -> None:
    # Only a draft is editable: the preview of a new line or of a change of a quoted,
    # confirmed, processing, invoiced or cancelled order says ORDER_LOCKED, as the edit
    # does, instead of pricing a line.
    order, lines = order_with_lines(rig, state)
    line = lines[0]
    new = {"order": ref(order["number"]), "product": line["product"], "quantity": "2"}
    change = {"order": ref(order["number"]), "line": line["id"], "quantity": "9"}
    answers = [
        await answer(rig, PREVIEW, new),
        await answer(rig, ADD, new),
        await answer(rig, PREVIEW, change),
        await answer(rig, UPDATE, {**change, "expectedVersion": str(line["version"])}),
    ]
    assert [refusal(a) for a in answers] == [("OrderLineRejected", "ORDER_LOCKED", "order")] * 4
    assert rig.lines_of(order["number"]) == lines
    assert rig.order(order["number"]) == order
    assert rig.writes() == []


async def test_preview_answers_not_found_on_a_missing_order_as_the_edit_does(
    rig: EditRig,
) -> None:
    new = {"order": ref("SO-999999"), "product": "P-1001", "quantity": "2"}
    preview, added = await answer(rig, PREVIEW, new), await answer(rig, ADD, new)
    assert refusal(preview) == refusal(added) == ("OrderLineRejected", "NOT_FOUND", "order")
    assert rig.writes() == []


async def test_preview_answers_not_found_on_a_missing_line_as_the_edit_does(
    rig: EditRig,
) -> None:
    order, lines = order_with_lines(rig, "draft")
    change = {"order": ref(order["number"]), "line": "999999999", "quantity": "3"}
    preview = await answer(rig, PREVIEW, change)
    updated = await answer(rig, UPDATE, {**change, "expectedVersion": "1"})
    removed = await answer(
        rig, REMOVE, {"order": ref(order["number"]), "line": "999999999", "expectedVersion": "1"}
    )
    assert refusal(preview) == refusal(updated) == refusal(removed)
    assert refusal(preview) == ("OrderLineRejected", "NOT_FOUND", "line")
    assert rig.lines_of(order["number"]) == lines
    assert rig.writes() == []


async def test_preview_answers_not_found_on_an_unknown_product_as_the_edit_does(
    rig: EditRig,
) -> None:
    order, lines = order_with_lines(rig, "draft")
    new = {"order": ref(order["number"]), "product": "P-NOPE", "quantity": "2"}
    preview, added = await answer(rig, PREVIEW, new), await answer(rig, ADD, new)
    assert refusal(preview) == refusal(added) == ("OrderLineRejected", "NOT_FOUND", "product")
    assert rig.lines_of(order["number"]) == lines
    assert rig.writes() == []


@pytest.mark.parametrize("which", ["line of another order", "missing order", "locked order"])
async def test_preview_of_a_line_under_another_order_answers_as_the_edit_does(
    rig: EditRig, which: str
) -> None:
    order, lines = order_with_lines(rig, "draft")
    other = next(o for o in rig.orders(status="draft") if o["number"] != order["number"])
    locked, _ = order_with_lines(rig, "confirmed")
    named = {
        "line of another order": other["number"],
        "missing order": "SO-999999",
        "locked order": locked["number"],
    }[which]
    change = {"order": ref(named), "line": lines[0]["id"], "quantity": "3"}
    preview = await answer(rig, PREVIEW, change)
    updated = await answer(rig, UPDATE, {**change, "expectedVersion": str(lines[0]["version"])})
    assert updated["__typename"] == "OrderLineRejected"
    assert refusal(preview) == refusal(updated)
    assert rig.writes() == []


async def test_a_previewed_change_is_priced_exactly_as_the_edit_then_saves_it(
    rig: EditRig,
) -> None:
    order, lines = order_with_lines(rig, "draft", count=2)
    line = lines[0]
    change = {"order": ref(order["number"]), "line": line["id"], "quantity": "7"}
    preview = await answer(rig, PREVIEW, change)
    assert preview["__typename"] == "OrderLinePreview", preview
    assert rig.writes() == [] and rig.lines_of(order["number"]) == lines
    saved = await answer(rig, UPDATE, {**change, "expectedVersion": str(line["version"])})
    assert saved["__typename"] == "OrderLineSaved", saved
    for name in ("quantity", "unitPrice", "amount", "discountPercent", "productKey"):
        assert preview["line"][name] == saved["line"][name], name
    assert preview["order"]["total"] == saved["order"]["total"]
    assert preview["order"]["totalUntaxed"] == saved["order"]["totalUntaxed"]
    stored = rig.order(order["number"])
    assert Decimal(preview["order"]["total"]["amount"]) == Decimal(stored["total"])
    assert len(rig.writes()) == 1


async def test_a_previewed_new_line_is_priced_exactly_as_the_edit_then_adds_it(
    rig: EditRig,
) -> None:
    order, _ = order_with_lines(rig, "draft")
    new = {"order": ref(order["number"]), "product": "P-1001", "quantity": "3"}
    preview = await answer(rig, PREVIEW, new)
    assert preview["__typename"] == "OrderLinePreview", preview
    added = await answer(rig, ADD, new)
    assert added["__typename"] == "OrderLineSaved", added
    for name in ("quantity", "unitPrice", "amount", "discountPercent", "productKey"):
        assert preview["line"][name] == added["line"][name], name
    assert preview["order"]["total"] == added["order"]["total"]
    assert len(rig.writes()) == 1


@pytest.fixture
async def adapter(rig: EditRig) -> AsyncIterator[RestSource]:
    """Keylink's REST adapter on the demo ERP, as the gateway configures it."""
    config = RestConfig.model_validate(
        {
            "kind": "erp",
            "adapter": "rest",
            "url": rig.upstreams.urls["erp"],
            "spec": str(repo_root() / "demo" / "specs" / "erp.yaml"),
        }
    )
    source = RestSource("erp", config)
    yield source
    await source.aclose()


async def test_a_preview_at_a_stale_version_is_a_conflict_with_the_current_line_as_the_edit(
    rig: EditRig, adapter: RestSource
) -> None:
    # The adapter sends the version when given, and the ERP answers the preview exactly as
    # the edit: CONFLICT with the line as it is now.
    order, lines = order_with_lines(rig, "draft")
    line = lines[0]
    seen = str(line["version"])
    moved = await answer(
        rig,
        UPDATE,
        {
            "order": ref(order["number"]),
            "line": line["id"],
            "expectedVersion": seen,
            "quantity": "4",
        },
    )
    assert moved["__typename"] == "OrderLineSaved", moved
    changes = LineChanges(quantity=Decimal(5))
    with pytest.raises(Conflict) as previewed:
        await adapter.preview_line_change(line["id"], changes, version=seen)
    with pytest.raises(Conflict) as edited:
        await adapter.change_order_line(
            line["id"], changes, version=seen, idempotency_key=str(uuid.uuid4())
        )
    current = previewed.value.current
    assert isinstance(current, OrderLine) and current == edited.value.current
    assert (current.version, current.quantity) == (moved["line"]["version"], Decimal(4))
    assert len(rig.writes()) == 1
    priced = await adapter.preview_line_change(
        line["id"], changes, version=moved["line"]["version"]
    )
    assert priced.line is not None and priced.line.quantity == Decimal(5)
    assert len(rig.writes()) == 1


async def test_a_preview_through_keylink_at_a_stale_version_is_a_conflict_as_the_edit(
    rig: EditRig,
) -> None:
    order, lines = order_with_lines(rig, "draft")
    line = lines[0]
    seen = str(line["version"])
    change = {"order": ref(order["number"]), "line": line["id"], "expectedVersion": seen}
    moved = await answer(rig, UPDATE, {**change, "quantity": "4"})
    assert moved["__typename"] == "OrderLineSaved", moved
    preview = await answer(rig, PREVIEW, {**change, "quantity": "5"})
    edited = await answer(rig, UPDATE, {**change, "quantity": "5"})
    assert (preview["__typename"], preview["code"]) == ("VersionConflict", "CONFLICT")
    assert (edited["__typename"], edited["code"]) == ("VersionConflict", "CONFLICT")
    assert preview["current"] == edited["current"]
    assert preview["current"]["version"] == moved["line"]["version"]
    assert Decimal(preview["current"]["quantity"]) == Decimal(4)
    assert len(rig.writes()) == 1
    priced = await answer(
        rig, PREVIEW, {**change, "expectedVersion": moved["line"]["version"], "quantity": "5"}
    )
    assert priced["__typename"] == "OrderLinePreview", priced
    assert len(rig.writes()) == 1
