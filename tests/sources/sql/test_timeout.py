"""A statement that runs past the system's timeout is stopped by the database itself
(PostgreSQL ``statement_timeout``, MariaDB ``max_statement_time``, SQLite's progress
handler) and answered as a typed timeout; the pool stays usable afterwards."""

from __future__ import annotations

import pytest

from sources.errors import SourceTimeout
from tests.sources.sql.conftest import LegacyDb, SourceMaker

COLUMNS = "c.cust_no, c.cust_name, c.curr"
SLOW_SELECT = {
    "postgresql": f"SELECT {COLUMNS}, pg_sleep(30) AS z FROM cust c WHERE c.cust_no IN :keys",
    "mariadb": f"SELECT {COLUMNS}, SLEEP(30) AS z FROM cust c WHERE c.cust_no IN :keys",
    "sqlite": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
    "WHERE n < 10000000000) "
    f"SELECT {COLUMNS} FROM cust c WHERE c.cust_no IN :keys AND (SELECT MAX(n) FROM r) > 0",
}


async def test_a_slow_select_is_a_typed_timeout(
    sql_source: SourceMaker, legacy_db: LegacyDb
) -> None:
    fields = {"key": "cust_no", "name": "cust_name", "currency": "curr"}
    slow = {"select": SLOW_SELECT[legacy_db.backend], "fields": fields}
    fast = {
        "select": f"SELECT {COLUMNS} FROM cust c WHERE c.cust_no IN :keys",
        "fields": fields,
    }
    erp = sql_source(
        spec={"operations": {"customers": slow, "suppliers": fast}},
        timeout=0.5,
    )
    with pytest.raises(SourceTimeout) as caught:
        await erp.customers(["C-1001"])
    assert "statement timeout" in caught.value.detail  # the database stopped it
    assert "SELECT" not in str(caught.value) and "C-1001" not in str(caught.value)
    # the pool is still usable: the next read on it answers (suppliers reads cust here)
    again = await erp.read("suppliers", ["C-1002"])
    assert again["C-1002"].name == "Brenner Kühltechnik GmbH"
