"""Invoices by their number (``invoices_by_key``, ``sources.base.InvoicesByKey``) from the
legacy ERP's database, on every database kind: one SELECT per batch of numbers, the same
invoice as the customer's invoice list holds, an unknown number absent, and a spec without
the read answering ``Unsupported`` (NOT_SUPPORTED)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml
from sqlalchemy import event

from demo.legacy_erp import SPEC
from sources.errors import Unsupported
from sources.records import InvoiceQuery, InvoiceStatus
from tests.sources.sql.conftest import SourceMaker


def spec_with_invoices_by_key() -> dict[str, Any]:
    """The shipped legacy spec, plus ``invoices_by_key``: its invoice SELECT by number."""
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    invoices = spec["operations"]["invoices"]
    select = invoices["select"].replace("WHERE i.cust_no IN :keys", "WHERE i.inv_no IN :keys")
    assert select != invoices["select"]
    spec["operations"]["invoices_by_key"] = {"select": select, "fields": invoices["fields"]}
    return spec


async def test_invoices_by_their_numbers_in_one_select(sql_source: SourceMaker) -> None:
    erp = sql_source(spec_with_invoices_by_key())
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(erp.engine.sync_engine, "before_cursor_execute", count)
    try:
        found = await erp.invoices_by_key(["I-9002", "I-9101", "I-9004", "I-0000", "I-9002"])
    finally:
        event.remove(erp.engine.sync_engine, "before_cursor_execute", count)
    assert [s for s in sent if "from inv_hdr" in s.lower()] == sent and len(sent) == 1
    assert sorted(found) == ["I-9002", "I-9004", "I-9101"]  # I-0000 is no invoice
    partly_paid, credit_note, euro = found["I-9002"], found["I-9004"], found["I-9101"]
    assert (partly_paid.number, partly_paid.customer_key) == ("I-9002", "C-1001")
    assert partly_paid.status is InvoiceStatus.OPEN and partly_paid.status_raw == "30"
    assert partly_paid.amount_due.amount == Decimal("15000.00")
    assert credit_note.is_credit_note and credit_note.total.currency == "NOK"
    assert (euro.customer_key, euro.total.currency) == ("C-1002", "EUR")
    # the very invoices the customer's list holds
    listed = await erp.invoices(["C-1001", "C-1002"], InvoiceQuery())
    by_number = {i.key: i for invoices in listed.values() for i in invoices}
    assert {k: by_number[k] for k in found} == dict(found)


async def test_a_spec_without_the_read_says_it_is_not_supported(sql_source: SourceMaker) -> None:
    erp = sql_source()  # the shipped spec gives no invoices_by_key
    assert "invoices_by_key" in erp.read_operations()  # declared: answered, never missing
    assert not erp.read_operations()["invoices_by_key"].many
    with pytest.raises(Unsupported):
        await erp.invoices_by_key(["I-9001"])
