"""What the SQL source reads from the legacy ERP (demo/legacy_erp), on SQLite, PostgreSQL
and MariaDB alike: the ERP's numeric codes in Keylink's states, exact money in its
currency, awkward invoices kept as they are, and NOT_SUPPORTED for what the spec lacks."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from sources.errors import Unsupported
from sources.money import Money
from sources.records import (
    EntryQuery,
    InvoiceQuery,
    InvoiceStatus,
    OrderStatus,
    ProjectStatus,
    PurchaseOrderStatus,
)
from tests.sources.sql.conftest import SourceMaker


async def test_customers_by_key_with_exact_money(sql_source: SourceMaker) -> None:
    erp = sql_source()
    found = await erp.customers(["C-1001", "C-1002", "C-1003", "C-404"])
    assert set(found) == {"C-1001", "C-1002", "C-1003"}  # an unknown key is absent
    fjord = found["C-1001"]
    assert fjord.name == "Fjordline Maskin AS"
    assert fjord.credit_limit == Money(Decimal("250000.00"), "NOK")
    assert fjord.discount_percent == Decimal("2.5")
    assert fjord.payment_terms_days == 30
    assert found["C-1002"].name == "Brenner Kühltechnik GmbH"
    assert found["C-1002"].credit_limit == Money(Decimal("40000"), "EUR")
    assert found["C-1003"].name == "O'Neill & Sons Ltd"
    assert found["C-1003"].credit_limit is None


async def test_invoices_keep_their_awkward_states(sql_source: SourceMaker) -> None:
    erp = sql_source()
    invoices = {i.key: i for i in (await erp.invoices(["C-1001"], InvoiceQuery()))["C-1001"]}
    assert {k: i.status for k, i in invoices.items()} == {
        "I-9001": InvoiceStatus.PAID,
        "I-9002": InvoiceStatus.OPEN,  # 30: partly paid, still open
        "I-9003": InvoiceStatus.OPEN,
        "I-9004": InvoiceStatus.OPEN,  # the credit note
        "I-9005": InvoiceStatus.DRAFT,
        "I-9006": InvoiceStatus.CANCELLED,
    }
    partly = invoices["I-9002"]
    assert partly.total == Money(Decimal("20000.00"), "NOK")
    assert partly.amount_due == Money(Decimal("15000.00"), "NOK")
    assert partly.is_overdue(date(2026, 12, 6))
    credit = invoices["I-9004"]
    assert credit.is_credit_note and not credit.is_overdue(date(2026, 12, 6))
    assert credit.amount_due == Money(Decimal("-1250"), "NOK")
    assert not invoices["I-9005"].is_issued and invoices["I-9005"].due_date is None
    assert invoices["I-9001"].order_key == "SO-2004"
    assert invoices["I-9001"].project_key == "P-77"


async def test_invoice_query_and_other_currency(sql_source: SourceMaker) -> None:
    erp = sql_source()
    only_drafts = await erp.invoices(["C-1001", "C-1002"], InvoiceQuery(InvoiceStatus.DRAFT))
    assert [i.key for i in only_drafts["C-1001"]] == ["I-9005"]
    assert only_drafts["C-1002"] == []
    october = await erp.invoices(
        ["C-1001"], InvoiceQuery(issued_from=date(2026, 10, 1), issued_to=date(2026, 10, 31))
    )
    assert sorted(i.key for i in october["C-1001"]) == ["I-9002", "I-9003", "I-9004"]
    euro = await erp.invoices(["C-1002"], InvoiceQuery())
    assert [i.total for i in euro["C-1002"]] == [Money(Decimal("1190.00"), "EUR")]
    by_project = await erp.project_invoices(["P-77", "P-80", "P-99"])
    assert sorted(i.key for i in by_project["P-77"]) == ["I-9001", "I-9002"]
    assert [i.key for i in by_project["P-80"]] == ["I-9101"]
    assert by_project["P-99"] == []


async def test_order_codes_translate_and_an_unmapped_one_stays_unknown(
    sql_source: SourceMaker,
) -> None:
    erp = sql_source()
    orders = {o.key: o for o in (await erp.orders(["C-1001"], None))["C-1001"]}
    assert {k: o.status for k, o in orders.items()} == {
        "SO-2001": OrderStatus.DRAFT,
        "SO-2002": OrderStatus.QUOTED,
        "SO-2003": OrderStatus.CONFIRMED,  # 40, in production
        "SO-2004": OrderStatus.INVOICED,
        "SO-2005": OrderStatus.CANCELLED,
        "SO-2006": OrderStatus.UNKNOWN,  # 55: not in the spec's table
    }
    assert orders["SO-2006"].status_raw == "55"
    assert orders["SO-2003"].status_raw == "40"
    assert orders["SO-2001"].total == Money(Decimal("1250.00"), "NOK")
    assert orders["SO-2001"].version == "3" and orders["SO-2001"].line_count == 2
    # a status filter never drops an order in an unknown state
    open_only = await erp.orders(["C-1001"], frozenset({OrderStatus.DRAFT}))
    assert sorted(o.key for o in open_only["C-1001"]) == ["SO-2001", "SO-2006"]


async def test_order_lines_take_the_order_currency(sql_source: SourceMaker) -> None:
    erp = sql_source()
    lines = await erp.order_lines(["SO-2001", "SO-3001", "SO-404"])
    assert sorted(line.key for line in lines["SO-2001"]) == ["1", "2"]
    verdichter = lines["SO-3001"][0]
    assert verdichter.unit_price == Money(Decimal("8421.04"), "EUR")
    assert verdichter.amount == Money(Decimal("7999.99"), "EUR")
    assert verdichter.discount_percent == Decimal("5")
    assert verdichter.quantity == Decimal("1")
    assert verdichter.delivery_date == date(2027, 1, 10)
    assert lines["SO-404"] == []


async def test_orders_and_lines_by_their_own_keys(sql_source: SourceMaker) -> None:
    erp = sql_source()
    orders = await erp.sales_orders(["SO-2003", "SO-3001", "SO-404"])
    assert set(orders) == {"SO-2003", "SO-3001"}
    assert orders["SO-3001"].total == Money(Decimal("9519.99"), "EUR")
    assert orders["SO-3001"].status is OrderStatus.CONFIRMED
    lines = await erp.order_lines_by_key(["4", "2", "999", "line-1"])
    assert set(lines) == {"2", "4"}
    assert lines["2"].order_key == "SO-2001" and lines["2"].delivery_date is None
    assert lines["2"].quantity == Decimal("2.5") and lines["2"].version == "1"


async def test_projects_suppliers_purchases_payables(sql_source: SourceMaker) -> None:
    erp = sql_source()
    projects = await erp.projects(["P-77", "P-78", "P-80"])
    assert projects["P-77"].budget == Money(Decimal("1200000.00"), "NOK")
    assert projects["P-77"].start_date == date(2026, 2, 1)
    assert projects["P-78"].status is ProjectStatus.OPEN and projects["P-78"].budget is None
    assert projects["P-80"].status is ProjectStatus.CLOSED
    assert projects["P-80"].budget == Money(Decimal("80000"), "EUR")
    of_customer = await erp.customer_projects(["C-1001", "C-1003"])
    assert sorted(p.key for p in of_customer["C-1001"]) == ["P-77", "P-78"]
    assert of_customer["C-1003"] == []
    suppliers = await erp.suppliers(["S-501", "S-502"])
    assert suppliers["S-501"].name == "Stålverk Nord AS"
    purchases = await erp.purchase_orders(["S-501", "S-502"], open_only=False)
    assert {p.key: p.status for p in purchases["S-501"]} == {
        "PO-401": PurchaseOrderStatus.OPEN,
        "PO-402": PurchaseOrderStatus.RECEIVED,
    }
    assert purchases["S-502"][0].total == Money(Decimal("3000"), "SEK")
    open_purchases = await erp.purchase_orders(["S-501", "S-502"], open_only=True)
    assert [p.key for p in open_purchases["S-501"]] == ["PO-401"]
    assert open_purchases["S-502"] == []
    payables = await erp.payables(["S-501"], open_only=True)
    assert [(p.key, p.amount_due) for p in payables["S-501"]] == [
        ("AP-72", Money(Decimal("45000"), "NOK"))
    ]


async def test_what_the_spec_lacks_is_unsupported_not_empty(sql_source: SourceMaker) -> None:
    erp = sql_source()
    with pytest.raises(Unsupported):
        await erp.accounts(["C-1001"])
    with pytest.raises(Unsupported):
        await erp.time_entries(["C-1001"], EntryQuery())
    trimmed = sql_source(
        operations={"customers": erp.spec.operations["customers"].model_dump()}, writes=None
    )
    with pytest.raises(Unsupported):
        await trimmed.invoices(["C-1001"], InvoiceQuery())


async def test_an_empty_batch_asks_nothing(sql_source: SourceMaker) -> None:
    erp = sql_source()
    assert await erp.customers([]) == {}
    assert await erp.orders([], None) == {}


async def test_the_systems_translation_tables_extend_and_override_the_spec(
    sql_source: SourceMaker,
) -> None:
    """``translations:`` in the system's config apply to the SQL source as to every other
    adapter: a code the spec leaves out gets a state, a code it maps gets another."""
    erp = sql_source(translations={"order_status": {"55": "CONFIRMED", "40": "QUOTED"}})
    orders = {o.key: o for o in (await erp.orders(["C-1001"], None))["C-1001"]}
    assert (orders["SO-2006"].status, orders["SO-2006"].status_raw) == (
        OrderStatus.CONFIRMED,
        "55",
    )
    assert (orders["SO-2003"].status, orders["SO-2003"].status_raw) == (OrderStatus.QUOTED, "40")
    assert orders["SO-2001"].status is OrderStatus.DRAFT  # codes the table does not name


async def test_an_unmapped_order_code_is_logged_once(
    sql_source: SourceMaker, caplog: pytest.LogCaptureFixture
) -> None:
    erp = sql_source()
    caplog.set_level(logging.WARNING, logger="sources.sql.source")
    for _ in range(3):
        await erp.orders(["C-1001"], None)
    notes = [r.getMessage() for r in caplog.records if "'55'" in r.getMessage()]
    assert len(notes) == 1 and "UNKNOWN" in notes[0]


async def test_an_unmapped_invoice_code_is_unknown_with_its_raw_value(
    sql_source: SourceMaker, caplog: pytest.LogCaptureFixture
) -> None:
    """An invoice whose code the spec's table lacks is answered as UNKNOWN with the ERP's
    own code (never dropped, never guessed, never failing the other invoices), counted in
    no figure, and logged once."""
    spec = sql_source().spec.model_dump()
    status = spec["operations"]["invoices"]["fields"]["fields"]["status"]
    del status["map"]["70"]
    erp = sql_source(spec=spec)
    caplog.set_level(logging.WARNING, logger="sources.sql.source")
    for _ in range(2):
        found = {i.key: i for i in (await erp.invoices(["C-1001"], InvoiceQuery()))["C-1001"]}
    paid = found["I-9001"]
    assert paid.status is InvoiceStatus.UNKNOWN and paid.status_raw == "70"
    assert not paid.is_issued and not paid.is_open
    assert found["I-9003"].status is InvoiceStatus.OPEN and found["I-9003"].status_raw == "20"
    assert len(found) == 6
    notes = [r.getMessage() for r in caplog.records if "'70'" in r.getMessage()]
    assert len(notes) == 1 and "UNKNOWN" in notes[0]
