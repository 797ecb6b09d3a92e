"""Database failures leave the SQL source as typed errors that show neither the SQL nor
any bound key; its sessions are read-only, so a SELECT cannot be turned into a write."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from demo.legacy_erp import SPEC
from sources.errors import SourceUnavailable
from sources.sql import SqlConfig, SqlSource, check_sql_source
from tests.sources.sql.conftest import LegacyDb, SourceMaker, row_counts

SECRET_KEY = "KEY-7f3a9-should-never-be-logged"
SUPPLIER_FIELDS = {"key": "supp_no", "name": "supp_name", "currency": "curr"}


async def test_a_refused_statement_shows_no_sql_and_no_key(
    sql_source: SourceMaker, caplog: pytest.LogCaptureFixture
) -> None:
    broken = {
        "select": "SELECT s.supp_no, s.supp_name, s.curr FROM supp s "
        "WHERE s.supp_no IN :keys AND s.no_such_column = 1",
        "fields": SUPPLIER_FIELDS,
    }
    erp = sql_source(spec={"operations": {"suppliers": broken}})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceUnavailable) as caught:
        await erp.suppliers([SECRET_KEY])
    error = caught.value
    shown = " ".join([str(error), error.detail, error.message])
    assert SECRET_KEY not in shown and "no_such_column" not in shown
    assert "SELECT" not in shown.upper()
    assert error.__cause__ is None and error.__suppress_context__  # nothing chained
    assert error.detail.startswith("suppliers: ")
    assert all(SECRET_KEY not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "url",
    ["postgresql+asyncpg://keylink@127.0.0.1:1/erp", "mysql+asyncmy://keylink@127.0.0.1:1/erp"],
)
async def test_an_unreachable_database_is_unavailable_and_retryable(url: str) -> None:
    config = SqlConfig(kind="erp", adapter="sql", url=url, spec=Path(SPEC), timeout=2)
    erp = SqlSource("nowhere", config)
    try:
        with pytest.raises(SourceUnavailable) as caught:
            await erp.customers(["C-1001"])
        assert caught.value.retryable
        problems = await check_sql_source(erp)
    finally:
        await erp.aclose()
    assert len(problems) == 1 and "cannot reach the database" in str(problems[0])


async def test_sessions_are_read_only(sql_source: SourceMaker, legacy_db: LegacyDb) -> None:
    erp = sql_source()
    before = await row_counts(legacy_db.admin)
    with pytest.raises(Exception, match=r"(?i)read.?only"):
        async with erp.engine.connect() as connection:
            await connection.execute(text("DELETE FROM ap_inv"))
            await connection.commit()
    assert await row_counts(legacy_db.admin) == before


async def test_a_select_cannot_smuggle_a_write(
    sql_source: SourceMaker, legacy_db: LegacyDb
) -> None:
    selects = [
        "SELECT s.supp_no, s.supp_name, s.curr FROM supp s WHERE s.supp_no IN :keys; "
        "DELETE FROM ap_inv",
    ]
    if legacy_db.backend == "postgresql":
        selects.append(
            "WITH gone AS (DELETE FROM ap_inv RETURNING ap_no) "
            "SELECT s.supp_no, s.supp_name, s.curr FROM supp s WHERE s.supp_no IN :keys"
        )
    before = await row_counts(legacy_db.admin)
    for select in selects:
        erp = sql_source(
            spec={"operations": {"suppliers": {"select": select, "fields": SUPPLIER_FIELDS}}}
        )
        with pytest.raises(SourceUnavailable):
            await erp.suppliers(["S-501"])
    assert await row_counts(legacy_db.admin) == before


async def test_a_dropped_connection_is_retryable_and_the_pool_recovers(
    postgresql_legacy: LegacyDb,
) -> None:
    """The server ends the source's pooled connection (a restart, a failover): the next
    read fails as retryable, and the one after it answers on a new connection."""
    config = SqlConfig(
        kind="erp",
        adapter="sql",
        url=postgresql_legacy.url.render_as_string(hide_password=False),
        spec=SPEC,
    )
    erp = SqlSource("legacy", config)
    try:
        assert "C-1001" in await erp.customers(["C-1001"])  # one pooled connection now
        async with postgresql_legacy.admin.connect() as admin:
            ended = await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'keylink' AND datname = current_database()"
                )
            )
            assert ended.all(), "the source holds no connection to end"
        with pytest.raises(SourceUnavailable) as caught:
            await erp.customers(["C-1001"])
        assert caught.value.retryable, caught.value.detail
        assert "C-1001" in await erp.customers(["C-1001"])
    finally:
        await erp.aclose()
