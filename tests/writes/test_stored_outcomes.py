"""Issue 17: an edit's outcome is typed, and stored in the one JSON format records have
always had, so an idempotency record written by the Keylink before it still replays.

``old_records.json`` holds records exactly as that Keylink stored them (a saved change, a
saved new line, a removal, a version conflict, a refusal of a locked order) and the answer
the first request got. Put into the link map as they were, a request with the same key
and the same input answers exactly that, with no ERP call.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from linkmap.db import create_engine
from linkmap.idempotency import IdempotencyRecord, IdempotencyStore
from resolvers.error_codes import EditCode
from resolvers.mutations.edit import Edit
from resolvers.mutations.outcome import (
    Conflicted,
    EditOutcome,
    Refused,
    Removed,
    Saved,
    Unknown,
    outcome_from_json,
    outcome_to_json,
)
from sources.money import Money
from sources.records import OrderLine, OrderStatus, SalesOrder
from tests.writes.conftest import EditRig
from tests.writes.queries import ADD, REMOVE, UPDATE
from tests.writes.test_order_line_edits import draft_order, update_input

OLD = json.loads((Path(__file__).parent / "old_records.json").read_text(encoding="utf-8"))[
    "records"
]
DOCUMENTS = {"updateOrderLine": UPDATE, "addOrderLine": ADD, "removeOrderLine": REMOVE}


async def put_done(url: str, key: str, fingerprint: str, outcome: Any, context: Any) -> None:
    """Store a finished record for principal ``dev`` as the link map would hold it."""
    engine = create_engine(url)
    try:
        store = IdempotencyStore(engine)
        claimed, _ = await store.claim("dev", key, fingerprint, context=context)
        assert claimed
        await store.complete("dev", key, outcome)
    finally:
        await engine.dispose()


async def stored(url: str, key: str) -> IdempotencyRecord:
    engine = create_engine(url)
    try:
        record = await IdempotencyStore(engine).get("dev", key)
    finally:
        await engine.dispose()
    assert record is not None
    return record


def with_key(answer: dict[str, Any], key: str) -> dict[str, Any]:
    """The captured answer with its placeholder key replaced."""
    replaced: dict[str, Any] = json.loads(json.dumps(answer).replace('"KEY"', json.dumps(key)))
    return replaced


@pytest.mark.parametrize("case", sorted(OLD))
async def test_a_record_stored_in_the_old_format_replays_the_first_answer(
    rig: EditRig, demo_linkmap_url: str, case: str
) -> None:
    old = OLD[case]
    key = f"old-{case}-{uuid.uuid4().hex[:8]}"
    await put_done(demo_linkmap_url, key, old["fingerprint"], old["outcome"], old["context"])
    response = await rig.gateway.post(
        "/graphql",
        json={"query": DOCUMENTS[old["operation"]], "variables": {**old["variables"], "key": key}},
    )
    body = response.json()
    assert body["data"] == with_key(old["answer"], key)
    assert body["extensions"]["idempotency"] == [
        {"path": old["operation"], "key": key, "replayed": True}
    ]
    assert rig.writes() == []


@pytest.mark.parametrize("case", sorted(OLD))
def test_the_stored_form_reads_back_to_the_same_json(case: str) -> None:
    old = OLD[case]
    assert outcome_to_json(outcome_from_json(old["outcome"])) == old["outcome"]
    edit = Edit(operation="update_line", system="erp", order_key="x", request={})
    edit.learn(old["context"])
    assert edit.context_json() == old["context"]


async def test_a_fresh_edit_is_stored_in_the_format_older_keylinks_read(
    rig: EditRig, demo_linkmap_url: str
) -> None:
    order, line = draft_order(rig)
    key = f"fresh-{uuid.uuid4().hex[:8]}"
    first = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="5"), "key": key})
    assert first["data"]["updateOrderLine"]["__typename"] == "OrderLineSaved"
    record = await stored(demo_linkmap_url, key)
    assert record.outcome is not None and record.context is not None
    reference = OLD["saved_update"]
    assert record.outcome.keys() == reference["outcome"].keys()
    assert record.outcome["kind"] == "saved"
    assert record.outcome["line"].keys() == reference["outcome"]["line"].keys()
    assert record.outcome["order"].keys() == reference["outcome"]["order"].keys()
    assert record.outcome["line"]["quantity"] == "5"
    assert record.context.keys() <= {*reference["context"], "erp_latency_ms"}
    assert record.context["before"]["version"] == str(line["version"])
    again = await rig.gql(UPDATE, {"input": update_input(order, line, quantity="5"), "key": key})
    assert again["data"] == first["data"]
    assert len(rig.writes()) == 1


LINE = OrderLine(
    key="8124",
    order_key="CO-1",
    product_key="P-1",
    description="Seal ring",
    quantity=Decimal("7"),
    unit_price=Money(Decimal("13.33"), "PLN"),
    discount_percent=Decimal("2.50"),
    amount=Money(Decimal("90.98"), "PLN"),
    delivery_date=None,
    version="2",
)


def saved_of(data: dict[str, Any]) -> Saved:
    """The saved outcome stored as ``data``."""
    outcome = outcome_from_json(data)
    assert isinstance(outcome, Saved)
    return outcome


FIRST = saved_of(OLD["saved_update"]["outcome"])
ORDER: SalesOrder = FIRST.order


@pytest.mark.parametrize(
    "outcome",
    [
        Saved("erp", LINE, ORDER),
        Removed("erp", LINE, ORDER),
        Conflicted("erp", "erp: line 8124 is at version 2, not 1", LINE),
        Conflicted("erp", "erp: changed", None),
        Refused(EditCode.ORDER_LOCKED, "order CO-1 is confirmed", "order"),
        Refused(EditCode.SOURCE_TIMEOUT, "erp: no answer. Nothing was written."),
        Unknown("erp did not confirm the edit. Resend with the same idempotency key."),
    ],
    ids=lambda o: type(o).__name__,
)
def test_every_outcome_survives_its_stored_form(outcome: EditOutcome) -> None:
    data = outcome_to_json(outcome)
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert outcome_from_json(data) == outcome


def test_the_order_of_a_stored_outcome_keeps_its_state() -> None:
    assert ORDER.status is OrderStatus.DRAFT
    assert ORDER.total == Money(Decimal("34568.83"), "PLN")
    assert FIRST.line.version == "2" and FIRST.line.quantity == Decimal("7")
