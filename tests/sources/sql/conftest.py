"""The legacy ERP (demo/legacy_erp) in a real database of each kind: SQLite, PostgreSQL and
MariaDB, each a throwaway database made for the session and dropped after it.

``legacy_db`` is one database (parametrised over the three); ``admin`` is a writable engine
on it for the tests' own counting and setup; ``sql_source`` builds a SQL source on it from a
spec (the shipped one unless told) with the adapter's own read-only engine.

Tests that write get a database of their own instead: ``fresh_db`` is a newly seeded one
per test (parametrised over the three kinds), ``writable_source`` builds sources with
``read_only: false`` on it, and ``table_rows`` snapshots every table to compare before and
after.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

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
TABLES = (
    "cust",
    "supp",
    "proj",
    "ord_hdr",
    "ord_line",
    "item_price",
    "inv_hdr",
    "po_hdr",
    "ap_inv",
)


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
    """Makes SQL sources on ``legacy_db``: ``make(spec=None, timeout=3.0,
    translations=None, **spec_changes)`` where ``spec`` is a spec mapping (default: the
    shipped spec), ``translations`` the system's config tables and ``spec_changes`` replace
    its top-level entries. Sources are closed after the test."""
    made: list[SqlSource] = []

    def make(
        spec: dict[str, Any] | None = None,
        timeout: float = 3.0,
        translations: dict[str, dict[str, str]] | None = None,
        **changes: Any,
    ) -> SqlSource:
        data = spec if spec is not None else yaml.safe_load(SPEC.read_text(encoding="utf-8"))
        data = plain({**data, **changes})
        path = tmp_path / f"spec{len(made)}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        config = SqlConfig(
            kind="erp",
            adapter="sql",
            url=legacy_db.url.render_as_string(hide_password=False),
            spec=path,
            timeout=timeout,
            translations=translations or {},
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


@pytest.fixture
async def fresh_sqlite(tmp_path: Path) -> AsyncIterator[LegacyDb]:
    """A newly seeded legacy ERP in a SQLite file, for one test."""
    url = make_url(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    admin = await _seeded(url)
    yield LegacyDb("sqlite", url, admin)
    await admin.dispose()


@pytest.fixture
async def fresh_postgresql(postgres_server: URL) -> AsyncIterator[LegacyDb]:
    """A newly seeded legacy ERP in a throwaway PostgreSQL database, for one test."""
    url = await create_pg_database(postgres_server)
    try:
        admin = await _seeded(url)
        yield LegacyDb("postgresql", url, admin)
        await admin.dispose()
    finally:
        await drop_pg_database(postgres_server, url)


@pytest.fixture
async def fresh_mariadb(mariadb_server: URL) -> AsyncIterator[LegacyDb]:
    """A newly seeded legacy ERP in a throwaway MariaDB database, for one test."""
    url = await create_mariadb_database(mariadb_server)
    try:
        admin = await _seeded(url)
        yield LegacyDb("mariadb", url, admin)
        await admin.dispose()
    finally:
        await drop_mariadb_database(mariadb_server, url)


@pytest.fixture(params=BACKENDS)
def fresh_db(request: pytest.FixtureRequest) -> LegacyDb:
    """A newly seeded legacy ERP of each kind in turn, for this test alone."""
    db: LegacyDb = request.getfixturevalue(f"fresh_{request.param}")
    return db


@pytest.fixture
async def writable_source(fresh_db: LegacyDb, tmp_path: Path) -> AsyncIterator[SourceMaker]:
    """Makes SQL sources on ``fresh_db`` with ``read_only: false`` (unless told):
    ``make(spec=None, read_only=False, timeout=5.0)``, ``spec`` a spec mapping (default: the
    shipped one). Sources are closed after the test."""
    made: list[SqlSource] = []

    def make(
        spec: dict[str, Any] | None = None, read_only: bool = False, timeout: float = 5.0
    ) -> SqlSource:
        data = plain(spec if spec is not None else shipped_spec())
        path = tmp_path / f"write-spec{len(made)}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        config = SqlConfig(
            kind="erp",
            adapter="sql",
            url=fresh_db.url.render_as_string(hide_password=False),
            spec=path,
            timeout=timeout,
            read_only=read_only,
        )
        source = SqlSource(f"legacy-{fresh_db.backend}", config)
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()


def plain(value: Any) -> Any:
    """``value`` (a spec, perhaps a model's dump) with its tuples and sets as lists, as YAML
    writes them."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    return value


def shipped_spec() -> dict[str, Any]:
    """The shipped legacy ERP spec as a mapping (to change in a test)."""
    data: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return data


async def table_rows(admin: AsyncEngine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every legacy-ERP table, as text, sorted: equal snapshots mean nothing
    was written in between."""
    snapshot: dict[str, list[tuple[str, ...]]] = {}
    async with admin.connect() as connection:
        for table in TABLES:
            result = await connection.exec_driver_sql(f"SELECT * FROM {table}")
            snapshot[table] = sorted(tuple(str(v) for v in row) for row in result.all())
    return snapshot


HOLD_SECONDS = 1.0
"""How long the first of two overlapping edits waits, inside its transaction, for the
second to read the line (a correct source never lets it: the first holds the lock)."""


async def overlapping(
    first: SqlSource,
    second: SqlSource,
    one: Callable[[], Awaitable[Any]],
    other: Callable[[], Awaitable[Any]],
) -> list[Any]:
    """Run edit ``one`` (through ``first``) and edit ``other`` (through ``second``) so that
    they overlap: ``one`` is held just before its writes, its checks done, until ``other``
    has read the line (or ``HOLD_SECONDS`` pass), and ``other`` starts only once ``one``
    is held. Without locking both would pass their version checks; with it, ``other``
    waits for ``one`` to commit and sees its write. The answers (or errors), in order."""
    assert first.editor is not None and second.editor is not None
    held, read = asyncio.Event(), asyncio.Event()
    run_all, read_line = first.editor._run_all, second.editor._line

    async def held_run_all(*args: Any) -> int:
        held.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HOLD_SECONDS):
                await read.wait()
        return await run_all(*args)

    async def reading(*args: Any) -> Any:
        found = await read_line(*args)
        read.set()
        return found

    with (
        mock.patch.object(first.editor, "_run_all", held_run_all),
        mock.patch.object(second.editor, "_line", reading),
    ):
        first_task = asyncio.create_task(one())
        await held.wait()
        second_task = asyncio.create_task(other())
        return list(await asyncio.gather(first_task, second_task, return_exceptions=True))
