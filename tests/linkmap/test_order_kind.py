"""Entity kind ``order`` (a sales order under different numbers in different systems), and
revision 0002 that allows it: existing rows, foreign keys, indexes and the id high-water
mark survive the upgrade on SQLite (table rebuild) and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from linkmap import KINDS, Entity, KeyAlreadyLinked, LinkStore
from linkmap.db import create_engine
from linkmap.migrate import downgrade_async, upgrade_async


async def test_order_entities_in_the_store(store: LinkStore) -> None:
    assert "order" in KINDS
    order = await store.create_entity(
        "order", {"crm": ["OPP-2024-117"], "erp": ["SO-10042"]}, actor="rep"
    )
    assert order.kind == "order"
    assert await store.resolve("order", "crm", "OPP-2024-117") == order
    assert await store.resolve("order", "erp", "SO-10042") == order
    assert await store.resolve("customer", "erp", "SO-10042") is None
    assert await store.list_entities("order") == [order]

    linked = await store.link(order.id, "erp", "SO-10042-B", actor="rep")
    assert linked.keys_in("erp") == ("SO-10042", "SO-10042-B")
    with pytest.raises(KeyAlreadyLinked):
        await store.create_entity("order", {"erp": ["SO-10042"]}, actor="rep")
    # The same number as another kind is another key.
    customer = await store.create_entity("customer", {"erp": ["SO-10042"]}, actor="rep")
    assert customer.id != order.id
    assert await store.bulk_import([("order", {"crm": ["OPP-1"]})], actor="import") == 1
    assert [e.kind for e in await store.list_entities("order")] == ["order", "order"]
    assert [c.action for c in await store.history(order.id)] == ["create", "link", "link", "link"]


class _OldSchemaStore:
    """The few store operations this test needs, in SQL that holds at revisions 0001 and
    0002 (today's :class:`LinkStore` writes columns added later, e.g. by 0008)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create_entity(
        self, kind: str, keys: dict[str, list[str]], *, actor: str, note: str | None = None
    ) -> Entity:
        async with self.engine.begin() as conn:
            made = await conn.execute(
                text("INSERT INTO entities (kind) VALUES (:kind) RETURNING id"), {"kind": kind}
            )
            entity_id = int(made.scalar_one())
            history = "INSERT INTO link_history (entity_id, action, system, key, actor, at, note) "
            history += "VALUES (:id, :action, :system, :key, :actor, CURRENT_TIMESTAMP, :note)"
            row = {"id": entity_id, "actor": actor, "system": None, "key": None}
            await conn.execute(text(history), {**row, "action": "create", "note": note})
            for system, values in keys.items():
                for key in values:
                    await conn.execute(
                        text(
                            "INSERT INTO entity_keys (entity_id, kind, system, key) "
                            "VALUES (:id, :kind, :system, :key)"
                        ),
                        {"id": entity_id, "kind": kind, "system": system, "key": key},
                    )
                    await conn.execute(
                        text(history),
                        {**row, "action": "link", "system": system, "key": key, "note": None},
                    )
        return Entity(entity_id, kind, {system: tuple(values) for system, values in keys.items()})

    async def delete_entity(self, entity_id: int, *, actor: str) -> None:
        await _exec(self.engine, f"DELETE FROM entities WHERE id = {entity_id}")

    async def get_many(self, ids: list[int]) -> dict[int, Entity]:
        return await LinkStore(self.engine).get_many(ids)  # reads only 0001's columns

    async def get(self, entity_id: int) -> Entity | None:
        return (await self.get_many([entity_id])).get(entity_id)

    async def resolve(self, kind: str, system: str, key: str) -> Entity | None:
        async with self.engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT entity_id FROM entity_keys "
                    "WHERE kind = :kind AND system = :system AND key = :key"
                ),
                {"kind": kind, "system": system, "key": key},
            )
            entity_id = found.scalar_one_or_none()
        return None if entity_id is None else await self.get(int(entity_id))


async def _rows(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        return {
            table: [
                tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            ]
            for table in ("entities", "entity_keys", "link_history")
        }


async def _exec(engine: AsyncEngine, sql: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql))


def _indexes(sync_conn: Any) -> dict[str, Any]:
    insp = inspect(sync_conn)
    return {
        "entity_keys": sorted(ix["name"] for ix in insp.get_indexes("entity_keys")),
        "uniques": sorted(uq["name"] for uq in insp.get_unique_constraints("entity_keys")),
        "fks": [
            (fk["referred_table"], fk["constrained_columns"], fk["options"].get("ondelete"))
            for fk in insp.get_foreign_keys("entity_keys")
        ],
    }


async def test_upgrade_0001_to_0002_keeps_everything(empty_db_url: str) -> None:
    await upgrade_async(empty_db_url, "0001")
    engine = create_engine(empty_db_url)
    try:
        old_store = _OldSchemaStore(engine)
        a = await old_store.create_entity(
            "customer", {"erp": ["10023"], "crm": ["A-1043"]}, actor="seed"
        )
        s = await old_store.create_entity("supplier", {"erp": ["S-7"]}, actor="seed")
        p = await old_store.create_entity("project", {"ts": ["ACME"]}, actor="seed", note="n")
        gone = await old_store.create_entity("customer", {"erp": ["99"]}, actor="seed")
        await old_store.delete_entity(gone.id, actor="seed")  # the highest id so far
        before = await _rows(engine)
        async with engine.connect() as conn:
            indexes_before = await conn.run_sync(_indexes)
        with pytest.raises(IntegrityError):
            await _exec(engine, "INSERT INTO entities (kind) VALUES ('order')")
    finally:
        await engine.dispose()

    await upgrade_async(empty_db_url, "0002")

    engine = create_engine(empty_db_url)
    try:
        store = _OldSchemaStore(engine)
        assert await _rows(engine) == before
        async with engine.connect() as conn:
            assert await conn.run_sync(_indexes) == indexes_before
        assert await store.get_many([a.id, s.id, p.id]) == {a.id: a, s.id: s, p.id: p}
        assert await store.resolve("customer", "crm", "A-1043") == a

        order = await store.create_entity("order", {"erp": ["SO-1"]}, actor="t")
        assert order.id > gone.id  # ids of deleted entities are still never reused
        with pytest.raises(IntegrityError):
            await _exec(engine, "INSERT INTO entities (kind) VALUES ('employee')")
        with pytest.raises(IntegrityError):  # the composite foreign key still holds
            await _exec(
                engine,
                "INSERT INTO entity_keys (entity_id, kind, system, key) "
                f"VALUES ({a.id}, 'order', 'x', 'y')",
            )
        with pytest.raises(IntegrityError):  # and the unique key
            await _exec(
                engine,
                "INSERT INTO entity_keys (entity_id, kind, system, key) "
                f"VALUES ({s.id}, 'customer', 'erp', '10023')",
            )
        await store.delete_entity(a.id, actor="t")  # ON DELETE CASCADE still works
        async with engine.connect() as conn:
            left = await conn.execute(
                text(f"SELECT count(*) FROM entity_keys WHERE entity_id = {a.id}")
            )
            assert left.scalar_one() == 0
        assert await store.get(s.id) == s

        # Going back refuses while order entities exist, and changes nothing.
        with pytest.raises(RuntimeError, match="kind 'order'"):
            await downgrade_async(engine, "0001")
        assert await store.get(order.id) == order
        await store.delete_entity(order.id, actor="t")
        await downgrade_async(engine, "0001")
        with pytest.raises(IntegrityError):
            await _exec(engine, "INSERT INTO entities (kind) VALUES ('order')")
        assert await store.get_many([s.id, p.id]) == {s.id: s, p.id: p}
        assert await store.get(order.id) is None
        again = await store.create_entity("project", {"ts": ["NEW"]}, actor="t")
        assert again.id > order.id
    finally:
        await engine.dispose()
