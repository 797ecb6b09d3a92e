"""The database itself enforces the link map's invariants (on SQLite and PostgreSQL),
independently of LinkStore's checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import selectinload

from linkmap.db import create_engine, session_factory
from linkmap.models import EntityKeyRow, EntityRow, entities, entity_keys, link_history


@pytest.fixture
async def engine(linkmap_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(linkmap_url)
    yield eng
    await eng.dispose()


async def _entity(engine: AsyncEngine, kind: str = "customer") -> int:
    async with engine.begin() as conn:
        result = await conn.execute(insert(entities).values(kind=kind).returning(entities.c.id))
        return int(result.scalar_one())


async def _key(
    engine: AsyncEngine, entity_id: int, system: str, key: str, kind: str = "customer"
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(entity_keys).values(entity_id=entity_id, kind=kind, system=system, key=key)
        )


async def test_unique_kind_system_key_is_enforced_by_the_database(engine: AsyncEngine) -> None:
    a, b = await _entity(engine), await _entity(engine)
    await _key(engine, a, "erp", "10023")
    with pytest.raises(IntegrityError):
        await _key(engine, b, "erp", "10023")
    with pytest.raises(IntegrityError):
        await _key(engine, a, "erp", "10023")
    # Same key in another system, or for another kind, is a different key.
    await _key(engine, b, "crm", "10023")
    s = await _entity(engine, "supplier")
    await _key(engine, s, "erp", "10023", kind="supplier")


async def test_several_keys_per_system_are_allowed(engine: AsyncEngine) -> None:
    a = await _entity(engine)
    await _key(engine, a, "erp", "1")
    await _key(engine, a, "erp", "2")


async def test_key_kind_must_match_its_entity(engine: AsyncEngine) -> None:
    a = await _entity(engine, "customer")
    with pytest.raises(IntegrityError):
        await _key(engine, a, "erp", "1", kind="supplier")


async def test_key_needs_an_existing_entity(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        await _key(engine, 987654, "erp", "1")


async def test_unknown_kind_and_action_are_rejected(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        await _entity(engine, "employee")
    async with engine.begin() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(
                insert(link_history).values(
                    entity_id=1, action="rename", actor="x", at=datetime.now(UTC)
                )
            )


async def test_deleting_an_entity_cascades_to_its_keys(engine: AsyncEngine) -> None:
    a = await _entity(engine)
    await _key(engine, a, "erp", "1")
    await _key(engine, a, "crm", "A")
    async with engine.begin() as conn:
        await conn.execute(entities.delete().where(entities.c.id == a))
        assert (await conn.execute(select(func.count()).select_from(entity_keys))).scalar() == 0


async def test_entity_ids_are_never_reused(engine: AsyncEngine) -> None:
    a = await _entity(engine)
    async with engine.begin() as conn:
        await conn.execute(entities.delete().where(entities.c.id == a))
    assert await _entity(engine) > a


async def test_timestamps_round_trip_as_aware_utc(engine: AsyncEngine) -> None:
    cet = timezone(timedelta(hours=1))
    at = datetime(2024, 3, 1, 13, 30, 15, 123456, tzinfo=cet)
    async with engine.begin() as conn:
        await conn.execute(
            insert(link_history).values(entity_id=1, action="create", actor="x", at=at)
        )
        stored = (await conn.execute(select(link_history.c.at))).scalar_one()
    assert stored == at
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    async with engine.begin() as conn:
        with pytest.raises(StatementError, match="naive"):
            await conn.execute(
                insert(link_history).values(
                    entity_id=1, action="create", actor="x", at=datetime(2024, 1, 1)
                )
            )


async def test_server_default_created_at_reads_back_aware(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO entities (kind) VALUES ('project')"))
        created = (await conn.execute(select(entities.c.created_at))).scalar_one()
    assert created.tzinfo is not None
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)


async def test_models_work_with_orm_sessions(linkmap_url: str) -> None:
    engine = create_engine(linkmap_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            row = EntityRow(kind="supplier", keys=[EntityKeyRow(system="erp", key="S-1")])
            session.add(row)
        async with session_factory(engine)() as session:
            loaded = await session.get(EntityRow, row.id, options=[selectinload(EntityRow.keys)])
            assert loaded is not None
            assert [(k.kind, k.system, k.key) for k in loaded.keys] == [("supplier", "erp", "S-1")]
            assert loaded.created_at.tzinfo is not None
    finally:
        await engine.dispose()
