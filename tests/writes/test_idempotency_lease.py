"""Issue 16, in one process: the lease of an in-progress idempotency record.

The record of an earlier attempt is put in the link map directly, as that attempt's
gateway left it (the kill itself is in tests/scaleout/test_killed_mid_write.py):

* still within its lease: a duplicate waits, then answers ``IN_PROGRESS`` before the
  request deadline, not a 504 at the deadline;
* abandoned before it sent its write (its gateway died during the pre-checks): the retry
  sends the write, once, and the audit shows the abandoned attempt and the applied edit.

And the retry of an edit whose outcome was unknown: sent once when the re-read shows it did
not land (a change: a late first write would conflict on the version), but an add only
once a lease has passed (nothing would stop a late first write from adding a second line).
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import strawberry

from linkmap.db import create_engine
from linkmap.idempotency import IdempotencyStore
from resolvers.mutations.engine import fingerprint
from resolvers.mutations.order_lines import _update_plan
from resolvers.mutations.types import OrderRef, UpdateOrderLineInput
from tests.writes.conftest import EditRig
from tests.writes.queries import ADD, AUDIT, UPDATE
from tests.writes.test_order_line_edits import draft_order, update_input

DEADLINE = 5.0
"""The write rig's request deadline (tests/writes/conftest.py)."""


async def left_behind(
    linkmap_url: str,
    key: str,
    order: dict[str, Any],
    line: dict[str, Any],
    quantity: str,
    lease: timedelta | None = None,
) -> None:
    """The record an attempt at changing ``line`` to ``quantity`` claimed as principal
    ``dev`` before its gateway stopped, before it sent anything."""
    build, _ = _update_plan(
        UpdateOrderLineInput(
            order=OrderRef(system="erp", key=order["number"]),
            line=strawberry.ID(str(line["id"])),
            expected_version=str(line["version"]),
            quantity=Decimal(quantity),
        )
    )
    edit = build("erp", order["number"])
    engine = create_engine(linkmap_url)
    try:
        store = IdempotencyStore(engine) if lease is None else IdempotencyStore(engine, lease=lease)
        claimed, _ = await store.claim(
            "dev",
            key,
            fingerprint(edit.operation, edit.request),
            context=edit.context_json(),  # phase "claimed": nothing sent yet
        )
        assert claimed
    finally:
        await engine.dispose()


async def test_a_duplicate_of_a_live_attempt_answers_in_progress_before_the_deadline(
    rig: EditRig, demo_linkmap_url: str
) -> None:
    order, line = draft_order(rig)
    await left_behind(demo_linkmap_url, "lease-held-1", order, line, "4")
    started = time.monotonic()
    response = await rig.gateway.post(
        "/graphql",
        json={
            "query": UPDATE,
            "variables": {"input": update_input(order, line, quantity="4"), "key": "lease-held-1"},
        },
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text  # not a 504 at the deadline
    result = response.json()["data"]["updateOrderLine"]
    assert result["code"] == "IN_PROGRESS", result
    assert elapsed < DEADLINE
    assert rig.writes() == []


async def test_an_attempt_abandoned_before_its_write_is_sent_once_by_the_retry(
    rig: EditRig, demo_linkmap_url: str
) -> None:
    order, line = draft_order(rig)
    await left_behind(
        demo_linkmap_url, "lease-abandoned-1", order, line, "4", lease=timedelta(milliseconds=1)
    )
    variables = {"input": update_input(order, line, quantity="4"), "key": "lease-abandoned-1"}
    body = await rig.gql(UPDATE, variables)
    result = body["data"]["updateOrderLine"]
    assert result["__typename"] == "OrderLineSaved", result
    assert Decimal(result["line"]["quantity"]) == Decimal(4)
    assert body["extensions"]["idempotency"][0]["replayed"] is False  # this request wrote
    assert [w["idempotency_key"] for w in rig.writes()] == ["lease-abandoned-1"]
    again = await rig.gql(UPDATE, variables)
    assert again["data"] == body["data"] and len(rig.writes()) == 1

    trail = await rig.gql(AUDIT, {"order": {"system": "erp", "key": order["number"]}})
    events = [e for e in trail["data"]["auditTrail"] if e["idempotencyKey"] == "lease-abandoned-1"]
    assert [(e["outcome"], e["replay"]) for e in reversed(events)] == [
        ("ABANDONED", False),
        ("APPLIED", False),
        ("APPLIED", True),
    ]


async def test_a_retry_sends_an_edit_whose_timed_out_attempt_never_landed(rig: EditRig) -> None:
    order, line = draft_order(rig)
    # the ERP holds the write unanswered and unapplied until the gateway gives up (1 s)
    rig.upstreams.knobs["erp"].update(fault="timeout", paths=[f"/order-lines/{line['id']}"])
    variables = {"input": update_input(order, line, quantity="9"), "key": "lease-never-landed"}
    first = await rig.gql(UPDATE, variables)
    rig.upstreams.knobs["erp"].reset()
    assert first["data"]["updateOrderLine"]["__typename"] == "OutcomeUnknown", first
    assert rig.writes() == []
    # the retry re-reads: the line is unchanged, so the edit is sent now, once
    again = await rig.gql(UPDATE, variables)
    result = again["data"]["updateOrderLine"]
    assert result["__typename"] == "OrderLineSaved", result
    assert Decimal(result["line"]["quantity"]) == Decimal(9)
    assert [w["idempotency_key"] for w in rig.writes()] == ["lease-never-landed"]
    assert (await rig.gql(UPDATE, variables))["data"] == again["data"]
    assert len(rig.writes()) == 1


async def test_an_add_whose_outcome_is_unknown_is_not_sent_again_while_it_may_still_land(
    rig: EditRig,
) -> None:
    order, _ = draft_order(rig)
    product = next(p for p in rig.upstreams.dataset.products.values() if p.prices)
    rig.upstreams.knobs["erp"].update(fault="timeout", paths=[f"/orders/{order['number']}/lines"])
    ref = {"system": "erp", "key": order["number"]}
    variables = {
        "input": {"order": ref, "product": product.sku, "quantity": "2"},
        "key": "lease-add-1",
    }
    first = await rig.gql(ADD, variables)
    rig.upstreams.knobs["erp"].reset()
    assert first["data"]["addOrderLine"]["__typename"] == "OutcomeUnknown", first
    # a new line has no version that would make a late first write fail: no second send
    # until a lease (60 s) has passed since the first attempt gave up
    again = await rig.gql(ADD, variables)
    result = again["data"]["addOrderLine"]
    assert result["__typename"] == "OutcomeUnknown", result
    assert "may still reach the ERP" in result["message"]
    assert rig.writes() == []
