"""LinkStore reads and single-entity writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from linkmap import (
    Entity,
    EntityNotFound,
    InvalidInput,
    KeyAlreadyLinked,
    KeyNotLinked,
    LinkMapError,
    LinkStore,
)
from linkmap.migrate import upgrade_async
from linkmap.models import entities, entity_keys, link_history


@contextmanager
def count_queries(store: LinkStore) -> Iterator[list[str]]:
    """Collect the SQL statements that touch the link map tables."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "entit" in statement:
            seen.append(statement)

    target = store.engine.sync_engine
    event.listen(target, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", record)


async def row_counts(store: LinkStore) -> tuple[int, int, int]:
    async with store.engine.connect() as conn:
        counts = [
            (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (entities, entity_keys, link_history)
        ]
    return counts[0], counts[1], counts[2]


# ----------------------------------------------------------------- the value type


def test_entity_is_immutable_and_hashable() -> None:
    source = {"erp": ["1", "2"]}
    e = Entity(7, "customer", source)  # type: ignore[arg-type]
    source["erp"].append("3")
    assert e.keys_in("erp") == ("1", "2")
    assert e.keys_in("crm") == ()
    with pytest.raises(TypeError):
        e.keys["crm"] = ("x",)  # type: ignore[index]
    assert e == Entity(7, "customer", {"erp": ("1", "2")})
    assert len({e, Entity(7, "customer", {"erp": ("1", "2")})}) == 1


# ------------------------------------------------------------------------ reads


async def test_create_and_resolve_with_several_keys_per_system(store: LinkStore) -> None:
    e = await store.create_entity(
        "customer", {"crm": ["A-1043"], "erp": ["10023", "10024"]}, actor="alice"
    )
    assert e.kind == "customer"
    assert dict(e.keys) == {"crm": ("A-1043",), "erp": ("10023", "10024")}
    for system, key in [("crm", "A-1043"), ("erp", "10023"), ("erp", "10024")]:
        assert await store.resolve("customer", system, key) == e
    assert await store.get(e.id) == e
    assert await store.resolve("customer", "erp", "99999") is None
    assert await store.resolve("supplier", "erp", "10023") is None
    assert await store.resolve("customer", "timesheet", "10023") is None


async def test_keys_keep_insertion_order(store: LinkStore) -> None:
    e = await store.create_entity("project", {"erp": ["z", "a", "m"], "crm": ["q"]}, actor="a")
    await store.link(e.id, "erp", "b", actor="a")
    got = await store.get(e.id)
    assert got is not None
    assert list(got.keys) == ["erp", "crm"]
    assert got.keys_in("erp") == ("z", "a", "m", "b")


async def test_resolve_many_order_missing_and_duplicates(store: LinkStore) -> None:
    a = await store.create_entity("customer", {"erp": ["1", "2"]}, actor="a")
    b = await store.create_entity("customer", {"erp": ["3"]}, actor="a")
    got = await store.resolve_many("customer", "erp", ["3", "nope", "1", "2", "3"])
    assert list(got) == ["3", "1", "2"]
    assert got["1"] == got["2"] == a
    assert got["3"] == b
    assert await store.resolve_many("customer", "erp", []) == {}


async def test_resolve_many_1000_keys_in_two_statements(store: LinkStore) -> None:
    await store.bulk_import(
        [("customer", {"erp": [f"E{i}"], "crm": [f"C{i}"]}) for i in range(1000)], actor="seed"
    )
    wanted = [f"E{i}" for i in reversed(range(995))] + [f"missing{i}" for i in range(5)]
    with count_queries(store) as queries:
        got = await store.resolve_many("customer", "erp", wanted)
    assert len(queries) == 2  # one statement per 500 keys, never one per key
    assert list(got) == wanted[:995]
    assert all(got[f"E{i}"].keys_in("crm") == (f"C{i}",) for i in range(995))


async def test_get_many(store: LinkStore) -> None:
    a = await store.create_entity("customer", {"erp": ["1"]}, actor="a")
    b = await store.create_entity("supplier", {"erp": ["1"]}, actor="a")
    with count_queries(store) as queries:
        got = await store.get_many([b.id, 424242, a.id])
    assert len(queries) == 1
    assert got == {b.id: b, a.id: a}
    assert list(got) == [b.id, a.id]
    assert await store.get(424242) is None


async def test_list_entities_keyset_pagination(store: LinkStore) -> None:
    made = [await store.create_entity("project", {"erp": [f"P{i}"]}, actor="a") for i in range(7)]
    await store.create_entity("customer", {"erp": ["P0"]}, actor="a")
    pages: list[list[Entity]] = []
    after = None
    while page := await store.list_entities("project", after_id=after, limit=3):
        pages.append(page)
        after = page[-1].id
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p] == made
    with pytest.raises(InvalidInput):
        await store.list_entities("project", limit=0)


async def test_list_entities_includes_keyless_entities(store: LinkStore) -> None:
    e = await store.create_entity("project", {"erp": ["P"]}, actor="a")
    await store.unlink(e.id, "erp", "P", actor="a")
    assert await store.list_entities("project") == [Entity(e.id, "project", {})]


# ----------------------------------------------------------------------- writes


async def test_create_writes_history_with_actor_and_note(store: LinkStore) -> None:
    e = await store.create_entity(
        "customer", {"crm": ["A"], "erp": ["1", "2"]}, actor="alice", note="onboarding"
    )
    history = await store.history(e.id)
    assert [(h.action, h.system, h.key, h.actor) for h in history] == [
        ("create", None, None, "alice"),
        ("link", "crm", "A", "alice"),
        ("link", "erp", "1", "alice"),
        ("link", "erp", "2", "alice"),
    ]
    assert history[0].note == "onboarding"
    assert all(h.at == history[0].at and h.at.utcoffset() == timedelta(0) for h in history)


async def test_link_unlink_delete_write_history(store: LinkStore) -> None:
    e = await store.create_entity("customer", {"erp": ["1"]}, actor="alice")
    linked = await store.link(e.id, "crm", "A", actor="bob", note="matched by VAT id")
    assert dict(linked.keys) == {"erp": ("1",), "crm": ("A",)}
    assert await store.resolve("customer", "crm", "A") == linked

    unlinked = await store.unlink(e.id, "erp", "1", actor="carol")
    assert dict(unlinked.keys) == {"crm": ("A",)}
    assert await store.resolve("customer", "erp", "1") is None

    deleted = await store.delete_entity(e.id, actor="dave", note="duplicate")
    assert deleted == unlinked
    assert await store.get(e.id) is None
    assert await store.resolve("customer", "crm", "A") is None

    history = await store.history(e.id)
    assert [(h.action, h.system, h.key, h.actor, h.note) for h in history] == [
        ("create", None, None, "alice", None),
        ("link", "erp", "1", "alice", None),
        ("link", "crm", "A", "bob", "matched by VAT id"),
        ("unlink", "erp", "1", "carol", None),
        ("unlink", "crm", "A", "dave", None),
        ("delete", None, None, "dave", "duplicate"),
    ]
    assert [h.at for h in history] == sorted(h.at for h in history)
    assert await store.history(123456789) == []


async def test_relinking_a_held_key_is_a_no_op(store: LinkStore) -> None:
    e = await store.create_entity("customer", {"erp": ["1"]}, actor="a")
    assert await store.link(e.id, "erp", "1", actor="b") == e
    assert len(await store.history(e.id)) == 2


async def test_a_key_belongs_to_one_entity(store: LinkStore) -> None:
    a = await store.create_entity("customer", {"erp": ["1"]}, actor="a")
    b = await store.create_entity("customer", {"erp": ["2"]}, actor="a")
    before = await row_counts(store)
    with pytest.raises(KeyAlreadyLinked) as info:
        await store.link(b.id, "erp", "1", actor="a")
    assert (info.value.kind, info.value.system, info.value.key, info.value.entity_id) == (
        "customer",
        "erp",
        "1",
        a.id,
    )
    assert isinstance(info.value, LinkMapError)
    assert await row_counts(store) == before
    # The same key for another kind is a different key.
    await store.create_entity("supplier", {"erp": ["1"]}, actor="a")


async def test_clashing_create_writes_nothing(store: LinkStore) -> None:
    a = await store.create_entity("customer", {"erp": ["1"]}, actor="a")
    before = await row_counts(store)
    history_before = await store.history(a.id)
    with pytest.raises(KeyAlreadyLinked) as info:
        await store.create_entity("customer", {"crm": ["new"], "erp": ["fresh", "1"]}, actor="b")
    assert (info.value.system, info.value.key, info.value.entity_id) == ("erp", "1", a.id)
    assert await row_counts(store) == before
    assert await store.history(a.id) == history_before
    assert await store.resolve("customer", "crm", "new") is None


async def test_missing_entities_and_keys_raise_typed_errors(store: LinkStore) -> None:
    e = await store.create_entity("customer", {"erp": ["1"]}, actor="a")
    before = await row_counts(store)
    with pytest.raises(EntityNotFound):
        await store.link(999999, "erp", "9", actor="a")
    with pytest.raises(EntityNotFound):
        await store.unlink(999999, "erp", "1", actor="a")
    with pytest.raises(EntityNotFound):
        await store.delete_entity(999999, actor="a")
    with pytest.raises(KeyNotLinked):
        await store.unlink(e.id, "erp", "2", actor="a")
    with pytest.raises(KeyNotLinked):
        await store.unlink(e.id, "crm", "1", actor="a")
    assert await row_counts(store) == before


@pytest.mark.parametrize(
    ("kind", "keys", "actor"),
    [
        ("employee", {"erp": ["1"]}, "a"),
        ("customer", {}, "a"),
        ("customer", {"erp": []}, "a"),
        ("customer", {"erp": "10023"}, "a"),  # a bare string is not a list of keys
        ("customer", {"erp": [""]}, "a"),
        ("customer", {"": ["1"]}, "a"),
        ("customer", {"x" * 65: ["1"]}, "a"),
        ("customer", {"erp": ["k" * 256]}, "a"),
        ("customer", {"erp": ["1"]}, ""),
    ],
)
async def test_invalid_input_is_rejected_before_writing(
    store: LinkStore, kind: str, keys: dict[str, Any], actor: str
) -> None:
    with pytest.raises(InvalidInput):
        await store.create_entity(kind, keys, actor=actor)
    assert await row_counts(store) == (0, 0, 0)


async def test_maximum_lengths_are_accepted(store: LinkStore) -> None:
    e = await store.create_entity("customer", {"s" * 64: ["k" * 255]}, actor="a" * 255)
    assert await store.resolve("customer", "s" * 64, "k" * 255) == e


async def test_duplicate_keys_in_input_collapse(store: LinkStore) -> None:
    e = await store.create_entity("customer", {"erp": ["1", "1", "2"]}, actor="a")
    assert e.keys_in("erp") == ("1", "2")


async def test_ping(store: LinkStore) -> None:
    await store.ping()


async def test_ping_raises_when_unreachable() -> None:
    dead = LinkStore.from_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(OSError):
            await dead.ping(timeout=5)
    finally:
        await dead.close()


async def test_in_memory_sqlite_store() -> None:
    async with LinkStore.from_url("sqlite+aiosqlite://") as memory:
        await upgrade_async(memory.engine)
        results = await asyncio.gather(
            memory.create_entity("customer", {"erp": ["1"]}, actor="a"),
            memory.create_entity("customer", {"erp": ["1"]}, actor="b"),
            memory.create_entity("customer", {"erp": ["2"]}, actor="c"),
            return_exceptions=True,
        )
        assert sum(isinstance(r, Entity) for r in results) == 2, results
        assert sum(isinstance(r, KeyAlreadyLinked) for r in results) == 1
        assert set(await memory.resolve_many("customer", "erp", ["1", "2"])) == {"1", "2"}
