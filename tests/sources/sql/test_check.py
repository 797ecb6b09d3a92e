"""Start-up validation against the live database: the shipped spec fits the legacy ERP;
a spec naming a table or a column the database lacks is told which, on every database."""

from __future__ import annotations

import pytest

from sources.sql import SqlSpecMismatch, check_sql_source, validate_sql_source
from tests.sources.sql.conftest import SourceMaker


async def test_the_shipped_spec_fits_the_legacy_erp(sql_source: SourceMaker) -> None:
    erp = sql_source()
    assert await check_sql_source(erp) == []
    await validate_sql_source(erp)


async def test_a_missing_table_and_a_missing_column_are_named(sql_source: SourceMaker) -> None:
    spec = sql_source().spec.model_dump()
    operations = spec["operations"]
    operations["suppliers"]["select"] = (
        "SELECT s.supp_no, s.supp_name, s.curr, s.country FROM supplier_master s "
        "WHERE s.supp_no IN :keys"
    )
    operations["projects"]["select"] = operations["projects"]["select"].replace(
        "p.start_dt", "p.begin_date"
    )
    erp = sql_source(spec=spec)
    problems = await check_sql_source(erp)
    assert {p.operation for p in problems} == {"suppliers", "projects"}
    by_operation = {p.operation: str(p) for p in problems}
    assert "supplier_master" in by_operation["suppliers"]
    assert "begin_date" in by_operation["projects"]
    with pytest.raises(SqlSpecMismatch) as caught:
        await validate_sql_source(erp)
    assert "supplier_master" in str(caught.value) and "begin_date" in str(caught.value)


async def test_a_column_the_field_map_reads_but_the_select_lacks(
    sql_source: SourceMaker,
) -> None:
    spec = sql_source().spec.model_dump()
    spec["operations"]["customers"]["select"] = (
        "SELECT c.cust_no, c.cust_name AS name1, c.curr FROM cust c WHERE c.cust_no IN :keys"
    )
    spec["operations"]["customers"]["fields"] = {
        "fields": {
            "key": {"path": "cust_no"},
            "name": {"path": "cust_name"},
            "currency": {"path": "curr"},
        }
    }
    problems = await check_sql_source(sql_source(spec=spec))
    assert len(problems) == 1
    assert problems[0].operation == "customers"
    assert "cust_name" in problems[0].problem


async def test_the_writes_selects_are_checked_too(sql_source: SourceMaker) -> None:
    spec = sql_source().spec.model_dump()
    spec["writes"]["lock_order"] = (
        "SELECT o.ord_status AS state FROM ord_hdr o WHERE o.ord_no = :order"
    )
    spec["writes"]["lock_line"] = "SELECT l.ord_no FROM ord_line l WHERE l.line_id = :line"
    spec["writes"]["price"] = (
        "SELECT p.price AS unit_price FROM price_list p WHERE p.item_no = :product"
    )
    problems = {p.operation: p.problem for p in await check_sql_source(sql_source(spec=spec))}
    assert set(problems) == {"writes.lock_order", "writes.lock_line", "writes.price"}
    assert "ord_status" in problems["writes.lock_order"]
    assert "order_key" in problems["writes.lock_line"]  # the column it must return
    assert "price_list" in problems["writes.price"]
