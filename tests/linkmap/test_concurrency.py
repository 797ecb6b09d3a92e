"""Concurrent writers, in one process and from two stores (like two replicas):
a key still ends up with exactly one entity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from linkmap import ConcurrentChange, Entity, KeyAlreadyLinked, LinkStore
from tests.linkmap.test_store import row_counts


@pytest.fixture
async def other_store(linkmap_url: str) -> AsyncIterator[LinkStore]:
    """A second store with its own engine on the same database (a second replica)."""
    async with LinkStore.from_url(linkmap_url) as link_store:
        yield link_store


async def test_concurrent_creates_with_the_same_key_one_wins(
    store: LinkStore, other_store: LinkStore
) -> None:
    stores = [store, other_store] * 4
    results = await asyncio.gather(
        *(
            s.create_entity("customer", {"erp": ["10023"], "crm": [f"A-{i}"]}, actor=f"user{i}")
            for i, s in enumerate(stores)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Entity)]
    losers = [r for r in results if not isinstance(r, Entity)]
    assert len(winners) == 1, results
    assert all(isinstance(r, KeyAlreadyLinked) for r in losers), losers
    assert {r.entity_id for r in losers if isinstance(r, KeyAlreadyLinked)} == {winners[0].id}
    assert await store.resolve("customer", "erp", "10023") == winners[0]
    assert await row_counts(store) == (1, 2, 3)


async def test_two_concurrent_creates_exactly_one_wins(store: LinkStore) -> None:
    first, second = await asyncio.gather(
        store.create_entity("project", {"erp": ["P-1"]}, actor="a"),
        store.create_entity("project", {"erp": ["P-1"]}, actor="b"),
        return_exceptions=True,
    )
    assert isinstance(first, Entity) != isinstance(second, Entity)
    loser = second if isinstance(first, Entity) else first
    assert isinstance(loser, KeyAlreadyLinked)


async def test_concurrent_links_of_one_key_to_different_entities(
    store: LinkStore, other_store: LinkStore
) -> None:
    a = await store.create_entity("supplier", {"erp": ["S1"]}, actor="a")
    b = await store.create_entity("supplier", {"erp": ["S2"]}, actor="a")
    results = await asyncio.gather(
        store.link(a.id, "crm", "shared", actor="a"),
        other_store.link(b.id, "crm", "shared", actor="b"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Entity) for r in results) == 1, results
    assert sum(isinstance(r, KeyAlreadyLinked) for r in results) == 1, results
    owner = await store.resolve("supplier", "crm", "shared")
    assert owner is not None and owner.id in (a.id, b.id)


async def test_concurrent_reads_and_writes_do_not_fail(store: LinkStore) -> None:
    await store.bulk_import([("customer", {"erp": [f"E{i}"]}) for i in range(50)], actor="seed")

    async def reader() -> None:
        for _ in range(10):
            got = await store.resolve_many("customer", "erp", [f"E{i}" for i in range(50)])
            assert len(got) >= 50

    async def writer(n: int) -> None:
        for i in range(5):
            await store.create_entity("customer", {"erp": [f"W{n}-{i}"]}, actor="w")

    await asyncio.gather(*(reader() for _ in range(4)), *(writer(n) for n in range(4)))
    assert len(await store.list_entities("customer", limit=1000)) == 70


async def test_lost_race_after_the_check_is_reported_as_key_already_linked(
    store: LinkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic version of the race: the pre-check misses a key that a concurrent
    writer committed; the database rejects the insert and the retry reports the owner."""
    winner = await store.create_entity("customer", {"erp": ["10023"]}, actor="a")
    real_owners = LinkStore._owners
    calls = 0

    async def stale_first_check(*args: Any) -> dict[Any, int]:
        nonlocal calls
        calls += 1
        return {} if calls == 1 else await real_owners(*args)

    monkeypatch.setattr(LinkStore, "_owners", staticmethod(stale_first_check))
    with pytest.raises(KeyAlreadyLinked) as info:
        await store.create_entity("customer", {"crm": ["X"], "erp": ["10023"]}, actor="b")
    assert info.value.entity_id == winner.id and calls == 2
    assert await row_counts(store) == (1, 1, 2)


async def test_endless_conflicts_give_up_with_concurrent_change(
    store: LinkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.create_entity("customer", {"erp": ["10023"]}, actor="a")

    async def always_stale(*_args: Any) -> dict[Any, int]:
        return {}

    monkeypatch.setattr(LinkStore, "_owners", staticmethod(always_stale))
    with pytest.raises(ConcurrentChange):
        await store.bulk_import([("customer", {"erp": ["10023"], "crm": ["Y"]})], actor="b")
    assert await row_counts(store) == (1, 1, 2)


async def test_crossing_key_orders_never_leak_database_errors(
    store: LinkStore, other_store: LinkStore
) -> None:
    """Two creates claiming the same keys in opposite order can dead-lock on PostgreSQL;
    the victim is retried and reports KeyAlreadyLinked like any other loser."""
    for round_ in range(15):
        a, b = f"a{round_}", f"b{round_}"
        results = await asyncio.gather(
            store.create_entity("customer", {"erp": [a, b]}, actor="x"),
            other_store.create_entity("customer", {"erp": [b, a]}, actor="y"),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["Entity", "KeyAlreadyLinked"], results
