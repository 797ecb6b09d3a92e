"""PostgreSQL for tests: find the server, create and drop throwaway databases.

The server is ``KEYLINK_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``, then user ``root``). Tests never touch
that database itself: they create uniquely named ``keylink_test_<hex>`` databases from it.
"""

from __future__ import annotations

import os
import uuid

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import URL, make_url

PG_ENV = "KEYLINK_TEST_POSTGRES_URL"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def find_postgres_server() -> URL:
    """URL of a reachable PostgreSQL admin database, or skip (fail when CI=true)."""
    explicit = os.environ.get(PG_ENV)
    candidates = (
        [make_url(explicit)]
        if explicit
        else [
            make_url(PG_DEFAULT),
            make_url(PG_DEFAULT).set(username="root"),
        ]
    )
    errors = []
    for url in candidates:
        try:
            conn = await asyncpg.connect(_dsn(url), timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            errors.append(f"{url.render_as_string()}: {exc!r}")
            continue
        await conn.close()
        return url
    reason = "PostgreSQL unreachable (" + "; ".join(errors) + ")"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} and CI=true: PostgreSQL tests must not be skipped")
    pytest.skip(reason)


async def create_pg_database(server: URL) -> URL:
    """A new, empty, uniquely named database on ``server``."""
    name = f"keylink_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_dsn(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.set(database=name)


async def drop_pg_database(server: URL, url: URL) -> None:
    """Drop the database ``url`` on ``server``, even with connections still open."""
    conn = await asyncpg.connect(_dsn(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await conn.close()
