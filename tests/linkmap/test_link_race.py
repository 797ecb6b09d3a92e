"""Issue 22: two admins link the same key to two different entities at the same moment,
from two processes' worth of separate engines (two threads, each with its own event loop
and connection pool, released together by a barrier): exactly one wins, the other gets
:class:`KeyAlreadyLinked` naming the winner, and the link map and its history show only
the winner's link. The same for two concurrent undos of one change. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from linkmap import KeyAlreadyLinked, LinkStore
from linkmap.changes import AlreadyUndone, AppliedChange

ROUNDS = 12
_T = TypeVar("_T")


def race(
    url: str, attempts: list[Callable[[LinkStore], Awaitable[_T]]]
) -> list[_T | BaseException]:
    """Run each attempt in its own thread with its own store on ``url``; all of them are
    released together once every store has a live connection."""
    barrier = threading.Barrier(len(attempts))
    results: list[_T | BaseException] = [RuntimeError("did not run")] * len(attempts)

    async def one(index: int) -> None:
        async with LinkStore.from_url(url) as store:
            await store.ping()  # connect before the start, so that only the work races
            barrier.wait(timeout=60)
            try:
                results[index] = await attempts[index](store)
            except Exception as exc:  # the loser's typed error is the result
                results[index] = exc

    threads = [threading.Thread(target=asyncio.run, args=(one(i),)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def link(entity_id: int, key: str, who: str) -> Callable[[LinkStore], Awaitable[AppliedChange]]:
    """An attempt: ``who`` links ERP key ``key`` to entity ``entity_id``."""
    return lambda s: s.link_key(entity_id, "erp", key, actor=who, reason="race")


def undo(change_id: int, who: str) -> Callable[[LinkStore], Awaitable[AppliedChange]]:
    """An attempt: ``who`` undoes change ``change_id``."""
    return lambda s: s.undo(change_id, actor=who)


async def test_two_concurrent_links_of_one_key_exactly_one_wins(
    store: LinkStore, linkmap_url: str
) -> None:
    for round_ in range(ROUNDS):
        a = await store.create_entity("customer", {"crm": [f"A-{round_}"]}, actor="seed")
        b = await store.create_entity("customer", {"crm": [f"B-{round_}"]}, actor="seed")
        key = f"10{round_:03d}"

        results = race(linkmap_url, [link(a.id, key, "ann"), link(b.id, key, "bob")])
        wins = [r for r in results if isinstance(r, AppliedChange)]
        losses = [r for r in results if isinstance(r, KeyAlreadyLinked)]
        assert len(wins) == 1 and len(losses) == 1, results
        (winner,) = wins[0].entities
        assert losses[0].entity_id == winner.id
        assert (losses[0].system, losses[0].key) == ("erp", key)
        owner = await store.resolve("customer", "erp", key)
        assert owner is not None and owner.id == winner.id
        linked_rows = [
            c
            for entity_id in (a.id, b.id)
            for c in await store.history(entity_id)
            if c.action == "link" and c.key == key
        ]
        assert len(linked_rows) == 1  # the loser left no history behind


async def test_two_concurrent_undos_of_one_change_exactly_one_wins(
    store: LinkStore, linkmap_url: str
) -> None:
    for round_ in range(ROUNDS // 3):
        a = await store.create_entity("supplier", {"erp": [f"S-{round_}"]}, actor="seed")
        b = await store.create_entity("supplier", {"erp": [f"T-{round_}"]}, actor="seed")
        merged = await store.merge(a.id, b.id, actor="seed")
        change_id = merged.change_id or 0
        results = race(linkmap_url, [undo(change_id, "ann"), undo(change_id, "bob")])
        assert sum(isinstance(r, AppliedChange) for r in results) == 1, results
        assert sum(isinstance(r, AlreadyUndone) for r in results) == 1, results
        assert await store.get(a.id) == a and await store.get(b.id) == b
