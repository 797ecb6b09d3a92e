"""Database fixtures for the link map tests: every store test runs on SQLite and PostgreSQL.

PostgreSQL: the server named by ``KEYLINK_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``, then user ``root``). Tests never
touch that database itself: each run creates uniquely named ``keylink_test_<hex>``
databases from it and drops them afterwards. If the server is unreachable the PostgreSQL
cases are skipped with the reason, unless ``CI=true``, where they fail.

The session-wide databases are emptied before each test with ``DELETE FROM`` on the link
and idempotency tables. ``audit_events`` refuses deletes by design, so tests that write
audit events use ``fresh_linkmap_url`` (a new migrated database per test) instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from linkmap.db import create_engine
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from tests.support.postgres import create_pg_database as _create_pg_database
from tests.support.postgres import drop_pg_database as _drop_pg_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest) -> URL | None:
    """Backend of the test: None for SQLite, the PostgreSQL admin URL for PostgreSQL.
    (A sync fixture, so that it may resolve the async session fixtures by name.)"""
    if request.param == "sqlite":
        return None
    url: URL = request.getfixturevalue("postgres_server")
    return url


@pytest.fixture
async def empty_db_url(server: URL | None, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a brand-new empty database on each backend, removed afterwards."""
    if server is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    url = await _create_pg_database(server)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        await _drop_pg_database(server, url)


@pytest.fixture(scope="session")
def sqlite_linkmap_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a session-wide SQLite file database (migrated by ``linkmap_url``)."""
    yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('linkmap') / 'linkmap.db'}"


@pytest.fixture(scope="session")
async def postgres_linkmap_url(postgres_server: URL) -> AsyncIterator[str]:
    """URL of a session-wide PostgreSQL database created for this run, dropped after."""
    url = await _create_pg_database(postgres_server)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        await _drop_pg_database(postgres_server, url)


_migrated: set[str] = set()


@pytest.fixture(params=BACKENDS)
def shared_db_url(request: pytest.FixtureRequest) -> str:
    """URL of the session-wide database of each backend (sync, see ``server``)."""
    url: str = request.getfixturevalue(f"{request.param}_linkmap_url")
    return url


@pytest.fixture
async def linkmap_url(shared_db_url: str) -> str:
    """URL of a migrated link map database with empty tables, on each backend."""
    url = shared_db_url
    if url not in _migrated:
        await upgrade_async(url)
        _migrated.add(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for table in ("link_history", "entity_keys", "entities", "idempotency_records"):
                await conn.execute(text(f"DELETE FROM {table}"))
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def fresh_linkmap_url(empty_db_url: str) -> str:
    """URL of a brand-new database migrated to head, on each backend (for audit tests)."""
    await upgrade_async(empty_db_url)
    return empty_db_url


class FakeClock:
    """An injectable clock: aware UTC, moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at 2025-03-01 12:00 UTC."""
    return FakeClock()


@pytest.fixture
async def store(linkmap_url: str) -> AsyncIterator[LinkStore]:
    """A LinkStore on an empty, migrated link map (SQLite and PostgreSQL)."""
    async with LinkStore.from_url(linkmap_url) as link_store:
        yield link_store
