"""The shared contract (tests/support/contract.py) for the SQL source over the legacy ERP
schema, on SQLite, PostgreSQL and MariaDB, each seeded with the same business facts as
the other adapters (tests/support/contract_sql.py).

The SQL source here may write (``read_only: false``): the order-line edit checks run. Two
checks are skipped with their reason: both work through an adapter's HTTP transport, which
a SQL source does not have (tests/sources/sql/test_writes.py shows a failing SQL write sent
once through resilience and a failed one rolled back whole). Every other check, present
and future, runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

from tests.support import contract_sql
from tests.support.contract import CHECKS, NotOffered, Seeded, System
from tests.support.contract_gateway import check_unsupported_reads_say_so
from tests.support.mariadb import (
    create_mariadb_database,
    drop_mariadb_database,
    find_mariadb_server,
)
from tests.support.postgres import create_pg_database, drop_pg_database

NOT_YET = {
    "write_not_retried": "a SQL source has no HTTP transport to fail writes through "
    "(its failed writes roll back whole: tests/sources/sql/test_writes.py)",
    "garbage_upstream": "a SQL source has no HTTP transport to feed garbage through",
}
BACKENDS = ("sqlite", "postgresql", "mariadb")


@pytest.fixture(scope="session")
def contract_sql_today() -> date:
    """The day the facts are made for (one per session)."""
    return date.today()


@pytest.fixture(scope="session")
async def contract_sqlite(
    tmp_path_factory: pytest.TempPathFactory, contract_sql_today: date
) -> tuple[URL, Seeded]:
    """The facts in a SQLite file."""
    url = make_url(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('contract-sql') / 'erp.db'}")
    return url, await contract_sql.seed_facts(url, contract_sql_today)


@pytest.fixture(scope="session")
async def contract_postgresql(
    postgres_server: URL, contract_sql_today: date
) -> AsyncIterator[tuple[URL, Seeded]]:
    """The facts in a throwaway PostgreSQL database."""
    url = await create_pg_database(postgres_server)
    try:
        yield url, await contract_sql.seed_facts(url, contract_sql_today)
    finally:
        await drop_pg_database(postgres_server, url)


@pytest.fixture(scope="session")
async def contract_mariadb(contract_sql_today: date) -> AsyncIterator[tuple[URL, Seeded]]:
    """The facts in a throwaway MariaDB database."""
    server = await find_mariadb_server()
    url = await create_mariadb_database(server)
    try:
        yield url, await contract_sql.seed_facts(url, contract_sql_today)
    finally:
        await drop_mariadb_database(server, url)


@pytest.fixture(params=BACKENDS)
def sql_facts(request: pytest.FixtureRequest) -> tuple[str, URL, Seeded]:
    """The facts' database of each kind in turn: (kind, URL, what was made)."""
    url, seeded = request.getfixturevalue(f"contract_{request.param}")
    return request.param, url, seeded


@pytest.fixture
async def sql_system(sql_facts: tuple[str, URL, Seeded]) -> AsyncIterator[System]:
    """The SQL source over the facts on one database kind."""
    backend, url, seeded = sql_facts

    def make_adapter(_wrap: Any = None) -> Any:
        return contract_sql.sql_adapter(url, f"sql-{backend}")

    made = System(
        name=f"sql-{backend}",
        adapter=make_adapter(),
        seeded=seeded,
        make_adapter=make_adapter,
        is_write=contract_sql.is_write,
        unsupported_reads=contract_sql.UNSUPPORTED_READS,
        unsupported_figures=contract_sql.UNSUPPORTED_FIGURES,
        gateway_system=lambda: contract_sql.gateway_system(url),
    )
    yield made
    await made.adapter.aclose()


def _checks() -> Iterator[Any]:
    for name in CHECKS:
        if name in NOT_YET:
            yield pytest.param(name, marks=pytest.mark.skip(reason=NOT_YET[name]))
        else:
            yield name


@pytest.mark.parametrize("check", list(_checks()))
async def test_contract_sql(sql_system: System, check: str) -> None:
    try:
        await CHECKS[check](sql_system.adapter, sql_system)
    except NotOffered as reason:
        pytest.skip(str(reason))


async def test_what_the_sql_source_cannot_read_says_so_through_graphql(
    sql_system: System,
) -> None:
    await check_unsupported_reads_say_so(sql_system.adapter, sql_system)
