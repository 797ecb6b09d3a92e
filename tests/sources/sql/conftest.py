"""The legacy ERP (demo/legacy_erp) in a real database of each kind: SQLite, PostgreSQL and
MariaDB, each a throwaway database made for the session and dropped after it.

``legacy_db`` is one database (parametrised over the three); ``admin`` is a writable engine
on it for the tests' own counting and setup; ``sql_source`` builds a SQL source on it from a
spec (the shipped one unless told) with the adapter's own read-only engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from demo.legacy_erp import SPEC, install_legacy_erp
from sources.sql import SqlConfig, SqlSource
from tests.support.mariadb import (
    create_mariadb_database,
    drop_mariadb_database,
    find_mariadb_server,
)
from tests.support.postgres import create_pg_database, drop_pg_database

BACKENDS = ("sqlite", "postgresql", "mariadb")
TABLES = ("cust", "supp", "proj", "ord_hdr", "ord_line", "inv_hdr", "po_hdr", "ap_inv")


@dataclass(frozen=True)
class LegacyDb:
    """One seeded legacy-ERP database: its backend, URL and a writable engine on it."""

    backend: str
    url: URL
    admin: AsyncEngine


async def _seeded(url: URL) -> AsyncEngine:
    admin = create_async_engine(url)
    await install_legacy_erp(admin)
    return admin


@pytest.fixture(scope="session")
async def sqlite_legacy(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LegacyDb]:
    """The legacy ERP in a SQLite file."""
    url = make_url(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('legacy') / 'erp.db'}")
    admin = await _seeded(url)
    yield LegacyDb("sqlite", url, admin)
    await admin.dispose()


@pytest.fixture(scope="session")
async def postgresql_legacy(postgres_server: URL) -> AsyncIterator[LegacyDb]:
    """The legacy ERP in a throwaway PostgreSQL database."""
    url = await create_pg_database(postgres_server)
    try:
        admin = await _seeded(url)
        yield LegacyDb("postgresql", url, admin)
        await admin.dispose()
    finally:
        await drop_pg_database(postgres_server, url)


@pytest.fixture(scope="session")
async def mariadb_server() -> URL:
    """URL of the MariaDB server, or skip (fail when CI=true)."""
    return await find_mariadb_server()


@pytest.fixture(scope="session")
async def mariadb_legacy(mariadb_server: URL) -> AsyncIterator[LegacyDb]:
    """The legacy ERP in a throwaway MariaDB database."""
    url = await create_mariadb_database(mariadb_server)
    try:
        admin = await _seeded(url)
        yield LegacyDb("mariadb", url, admin)
        await admin.dispose()
    finally:
        await drop_mariadb_database(mariadb_server, url)


@pytest.fixture(params=BACKENDS)
def legacy_db(request: pytest.FixtureRequest) -> LegacyDb:
    """The seeded legacy ERP on each database kind in turn."""
    db: LegacyDb = request.getfixturevalue(f"{request.param}_legacy")
    return db


SourceMaker = Callable[..., SqlSource]


@pytest.fixture
async def sql_source(legacy_db: LegacyDb, tmp_path: Path) -> AsyncIterator[SourceMaker]:
    """Makes SQL sources on ``legacy_db``: ``make(spec=None, timeout=3.0, **spec_changes)``
    where ``spec`` is a spec mapping (default: the shipped spec) and ``spec_changes``
    replace its top-level entries. Sources are closed after the test."""
    made: list[SqlSource] = []

    def make(spec: dict[str, Any] | None = None, timeout: float = 3.0, **changes: Any) -> SqlSource:
        data = spec if spec is not None else yaml.safe_load(SPEC.read_text(encoding="utf-8"))
        data = {**data, **changes}
        path = tmp_path / f"spec{len(made)}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        config = SqlConfig(
            kind="erp",
            adapter="sql",
            url=legacy_db.url.render_as_string(hide_password=False),
            spec=path,
            timeout=timeout,
        )
        source = SqlSource(f"legacy-{legacy_db.backend}", config)
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()


async def row_counts(admin: AsyncEngine) -> dict[str, int]:
    """How many rows each legacy-ERP table holds, as seen by a writable connection."""
    counts: dict[str, int] = {}
    async with admin.connect() as connection:
        for table in TABLES:
            result = await connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}")
            counts[table] = int(result.scalar_one())
    return counts
