"""MariaDB for tests: find the server, create and drop throwaway databases.

The server is ``KEYLINK_TEST_MARIADB_URL`` (default ``mysql+asyncmy://root@127.0.0.1:3306``).
Tests never touch an existing database: they create uniquely named ``keylink_test_<hex>``
databases and drop them afterwards. An absent server skips, except when CI=true: then the
MariaDB tests fail rather than pass unseen.
"""

from __future__ import annotations

import os
import uuid

import asyncmy
import pytest
from sqlalchemy.engine import URL, make_url

MARIADB_ENV = "KEYLINK_TEST_MARIADB_URL"
MARIADB_DEFAULT = "mysql+asyncmy://root@127.0.0.1:3306"


def _connect_kwargs(url: URL) -> dict[str, object]:
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 3306,
        "user": url.username or "root",
        "password": url.password or "",
        "connect_timeout": 5,
    }


async def find_mariadb_server() -> URL:
    """URL of a reachable MariaDB server (no database selected), or skip (fail when CI=true)."""
    url = make_url(os.environ.get(MARIADB_ENV) or MARIADB_DEFAULT)
    try:
        conn = await asyncmy.connect(**_connect_kwargs(url))
    except (OSError, asyncmy.errors.Error, TimeoutError) as exc:
        reason = f"MariaDB unreachable ({url.render_as_string()}: {exc!r})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} and CI=true: MariaDB tests must not be skipped")
        pytest.skip(reason)
    conn.close()
    return url


async def create_mariadb_database(server: URL) -> URL:
    """A new, empty, uniquely named database on ``server`` (utf8mb4)."""
    name = f"keylink_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncmy.connect(**_connect_kwargs(server))
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    return server.set(database=name)


async def drop_mariadb_database(server: URL, url: URL) -> None:
    """Drop the database ``url`` on ``server``."""
    conn = await asyncmy.connect(**_connect_kwargs(server))
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{url.database}`")
    finally:
        conn.close()
