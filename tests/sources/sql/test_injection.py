"""Keys reach the database only as bound values: hostile keys (quotes, ``;``, comments,
wildcards, unicode look-alikes, NUL, very long) return nothing they should not and change
nothing, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import pytest

from sources.errors import SourceError
from sources.records import InvoiceQuery
from tests.sources.sql.conftest import LegacyDb, SourceMaker, row_counts

HOSTILE_KEYS = [
    "C-1001' OR '1'='1",
    "' OR 1=1 --",
    "C-1001'; DROP TABLE cust; --",
    "C-1001'); DELETE FROM inv_hdr; --",
    "C-1001' /* comment */",
    "C-1001 -- ",
    "C-1001\\' OR 1=1 #",
    '" OR ""="',
    "%",
    "C-10%",
    "C-100_",
    "*",
    "c-1001",  # another case: MariaDB compares text case-blind
    "C-1001 ",  # a trailing space: MariaDB and PostgreSQL CHAR compare it away
    " C-1001",
    "C\u20111001",  # a non-breaking hyphen
    "Ｃ-1001",  # a full-width C
    "C-1001\x00",
    "\x00' OR '1'='1",
    "C-1001\u202e",
    "😀'; --",
    "x" * 100_000,
    "C-1001' UNION SELECT cust_no, cust_name, curr, credit_lim, country, vat_no, disc_pct, "
    "pay_days FROM cust --",
]


async def test_hostile_customer_keys_find_nothing_and_change_nothing(
    sql_source: SourceMaker, legacy_db: LegacyDb
) -> None:
    erp = sql_source()
    before = await row_counts(legacy_db.admin)
    found = await erp.customers([*HOSTILE_KEYS, "C-1002"])
    assert set(found) == {"C-1002"}
    for key in HOSTILE_KEYS:  # one at a time as well: a batch of one is its own SELECT
        assert await erp.customers([key]) == {}, repr(key[:40])
    assert await row_counts(legacy_db.admin) == before


async def test_hostile_parent_keys_group_nothing(
    sql_source: SourceMaker, legacy_db: LegacyDb
) -> None:
    erp = sql_source()
    before = await row_counts(legacy_db.admin)
    invoices = await erp.invoices(HOSTILE_KEYS, InvoiceQuery())
    assert set(invoices) == set(HOSTILE_KEYS)  # every key asked, none with an invoice
    assert all(found == [] for found in invoices.values())
    orders = await erp.orders(HOSTILE_KEYS, None)
    assert all(found == [] for found in orders.values())
    lines = await erp.order_lines(["SO-2001' OR '1'='1", "1 OR 1=1", "SO-2001;--"])
    assert all(found == [] for found in lines.values())
    assert await row_counts(legacy_db.admin) == before


async def test_integer_keys_refuse_what_is_not_an_integer(
    sql_source: SourceMaker, legacy_db: LegacyDb
) -> None:
    """An integer key column (``key_type: int``): a hostile key cannot be bound at all."""
    erp = sql_source()
    before = await row_counts(legacy_db.admin)
    found = await erp.order_lines_by_key(["1", "2 OR 1=1", "3; DELETE FROM ord_line", "04", "1.0"])
    assert set(found) == {"1"}
    assert await row_counts(legacy_db.admin) == before


@pytest.mark.parametrize("key", ["C-1001' OR '1'='1", "x" * 100_000, "\x00"])
async def test_a_hostile_key_never_fails_the_read(sql_source: SourceMaker, key: str) -> None:
    erp = sql_source()
    try:
        assert await erp.suppliers([key]) == {}
    except SourceError as exc:  # pragma: no cover - the failure message, if any
        pytest.fail(f"a hostile key broke the read: {exc!r}")
