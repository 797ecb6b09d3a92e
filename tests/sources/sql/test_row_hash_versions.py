"""Row-hash versions, on SQLite, PostgreSQL and MariaDB: a spec whose database keeps no
version column declares the line columns a version is the hash of. A change made by anyone
(Keylink or the ERP itself) to one of them makes an older version stale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from sources.errors import Conflict
from sources.records import LineChanges, OrderLine
from tests.sources.sql.conftest import (
    LegacyDb,
    SourceMaker,
    overlapping,
    shipped_spec,
    table_rows,
)

HASHED = ["item_no", "descr", "qty", "unit_price", "disc_pct", "line_amt", "dlv_dt"]


def hash_spec() -> dict[str, Any]:
    """The shipped spec with row-hash versions instead of the rev_no column."""
    spec = shipped_spec()
    for name in ("order_lines", "order_lines_by_key"):
        spec["operations"][name]["fields"] = {
            **spec["operations"][name]["fields"],
            "version": "row_hash",
        }
    writes = spec["writes"]
    writes["version"] = {"hash": HASHED}
    writes["change"] = [
        "UPDATE ord_line SET qty = :quantity, unit_price = :unit_price, "
        "disc_pct = :discount_percent, line_amt = :amount, dlv_dt = :delivery_date, "
        "descr = :description WHERE line_id = :line",
        writes["change"][1],
    ]
    writes["remove"] = ["DELETE FROM ord_line WHERE line_id = :line", writes["remove"][1]]
    return spec


async def _line(source: Any, key: str) -> OrderLine:
    line: OrderLine = (await source.order_lines_by_key([key]))[key]
    return line


async def test_a_row_hash_version_changes_with_the_row_and_guards_the_edit(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source(hash_spec())
    seen = await _line(source, "1")
    assert len(seen.version) >= 16 and seen.version == (await _line(source, "1")).version
    written = await source.change_order_line(
        "1", LineChanges(quantity=Decimal(6)), version=seen.version, idempotency_key="h1"
    )
    assert written.line is not None and written.line.version not in ("", seen.version)
    assert written.line.version == (await _line(source, "1")).version
    before = await table_rows(fresh_db.admin)
    with pytest.raises(Conflict) as stale:
        await source.change_order_line(
            "1", LineChanges(quantity=Decimal(7)), version=seen.version, idempotency_key="h2"
        )
    assert isinstance(stale.value.current, OrderLine)
    assert stale.value.current.quantity == 6
    assert await table_rows(fresh_db.admin) == before


async def test_a_change_made_in_the_erp_itself_makes_the_version_stale(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source(hash_spec())
    seen = await _line(source, "2")
    async with fresh_db.admin.begin() as connection:  # someone edits in the ERP's own UI
        await connection.execute(text("UPDATE ord_line SET descr = 'Montasje' WHERE line_id = 2"))
    with pytest.raises(Conflict) as stale:
        await source.remove_order_line("2", version=seen.version, idempotency_key="h3")
    assert isinstance(stale.value.current, OrderLine)
    assert stale.value.current.description == "Montasje"
    assert "2" in await source.order_lines_by_key(["2"])


async def test_two_concurrent_edits_at_one_row_hash_exactly_one_wins(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    first, second = writable_source(hash_spec()), writable_source(hash_spec())
    seen = await _line(first, "1")
    answers = await overlapping(
        first,
        second,
        lambda: first.change_order_line(
            "1", LineChanges(description="A"), version=seen.version, idempotency_key="A"
        ),
        lambda: second.change_order_line(
            "1", LineChanges(description="B"), version=seen.version, idempotency_key="B"
        ),
    )
    conflicts = [a for a in answers if isinstance(a, Conflict)]
    assert len(conflicts) == 1 and sum(not isinstance(a, BaseException) for a in answers) == 1
