"""Reads stay batched: one SELECT per (system, operation, batch of at most N keys), the
keys bound as parameters and never written into the statement, on every database.
Statements are counted with SQLAlchemy's ``before_cursor_execute`` event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from sources.records import InvoiceQuery
from sources.sql import SqlSource
from tests.sources.sql.conftest import SourceMaker


class Statements:
    """Every statement a source's engine sends, with its parameters."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.sent.append((statement, parameters))

    def selects_from(self, table: str) -> list[tuple[str, Any]]:
        return [(s, p) for s, p in self.sent if f"from {table}" in s.lower()]


@pytest.fixture
def count() -> Iterator[Any]:
    listening: list[tuple[SqlSource, Statements]] = []

    def watch(source: SqlSource) -> Statements:
        statements = Statements()
        event.listen(source.engine.sync_engine, "before_cursor_execute", statements)
        listening.append((source, statements))
        return statements

    yield watch
    for source, statements in listening:
        event.remove(source.engine.sync_engine, "before_cursor_execute", statements)


def _bound(parameters: Any) -> list[Any]:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return list(values)


async def test_one_select_per_batch_of_at_most_n_keys(sql_source: SourceMaker, count: Any) -> None:
    erp = sql_source(batch_size=100)
    statements = count(erp)
    keys = ["C-1001", "C-1002"] + [f"C-{n}" for n in range(5000, 5248)]  # 250 keys
    found = await erp.customers([*keys, "C-1001"])  # a repeated key is asked once
    assert set(found) == {"C-1001", "C-1002"}
    selects = statements.selects_from("cust")
    assert len(selects) == 3  # 100 + 100 + 50
    assert sorted(len(_bound(p)) for _, p in selects) == [50, 100, 100]
    sent = [value for _, p in selects for value in _bound(p)]
    assert sorted(sent) == sorted(keys)
    for text, _ in selects:
        assert "C-1001" not in text and "C-5000" not in text  # bound, never formatted


async def test_children_of_many_parents_are_one_select(sql_source: SourceMaker, count: Any) -> None:
    erp = sql_source()
    statements = count(erp)
    grouped = await erp.invoices(["C-1001", "C-1002", "C-1003"], InvoiceQuery())
    assert len(grouped["C-1001"]) == 6 and len(grouped["C-1002"]) == 1
    assert grouped["C-1003"] == []
    assert len(statements.selects_from("inv_hdr")) == 1
    await erp.order_lines(["SO-2001", "SO-2002", "SO-3001"])
    assert len(statements.selects_from("ord_line")) == 1


async def test_an_operation_may_set_its_own_batch_size(sql_source: SourceMaker, count: Any) -> None:
    erp = sql_source()
    spec = erp.spec.model_dump()
    spec["operations"]["orders"]["batch_size"] = 2
    small = sql_source(spec=spec)
    statements = count(small)
    await small.orders(["C-1001", "C-1002", "C-1003", "C-1004", "C-1005"], None)
    assert len(statements.selects_from("ord_hdr")) == 3
