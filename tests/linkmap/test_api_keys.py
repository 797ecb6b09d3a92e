"""ApiKeyStore on SQLite and PostgreSQL: only hashes are stored, verification refuses every
bad key, revocation is immediate, and revision 0004 goes up and down."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from linkmap.api_keys import (
    LAST_USED_INTERVAL,
    ROLES,
    ApiKeyNotFound,
    ApiKeyRecord,
    ApiKeyStore,
    parse_key,
)
from linkmap.db import create_engine
from linkmap.errors import InvalidInput
from linkmap.migrate import downgrade_async, head_revision, upgrade_async
from tests.linkmap.conftest import FakeClock

KEY_FORMAT = re.compile(r"kl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


async def _rows(url: str) -> list[dict[str, object]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT * FROM api_keys"))
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


@pytest.fixture
async def keys(linkmap_url: str, clock: FakeClock) -> AsyncIterator[ApiKeyStore]:
    engine = create_engine(linkmap_url)
    try:
        yield ApiKeyStore(engine, clock=clock)
    finally:
        await engine.dispose()


async def test_create_returns_the_key_once_and_stores_only_its_hash(
    fresh_linkmap_url: str, clock: FakeClock
) -> None:
    engine = create_engine(fresh_linkmap_url)
    try:
        store = ApiKeyStore(engine, clock=clock)
        record, key = await store.create("crm-backend", ["sales", "viewer"], actor="ops")
    finally:
        await engine.dispose()
    assert KEY_FORMAT.fullmatch(key)
    parsed = parse_key(key)
    assert parsed is not None
    key_id, secret = parsed
    assert record.id == key_id and len(secret) >= 43  # 32 bytes of token_urlsafe
    assert record.roles == frozenset({"sales", "viewer"})
    assert record.created_at == clock.now and record.created_by == "ops"
    assert record.expires_at is None and record.revoked_at is None

    (row,) = await _rows(fresh_linkmap_url)
    assert row["secret_hash"] != secret
    assert row["secret_hash"] == "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
    stored = " ".join(str(value) for value in row.values())
    assert secret not in stored and key not in stored


async def test_verify_accepts_the_key_and_refuses_everything_else(
    keys: ApiKeyStore, clock: FakeClock
) -> None:
    record, key = await keys.create("script", ["analyst"], actor="ops")
    other_record, other_key = await keys.create("other", ["viewer"], actor="ops")
    assert (await keys.verify(key)) == replace(record, last_used_at=clock.now)
    assert (await keys.verify(other_key)) == replace(other_record, last_used_at=clock.now)

    key_id, secret = parse_key(key) or ("", "")
    _, other_secret = parse_key(other_key) or ("", "")
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    refused = [
        "",
        "kl_",
        key + "x" * 300,  # too long
        key.replace("kl_", "KL_", 1),
        f"kl_{key_id}",
        f"kl_{key_id}_",
        f"kl_{key_id}_short",
        f"kl_{key_id}_{other_secret}",  # someone else's secret
        f"kl_{key_id}_{flipped}",  # wrong secret
        f"kl_000000000000_{secret}",  # unknown id
        f" {key}",
        f"{key}\n",
        key.replace("_", ".", 1),
    ]
    for presented in refused:
        assert await keys.verify(presented) is None, presented


async def test_revoked_key_is_refused_and_revocation_is_kept(
    keys: ApiKeyStore, clock: FakeClock
) -> None:
    record, key = await keys.create("crm", ["sales"], actor="ops")
    clock.advance(timedelta(minutes=5))
    revoked = await keys.revoke(record.id, actor="alice")
    assert revoked.revoked_at == clock.now and revoked.revoked_by == "alice"
    assert await keys.verify(key) is None
    clock.advance(timedelta(minutes=5))
    again = await keys.revoke(record.id, actor="bob")  # the first revocation stands
    assert again.revoked_at == revoked.revoked_at and again.revoked_by == "alice"
    assert revoked.status(clock.now) == "revoked"
    with pytest.raises(ApiKeyNotFound):
        await keys.revoke("000000000000", actor="alice")


async def test_expired_key_is_refused(keys: ApiKeyStore, clock: FakeClock) -> None:
    expires = clock.now + timedelta(days=1)
    record, key = await keys.create("temp", ["viewer"], actor="ops", expires_at=expires)
    assert record.expires_at == expires
    assert await keys.verify(key, now=expires - timedelta(seconds=1)) is not None
    assert await keys.verify(key, now=expires) is None
    clock.advance(timedelta(days=2))
    assert await keys.verify(key) is None
    assert record.status(clock.now) == "expired"


async def test_bad_arguments_write_nothing(keys: ApiKeyStore, clock: FakeClock) -> None:
    before = len(await keys.list())
    bad_calls = [
        keys.create("x", ["root"], actor="ops"),
        keys.create("x", [], actor="ops"),
        keys.create("x", "viewer", actor="ops"),
        keys.create("", ["viewer"], actor="ops"),
        keys.create("x" * 256, ["viewer"], actor="ops"),
        keys.create("x", ["viewer"], actor=""),
        keys.create("x", ["viewer"], actor="ops", expires_at=clock.now),
        keys.create("x", ["viewer"], actor="ops", expires_at=datetime(2030, 1, 1)),
    ]
    for call in bad_calls:
        with pytest.raises(InvalidInput):
            await call
    assert len(await keys.list()) == before


async def test_list_shows_every_key_and_no_secret(fresh_linkmap_url: str, clock: FakeClock) -> None:
    engine = create_engine(fresh_linkmap_url)
    try:
        store = ApiKeyStore(engine, clock=clock)
        first, first_key = await store.create("a", ["viewer"], actor="ops")
        clock.advance(timedelta(seconds=1))
        second, second_key = await store.create("b", ROLES, actor="ops")
        await store.revoke(first.id, actor="ops")
        listed = await store.list()
    finally:
        await engine.dispose()
    assert [r.id for r in listed] == [first.id, second.id]
    assert listed[0].revoked_by == "ops" and listed[1].roles == ROLES
    assert {f.name for f in fields(ApiKeyRecord)}.isdisjoint({"secret", "secret_hash", "key"})
    shown = repr(listed)
    for key in (first_key, second_key):
        _, secret = parse_key(key) or ("", "")
        assert secret not in shown
        assert hashlib.sha256(secret.encode()).hexdigest() not in shown


async def test_last_used_is_refreshed_at_most_once_per_interval(
    keys: ApiKeyStore, clock: FakeClock
) -> None:
    record, key = await keys.create("crm", ["sales"], actor="ops")
    assert record.last_used_at is None
    first = await keys.verify(key)
    assert first is not None and first.last_used_at == clock.now
    used_at = clock.now
    clock.advance(LAST_USED_INTERVAL / 2)
    assert (await keys.verify(key)) is not None
    assert (await keys.get(record.id)).last_used_at == used_at  # type: ignore[union-attr]
    clock.advance(LAST_USED_INTERVAL)
    assert (await keys.verify(key)) is not None
    assert (await keys.get(record.id)).last_used_at == clock.now  # type: ignore[union-attr]


async def test_read_only_store_never_writes(linkmap_url: str, clock: FakeClock) -> None:
    engine = create_engine(linkmap_url)
    try:
        record, key = await ApiKeyStore(engine, clock=clock).create("ro", ["viewer"], actor="t")
        reader = ApiKeyStore(engine, clock=clock, track_last_used=False)
        assert (await reader.verify(key)) is not None
        assert (await reader.get(record.id)).last_used_at is None  # type: ignore[union-attr]
    finally:
        await engine.dispose()


async def test_naive_now_is_refused(keys: ApiKeyStore) -> None:
    _, key = await keys.create("n", ["viewer"], actor="t")
    with pytest.raises(ValueError, match="aware"):
        await keys.verify(key, now=datetime(2025, 1, 1))
    assert await keys.verify(key, now=datetime(2025, 3, 1, 12, 1, tzinfo=UTC)) is not None


def _tables_and_version(conn: object) -> tuple[set[str], str | None]:
    insp = inspect(conn)
    version = conn.exec_driver_sql(  # type: ignore[attr-defined]
        "SELECT version_num FROM alembic_version"
    ).scalar()
    return set(insp.get_table_names()), version


async def test_revision_0005_adds_scope_and_keeps_keys_both_ways(empty_db_url: str) -> None:
    assert head_revision() >= "0005"  # 0005 and every later revision
    await upgrade_async(empty_db_url, "0004")
    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as conn:  # a key made before 0005, as 0004 stored it
            await conn.exec_driver_sql(
                "INSERT INTO api_keys (id, name, roles, secret_hash, created_at, created_by) "
                "VALUES ('00aa', 'old', '[\"viewer\"]', 'sha256:00', "
                "'2026-01-01 00:00:00+00:00', 't')"
            )
        await upgrade_async(engine)
        store = ApiKeyStore(engine)
        [old] = await store.list()
        assert old.name == "old" and old.scope is None  # unscoped, as before
        record, _ = await store.create("scoped", ["sales"], actor="t", scope=["customer:erp:1*"])
        assert record.scope is not None and record.scope.as_strings() == ["customer:erp:1*"]
        await downgrade_async(engine, "0004")
        async with engine.connect() as conn:
            tables, version = await conn.run_sync(_tables_and_version)
        assert "api_keys" in tables and version == "0004"
        await upgrade_async(engine)
        assert {r.name: r.scope for r in await store.list()} == {"old": None, "scoped": None}
    finally:
        await engine.dispose()


async def test_revision_0004_upgrades_and_downgrades(empty_db_url: str) -> None:
    await upgrade_async(empty_db_url, "0004")
    engine = create_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            tables, version = await conn.run_sync(_tables_and_version)
        assert "api_keys" in tables and version == "0004"

        await downgrade_async(engine, "0003")
        async with engine.connect() as conn:
            tables, version = await conn.run_sync(_tables_and_version)
        assert "api_keys" not in tables and "audit_events" in tables and version == "0003"

        await upgrade_async(engine)
        await ApiKeyStore(engine).create("after-upgrade", ["admin"], actor="t")
        await downgrade_async(engine, "0003")
        await upgrade_async(engine)
        async with engine.connect() as conn:
            tables, version = await conn.run_sync(_tables_and_version)
        assert "api_keys" in tables and version == head_revision()
        assert await ApiKeyStore(engine).list() == []  # the downgrade dropped the keys
    finally:
        await engine.dispose()


async def test_revoked_columns_are_set_together(fresh_linkmap_url: str) -> None:
    engine = create_engine(fresh_linkmap_url)
    try:
        record, _ = await ApiKeyStore(engine).create("c", ["viewer"], actor="t")
        with pytest.raises(Exception, match=r"(?i)check|constraint"):
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE api_keys SET revoked_by = 'x' WHERE id = :id"), {"id": record.id}
                )
    finally:
        await engine.dispose()
