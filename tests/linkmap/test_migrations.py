"""The Alembic migrations build the link map schema on an empty database of each backend,
from code (sync and async) and from the real ``alembic`` CLI at the repo root."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url

from linkmap.audit import AuditLog
from linkmap.db import create_engine
from linkmap.idempotency import IdempotencyStore
from linkmap.migrate import (
    MIGRATION_LOCK_ID,
    downgrade_async,
    head_revision,
    upgrade,
    upgrade_async,
)
from linkmap.models import Base
from linkmap.store import LinkStore

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = {"entities", "entity_keys", "link_history", "idempotency_records", "audit_events"}
AUDIT_TRIGGERS = {
    "sqlite": {"audit_events_no_update", "audit_events_no_delete"},
    "postgresql": {"audit_events_append_only", "audit_events_no_truncate"},
}


def _triggers(conn: Connection) -> set[str]:
    """Names of the user triggers in the database (and the PostgreSQL trigger function)."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        sql = (
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
            "UNION ALL SELECT proname || '()' FROM pg_proc WHERE proname LIKE 'linkmap%'"
        )
    return {str(name) for name in conn.exec_driver_sql(sql).scalars()}


def _describe(conn: Connection) -> dict[str, Any]:
    insp = inspect(conn)
    uniques = (
        {uc["name"]: tuple(uc["column_names"]) for uc in insp.get_unique_constraints("entity_keys")}
        if insp.has_table("entity_keys")
        else {}
    )
    diff = (
        compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
        if insp.has_table("entity_keys")
        else None
    )
    version = None
    if insp.has_table("alembic_version"):
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return {
        "dialect": conn.dialect.name,
        "tables": set(insp.get_table_names()),
        "uniques": uniques,
        "diff": diff,
        "version": version,
        "triggers": _triggers(conn),
    }


async def describe(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_describe)
    finally:
        await engine.dispose()


def assert_schema_at_head(info: dict[str, Any]) -> None:
    assert info["tables"] >= TABLES | {"alembic_version"}
    assert info["uniques"]["uq_entity_keys_kind_system_key"] == ("kind", "system", "key")
    assert info["diff"] == [], "migrations and models disagree"
    assert info["version"] == head_revision()
    assert info["triggers"] >= AUDIT_TRIGGERS[info["dialect"]]


def test_upgrade_from_any_cwd_without_running_loop(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the package finds its migrations without an ini file
    upgrade(empty_db_url)
    upgrade(empty_db_url)  # idempotent
    assert_schema_at_head(asyncio.run(describe(empty_db_url)))


async def test_upgrade_async_inside_running_loop(empty_db_url: str) -> None:
    await upgrade_async(empty_db_url)
    assert_schema_at_head(await describe(empty_db_url))


async def test_sync_upgrade_called_inside_running_loop(empty_db_url: str) -> None:
    upgrade(empty_db_url)  # falls back to a worker thread
    assert_schema_at_head(await describe(empty_db_url))


def _alembic(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    full_env = {k: v for k, v in os.environ.items() if k != "KEYLINK_LINKMAP__URL"}
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_alembic_cli_from_repo_root(empty_db_url: str) -> None:
    _alembic("-x", f"url={empty_db_url}", "upgrade", "head", cwd=REPO_ROOT)
    assert_schema_at_head(await describe(empty_db_url))
    assert head_revision() in _alembic("-x", f"url={empty_db_url}", "current", cwd=REPO_ROOT)

    _alembic("-x", f"url={empty_db_url}", "downgrade", "base", cwd=REPO_ROOT)
    gone = await describe(empty_db_url)
    assert not gone["tables"] & TABLES
    assert not gone["triggers"]

    _alembic("-x", f"url={empty_db_url}", "upgrade", "head", cwd=REPO_ROOT)
    assert_schema_at_head(await describe(empty_db_url))


async def test_upgrade_downgrade_base_upgrade_from_code_with_data(empty_db_url: str) -> None:
    """The whole chain goes down and up again, also with rows in every table (the audit's
    triggers do not stop its own downgrade)."""
    await upgrade_async(empty_db_url)
    engine = create_engine(empty_db_url)
    try:
        await LinkStore(engine).create_entity("order", {"crm": ["OPP-1"]}, actor="t")
        await IdempotencyStore(engine).claim("alice", "k", "fp")
        await AuditLog(engine).record(actor="a", operation="add_line", system="erp", outcome="X")
    finally:
        await engine.dispose()
    with pytest.raises(RuntimeError, match="kind 'order'"):
        await downgrade_async(empty_db_url, "base")  # would lose the order entity
    assert_schema_at_head(await describe(empty_db_url))  # refused as a whole

    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM entities WHERE kind = 'order'")
    finally:
        await engine.dispose()
    await downgrade_async(empty_db_url, "base")
    gone = await describe(empty_db_url)
    assert not gone["tables"] & TABLES and not gone["triggers"]
    await upgrade_async(empty_db_url)
    assert_schema_at_head(await describe(empty_db_url))


async def test_alembic_cli_url_from_environment(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'from_env.db'}"
    _alembic("upgrade", "head", cwd=REPO_ROOT, env={"KEYLINK_LINKMAP__URL": url})
    assert_schema_at_head(await describe(url))


async def test_alembic_cli_default_url_is_keylink_db_in_cwd(tmp_path: Path) -> None:
    _alembic("-c", str(REPO_ROOT / "alembic.ini"), "upgrade", "head", cwd=tmp_path)
    assert (tmp_path / "keylink.db").exists()
    assert_schema_at_head(await describe(f"sqlite+aiosqlite:///{tmp_path / 'keylink.db'}"))


def test_offline_sql_for_postgres() -> None:
    sql = _alembic(
        "-x",
        "url=postgresql+asyncpg://nobody@invalid/none",
        "upgrade",
        "head",
        "--sql",
        cwd=REPO_ROOT,
    )
    assert "CREATE TABLE entity_keys" in sql
    assert "uq_entity_keys_kind_system_key" in sql
    assert "ADD CONSTRAINT ck_entities_kind CHECK" in sql
    assert "'order'" in sql
    assert "CREATE TABLE idempotency_records" in sql
    assert "EXECUTE FUNCTION linkmap_audit_events_append_only()" in sql


async def test_concurrent_upgrades_migrate_once(empty_db_url: str) -> None:
    """Several upgrades at once in one process all succeed."""
    await asyncio.wait_for(
        asyncio.gather(*(upgrade_async(empty_db_url) for _ in range(4))), timeout=60
    )
    assert_schema_at_head(await describe(empty_db_url))


@asynccontextmanager
async def migration_lock_held(db_url: str) -> AsyncIterator[None]:
    """Hold the lock another migrator (a replica starting up) would hold."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
        finally:
            holder.close()  # rolls back, releasing the write lock
        return
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK_ID})")
        yield
    finally:
        await conn.close()  # ends the session, releasing the advisory lock


async def test_upgrade_waits_for_another_migrator(empty_db_url: str) -> None:
    """Migrators in separate processes are serialised: while another holds the migration
    lock an upgrade waits, then completes."""
    async with migration_lock_held(empty_db_url):
        task = asyncio.create_task(upgrade_async(empty_db_url))
        done, _ = await asyncio.wait([task], timeout=0.5)
        assert not done, "upgrade did not wait for the migration lock"
    await asyncio.wait_for(task, timeout=30)
    assert_schema_at_head(await describe(empty_db_url))
