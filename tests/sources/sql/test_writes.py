"""Order-line edits through the SQL source, on SQLite, PostgreSQL and MariaDB: each edit in
one transaction with a version check, never a partial write.

The shipped legacy ERP: SO-2001 is the only draft (editable) order, with lines 1 (rev 2,
4 x 150.00) and 2 (rev 1, 2.5 x 160.00), net 1000.00, tax 25 %; SO-2002 is a quotation
with line 3. Each test gets a freshly seeded database of its own (``fresh_db``) and reads
what was written with its own connection (``admin``), never through the source under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from demo.legacy_erp import SPEC
from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from sources.base import ORDER_LINE_WRITES, declared_writes
from sources.errors import (
    Conflict,
    NotFound,
    Rejected,
    SourceError,
    SourceUnavailable,
    Unsupported,
)
from sources.records import LineChanges, LineDraft, OrderLine
from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import ResilientSource
from sources.sql import SqlSource
from tests.sources.sql.conftest import (
    LegacyDb,
    SourceMaker,
    overlapping,
    shipped_spec,
    table_rows,
)
from tests.support.servers import ServerThread
from tests.writes.queries import ADD, REMOVE, UPDATE

DRAFT_ORDER = "SO-2001"
QUOTED_ORDER = "SO-2002"


async def _row(db: LegacyDb, sql: str, **params: Any) -> dict[str, Any]:
    """One row read by the test's own connection."""
    async with db.admin.connect() as connection:
        result = await connection.execute(text(sql), params)
        row = result.mappings().one()
        return dict(row)


async def _line_row(db: LegacyDb, line_id: int) -> dict[str, Any]:
    return await _row(
        db,
        "SELECT qty, unit_price, disc_pct, line_amt, descr, rev_no FROM ord_line "
        "WHERE line_id = :id",
        id=line_id,
    )


async def _header(db: LegacyDb, order: str) -> dict[str, Any]:
    return await _row(
        db,
        "SELECT net_amt, gross_amt, line_cnt, rev_no FROM ord_hdr WHERE ord_no = :no",
        no=order,
    )


def _dec(value: Any) -> Decimal:
    """A stored number as an exact Decimal (SQLite hands back floats)."""
    return Decimal(str(value))


async def _current(source: SqlSource, key: str) -> OrderLine:
    return (await source.order_lines_by_key([key]))[key]


# -- an edit at the current version lands ----------------------------------------------------


async def test_a_change_at_the_current_version_lands_with_the_order_totals(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    line = await _current(source, "1")
    written = await source.change_order_line(
        "1",
        LineChanges(quantity=Decimal(5), discount_percent=Decimal("10")),
        version=line.version,
        idempotency_key="k-1",
    )
    assert written.line is not None and written.line.version != line.version
    stored = await _line_row(fresh_db, 1)
    assert _dec(stored["qty"]) == 5 and _dec(stored["disc_pct"]) == 10
    assert _dec(stored["line_amt"]) == Decimal("675.00")  # 5 x 150 less 10 %
    assert int(stored["rev_no"]) == 3
    header = await _header(fresh_db, DRAFT_ORDER)
    assert _dec(header["net_amt"]) == Decimal("1075.00")  # 675 + 400
    assert _dec(header["gross_amt"]) == Decimal("1343.75")
    assert written.order.total.amount == Decimal("1343.75")
    assert (await _current(source, "1")).version == written.line.version


async def test_an_added_line_is_priced_from_the_items_price_and_counted(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    written = await source.add_order_line(
        DRAFT_ORDER, LineDraft(product_key="ITM-20", quantity=Decimal(2)), idempotency_key="a"
    )
    assert written.line is not None
    assert written.line.unit_price.amount == Decimal("8000")
    stored = await _line_row(fresh_db, int(written.line.key))
    assert _dec(stored["line_amt"]) == Decimal("16000.00")
    header = await _header(fresh_db, DRAFT_ORDER)
    assert int(header["line_cnt"]) == 3 and _dec(header["net_amt"]) == Decimal("17000.00")


async def test_a_removed_line_is_gone_and_the_totals_follow(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    line = await _current(source, "2")
    removed = await source.remove_order_line("2", version=line.version, idempotency_key="r")
    assert removed.line is None
    assert "2" not in await source.order_lines_by_key(["2"])
    header = await _header(fresh_db, DRAFT_ORDER)
    assert int(header["line_cnt"]) == 1 and _dec(header["net_amt"]) == Decimal("600.00")


async def test_a_preview_prices_as_the_edit_would_and_keeps_nothing(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    before = await table_rows(fresh_db.admin)
    added = await source.preview_order_line(
        DRAFT_ORDER, LineDraft(product_key="ITM-10", quantity=Decimal(3))
    )
    changed = await source.preview_line_change("1", LineChanges(quantity=Decimal(1)))
    assert added.line is not None and added.line.amount.amount == Decimal("450")
    assert added.order.total_untaxed.amount == Decimal("1450")
    assert changed.line is not None and changed.line.amount.amount == Decimal("150")
    assert changed.order.total_untaxed.amount == Decimal("550")
    assert await table_rows(fresh_db.admin) == before


# -- refusals: nothing written ----------------------------------------------------------------


async def test_a_stale_version_is_a_conflict_with_the_current_line_and_nothing_written(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    seen = await _current(source, "1")
    first = await source.change_order_line(
        "1", LineChanges(description="first"), version=seen.version, idempotency_key="1"
    )
    assert first.line is not None
    before = await table_rows(fresh_db.admin)
    for attempt in ("change", "remove"):
        with pytest.raises(Conflict) as refused:
            if attempt == "change":
                await source.change_order_line(
                    "1",
                    LineChanges(quantity=Decimal(9)),
                    version=seen.version,
                    idempotency_key="2",
                )
            else:
                await source.remove_order_line("1", version=seen.version, idempotency_key="3")
        current = refused.value.current
        assert isinstance(current, OrderLine), attempt
        assert current.version == first.line.version and current.description == "first"
        assert not refused.value.maybe_applied
    assert await table_rows(fresh_db.admin) == before


async def test_an_order_not_in_an_editable_state_is_order_locked(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    line = await _current(source, "3")  # of the quotation SO-2002
    before = await table_rows(fresh_db.admin)
    attempts = {
        "change": source.change_order_line(
            "3", LineChanges(quantity=Decimal(2)), version=line.version, idempotency_key="l"
        ),
        "remove": source.remove_order_line("3", version=line.version, idempotency_key="l"),
        "add": source.add_order_line(
            QUOTED_ORDER, LineDraft(product_key="ITM-10", quantity=Decimal(1)), idempotency_key="l"
        ),
        "preview": source.preview_line_change("3", LineChanges(quantity=Decimal(2))),
    }
    for name, attempt in attempts.items():
        with pytest.raises(Rejected) as refused:
            await attempt
        assert refused.value.code == "ORDER_LOCKED", name
    assert await table_rows(fresh_db.admin) == before


async def test_a_missing_line_or_order_is_not_found(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    before = await table_rows(fresh_db.admin)
    with pytest.raises(NotFound):
        await source.change_order_line(
            "999", LineChanges(description="x"), version="1", idempotency_key="m"
        )
    with pytest.raises(NotFound):
        await source.remove_order_line("999", version="1", idempotency_key="m")
    with pytest.raises(NotFound):
        await source.preview_line_change("999", LineChanges(description="x"))
    with pytest.raises(NotFound):
        await source.add_order_line(
            "SO-9999", LineDraft(product_key="ITM-10", quantity=Decimal(1)), idempotency_key="m"
        )
    assert await table_rows(fresh_db.admin) == before


async def test_an_unknown_product_without_a_price_is_refused(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    before = await table_rows(fresh_db.admin)
    with pytest.raises(Rejected) as refused:
        await source.add_order_line(
            DRAFT_ORDER, LineDraft(product_key="NO-SUCH", quantity=Decimal(1)), idempotency_key="p"
        )
    assert refused.value.code == "BAD_INPUT" and refused.value.field == "product"
    assert await table_rows(fresh_db.admin) == before


# -- never a partial write ---------------------------------------------------------------------


def _failing_second_statement(edit: str) -> dict[str, Any]:
    """The shipped spec, with ``edit``'s header statement replaced by one the database
    refuses (a column it does not have): the line statement has run when it fails."""
    spec = shipped_spec()
    statements = list(spec["writes"][edit])
    statements[1] = "UPDATE ord_hdr SET no_such_column = 1 WHERE ord_no = :order"
    spec["writes"][edit] = statements
    return spec


@pytest.mark.parametrize("edit", ["add", "change", "remove"])
async def test_a_statement_failing_after_the_line_was_written_leaves_nothing_written(
    fresh_db: LegacyDb, writable_source: SourceMaker, edit: str
) -> None:
    source = writable_source(_failing_second_statement(edit))
    line = await _current(source, "1")
    before = await table_rows(fresh_db.admin)
    with pytest.raises(SourceError) as failed:
        if edit == "add":
            await source.add_order_line(
                DRAFT_ORDER,
                LineDraft(product_key="ITM-10", quantity=Decimal(1)),
                idempotency_key="f",
            )
        elif edit == "change":
            await source.change_order_line(
                "1", LineChanges(quantity=Decimal(7)), version=line.version, idempotency_key="f"
            )
        else:
            await source.remove_order_line("1", version=line.version, idempotency_key="f")
    assert not failed.value.maybe_applied, "it was rolled back: nothing was applied"
    assert "no_such_column" not in str(failed.value)  # no SQL in the error
    assert await table_rows(fresh_db.admin) == before


async def test_a_failed_commit_says_the_outcome_is_unknown(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    line = await _current(source, "1")
    before = await table_rows(fresh_db.admin)

    async def lost(_self: AsyncConnection) -> None:
        raise ConnectionResetError("the connection broke during COMMIT")

    with (
        mock.patch.object(AsyncConnection, "commit", lost),  # the fault, injected
        pytest.raises(SourceError) as failed,
    ):
        await source.change_order_line(
            "1", LineChanges(quantity=Decimal(7)), version=line.version, idempotency_key="c"
        )
    assert failed.value.maybe_applied
    assert await table_rows(fresh_db.admin) == before  # the COMMIT never went out


async def test_two_concurrent_edits_at_one_version_exactly_one_wins(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    first, second = writable_source(), writable_source()  # two pools, two connections
    seen = await _current(first, "1")
    answers = await overlapping(
        first,
        second,
        lambda: first.change_order_line(
            "1", LineChanges(description="from A"), version=seen.version, idempotency_key="A"
        ),
        lambda: second.change_order_line(
            "1", LineChanges(description="from B"), version=seen.version, idempotency_key="B"
        ),
    )
    won = [a for a in answers if not isinstance(a, BaseException)]
    lost = [a for a in answers if isinstance(a, BaseException)]
    assert len(won) == 1 and len(lost) == 1, answers
    assert isinstance(lost[0], Conflict), lost[0]
    stored = await _line_row(fresh_db, 1)
    assert int(stored["rev_no"]) == int(seen.version) + 1  # written once
    assert won[0].line is not None and stored["descr"] == won[0].line.description
    assert isinstance(lost[0].current, OrderLine)
    assert lost[0].current.description == won[0].line.description


# -- injection ---------------------------------------------------------------------------------

HOSTILE = [
    "1 OR 1=1",
    "1; DELETE FROM ord_line",
    "1' OR '1'='1",
    "1 -- ",
    "1/**/OR/**/1=1",
    "１",  # a fullwidth digit
    "1\x00",
    "SO-2001' OR '1'='1",
    "SO-2001; DROP TABLE ord_line; --",
]


async def test_injection_through_keys_and_values_changes_nothing_it_should_not(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    before = await table_rows(fresh_db.admin)
    for key in HOSTILE:
        with pytest.raises((NotFound, Conflict)):
            await source.change_order_line(
                key, LineChanges(description="pwned"), version="2", idempotency_key="i"
            )
        with pytest.raises((NotFound, Conflict)):
            await source.remove_order_line(key, version="2 OR 1=1", idempotency_key="i")
        with pytest.raises(NotFound):
            await source.add_order_line(
                key, LineDraft(product_key="ITM-10", quantity=Decimal(1)), idempotency_key="i"
            )
    with pytest.raises(Conflict):  # a hostile version matches nothing
        await source.change_order_line(
            "1", LineChanges(description="pwned"), version="2 OR 1=1", idempotency_key="i"
        )
    assert await table_rows(fresh_db.admin) == before
    hostile_text = "'); DELETE FROM ord_line; -- ünï \\ \" `"
    line = await _current(source, "1")
    written = await source.change_order_line(
        "1", LineChanges(description=hostile_text), version=line.version, idempotency_key="t"
    )
    assert written.line is not None and written.line.description == hostile_text
    assert (await _line_row(fresh_db, 1))["descr"] == hostile_text  # stored as text, as is
    after = await table_rows(fresh_db.admin)
    assert {t: len(rows) for t, rows in after.items()} == {
        t: len(rows) for t, rows in before.items()
    }


# -- what a source declares --------------------------------------------------------------------


async def test_a_read_only_source_declares_no_writes_and_edits_nothing(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source(read_only=True)
    assert declared_writes(source) == frozenset()
    line = await _current(source, "1")
    before = await table_rows(fresh_db.admin)
    with pytest.raises(Unsupported):
        await source.change_order_line(
            "1", LineChanges(description="x"), version=line.version, idempotency_key="ro"
        )
    with pytest.raises(Unsupported):
        await source.preview_order_line(
            DRAFT_ORDER, LineDraft(product_key="ITM-10", quantity=Decimal(1))
        )
    assert await table_rows(fresh_db.admin) == before


async def test_a_spec_without_a_price_select_refuses_previews_of_new_lines(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    spec = shipped_spec()
    del spec["writes"]["price"]
    source = writable_source(spec)
    with pytest.raises(Unsupported):
        await source.preview_order_line(
            DRAFT_ORDER, LineDraft(product_key="ITM-10", quantity=Decimal(1))
        )
    added = await source.add_order_line(  # with its price given, a line is still added
        DRAFT_ORDER,
        LineDraft(product_key="ITM-10", quantity=Decimal(1), unit_price=Decimal("99.50")),
        idempotency_key="np",
    )
    assert added.line is not None and added.line.amount.amount == Decimal("99.5")


async def test_writes_are_declared_so_resilience_sends_them_once(
    fresh_db: LegacyDb, writable_source: SourceMaker
) -> None:
    source = writable_source()
    assert declared_writes(source) == ORDER_LINE_WRITES
    guarded = ResilientSource(
        source,
        breaker=CircuitBreaker(source.name),
        bulkhead=Bulkhead(),
        budget=RetryBudget(),
    )
    line = await _current(source, "1")
    assert source.editor is not None

    class Unreachable:
        """The fault: a database that refuses every connection (counted)."""

        calls = 0

        async def connect(self) -> Any:
            self.calls += 1
            raise ConnectionRefusedError("injected: the database refused the connection")

    unreachable = Unreachable()
    with (
        mock.patch.object(source.editor, "engine", unreachable),
        pytest.raises(SourceUnavailable) as failed,
    ):
        await guarded.change_order_line(
            "1", LineChanges(description="x"), version=line.version, idempotency_key="w"
        )
    assert failed.value.retryable  # a read failing so would be retried; a write is not
    assert unreachable.calls == 1


# -- end to end: a Keylink over loopback -------------------------------------------------------


@pytest.fixture
async def keylink(fresh_db: LegacyDb, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A Keylink on loopback whose ERP "legacy" is the fresh database, writable."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    settings = load_settings(
        overrides={
            "linkmap": {"url": url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "systems": {
                "legacy": {
                    "kind": "erp",
                    "adapter": "sql",
                    "url": fresh_db.url.render_as_string(hide_password=False),
                    "spec": str(SPEC),
                    "read_only": False,
                }
            },
        }
    )
    server = ServerThread(create_app(settings))
    await asyncio.to_thread(server.start)
    roles = {"X-Keylink-Roles": "sales"}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=roles) as client:
            yield client
    finally:
        await asyncio.to_thread(server.stop)


async def _mutate(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body["errors"]
    return body


async def test_an_edit_through_graphql_lands_once_per_idempotency_key(
    fresh_db: LegacyDb, keylink: httpx.AsyncClient
) -> None:
    order = {"system": "legacy", "key": DRAFT_ORDER}
    change = {"order": order, "line": "1", "expectedVersion": "2", "quantity": "6"}
    first = await _mutate(keylink, UPDATE, input=change, key="gql-1")
    saved = first["data"]["updateOrderLine"]
    assert saved["__typename"] == "OrderLineSaved", saved
    assert saved["line"]["version"] == "3" and Decimal(saved["line"]["quantity"]) == 6
    assert Decimal(saved["order"]["totalUntaxed"]["amount"]) == Decimal("1300")  # 900 + 400
    again = await _mutate(keylink, UPDATE, input=change, key="gql-1")  # a resend
    assert again["data"]["updateOrderLine"] == saved
    assert again["extensions"]["idempotency"][0]["replayed"] is True
    stored = await _line_row(fresh_db, 1)
    assert int(stored["rev_no"]) == 3 and _dec(stored["qty"]) == 6  # written once
    stale = await _mutate(keylink, UPDATE, input={**change, "quantity": "8"}, key="gql-2")
    conflict = stale["data"]["updateOrderLine"]
    assert conflict["__typename"] == "VersionConflict" and conflict["code"] == "CONFLICT"
    assert conflict["current"]["version"] == "3"
    assert int((await _line_row(fresh_db, 1))["rev_no"]) == 3
    removed = await _mutate(
        keylink, REMOVE, input={"order": order, "line": "2", "expectedVersion": "1"}, key="gql-3"
    )
    assert removed["data"]["removeOrderLine"]["__typename"] == "OrderLineRemoved"
    assert int((await _header(fresh_db, DRAFT_ORDER))["line_cnt"]) == 1
    locked = await _mutate(
        keylink,
        UPDATE,
        input={
            "order": {"system": "legacy", "key": QUOTED_ORDER},
            "line": "3",
            "expectedVersion": "1",
            "quantity": "2",
        },
        key="gql-4",
    )
    assert locked["data"]["updateOrderLine"]["code"] == "ORDER_LOCKED"
    added = await _mutate(
        keylink, ADD, input={"order": order, "product": "ITM-11", "quantity": "3"}, key="gql-5"
    )
    line = added["data"]["addOrderLine"]["line"]
    assert Decimal(line["amount"]["amount"]) == Decimal("480")  # 3 x 160.00, the item price
    assert int((await _header(fresh_db, DRAFT_ORDER))["line_cnt"]) == 2
