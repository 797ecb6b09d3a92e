"""LinkStore.bulk_import: many entities in one transaction, safe to re-run."""

from __future__ import annotations

import pytest

from linkmap import InvalidInput, KeyAlreadyLinked, LinkStore
from tests.linkmap.test_store import count_queries, row_counts


def demo_links(n: int) -> list[tuple[str, dict[str, list[str]]]]:
    kinds = ("customer", "supplier", "project")
    return [
        (kinds[i % 3], {"crm": [f"A-{i}"], "erp": [f"{10000 + i}"], "timesheet": [f"T{i}"]})
        for i in range(n)
    ]


async def test_imports_500_entities_with_history(store: LinkStore) -> None:
    links = demo_links(500)
    with count_queries(store) as queries:
        assert await store.bulk_import(links, actor="seed", note="demo") == 500
    assert len(queries) < 20  # batched, not one statement per entity
    assert await row_counts(store) == (500, 1500, 2000)

    customers = await store.list_entities("customer", limit=1000)
    assert len(customers) == 167
    e = await store.resolve("supplier", "erp", "10001")
    assert e is not None and dict(e.keys) == {
        "crm": ("A-1",),
        "erp": ("10001",),
        "timesheet": ("T1",),
    }
    history = await store.history(e.id)
    assert [h.action for h in history] == ["create", "link", "link", "link"]
    assert {h.actor for h in history} == {"seed"} and history[0].note == "demo"


async def test_rerunning_an_import_creates_nothing(store: LinkStore) -> None:
    assert await store.bulk_import(demo_links(30), actor="seed") == 30
    before = await row_counts(store)
    assert await store.bulk_import(demo_links(40), actor="seed") == 10
    assert await row_counts(store) == (before[0] + 10, before[1] + 30, before[2] + 40)
    assert await store.bulk_import(demo_links(40), actor="seed") == 0


async def test_subset_of_an_existing_entity_is_skipped(store: LinkStore) -> None:
    e = await store.create_entity("customer", {"erp": ["1"], "crm": ["A"]}, actor="a")
    assert await store.bulk_import([("customer", {"crm": ["A"]})], actor="seed") == 0
    assert await store.get(e.id) == e


async def test_partial_overlap_with_existing_entity_raises_and_writes_nothing(
    store: LinkStore,
) -> None:
    e = await store.create_entity("customer", {"erp": ["1"]}, actor="a")
    before = await row_counts(store)
    links = [*demo_links(20), ("customer", {"erp": ["1"], "crm": ["new"]})]
    with pytest.raises(KeyAlreadyLinked) as info:
        await store.bulk_import(links, actor="seed")
    assert (info.value.system, info.value.key, info.value.entity_id) == ("erp", "1", e.id)
    assert await row_counts(store) == before


async def test_keys_spread_over_two_entities_raise(store: LinkStore) -> None:
    await store.create_entity("customer", {"erp": ["1"]}, actor="a")
    await store.create_entity("customer", {"crm": ["A"]}, actor="a")
    with pytest.raises(KeyAlreadyLinked):
        await store.bulk_import([("customer", {"erp": ["1"], "crm": ["A"]})], actor="seed")


async def test_duplicates_within_one_batch(store: LinkStore) -> None:
    same = ("customer", {"erp": ["1"], "crm": ["A"]})
    assert await store.bulk_import([same, same, ("customer", {"erp": ["1"]})], actor="s") == 1
    contradicting = [("project", {"erp": ["P"]}), ("project", {"erp": ["P"], "crm": ["Q"]})]
    before = await row_counts(store)
    with pytest.raises(InvalidInput, match="entries 0 and 1"):
        await store.bulk_import(contradicting, actor="s")
    assert await row_counts(store) == before


async def test_empty_and_invalid_imports(store: LinkStore) -> None:
    assert await store.bulk_import([], actor="seed") == 0
    with pytest.raises(InvalidInput):
        await store.bulk_import([("customer", {"erp": ["1"]}), ("customer", {})], actor="seed")
    assert await row_counts(store) == (0, 0, 0)


async def test_imported_ids_follow_and_never_reuse_deleted_ids(store: LinkStore) -> None:
    gone = await store.create_entity("customer", {"erp": ["gone"]}, actor="a")
    await store.delete_entity(gone.id, actor="a")
    assert await store.bulk_import(demo_links(3), actor="seed") == 3
    imported = [
        e.id
        for kind in ("customer", "supplier", "project")
        for e in await store.list_entities(kind)
    ]
    assert min(imported) > gone.id
    later = await store.create_entity("customer", {"erp": ["later"]}, actor="a")
    assert later.id > max(imported)
    # Each imported entity got its own keys (ids map to the right entries).
    for i in range(3):
        e = await store.resolve(("customer", "supplier", "project")[i], "erp", f"{10000 + i}")
        assert e is not None and e.keys_in("crm") == (f"A-{i}",)
