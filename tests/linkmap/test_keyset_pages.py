"""Keyset pages of the link map (``LinkStore.page_entities`` / ``count_entities``): the
filters a list pushes into SQL (row scope, ``linkedIn``, ``keys``) select exactly the
entities a plain Python filter selects; pages in either direction never repeat or skip
an entity, even while entities are added; and a page or a count costs one statement
whatever the size of the map."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from linkmap.records import Entity
from linkmap.scope import parse_scope
from linkmap.store import LinkStore
from tests.linkmap.fill import fill

ODD_KEYS = [
    "a_c-1",
    "abc-1",
    "a%c-1",
    "aXc-1",
    "50%",
    "50x",
    "back\\slash",
    "backXslash",
    "star*key",
    "ABC-1",
    "ab?",
    "abz",
    "[ab]1",
    "a1",
    "under_",
    "under",
]
"""Keys with characters that mean something to LIKE, GLOB or a regex."""

SCOPES = [
    ["customer:erp:a_c*"],
    ["customer:erp:a%c*"],
    ["customer:erp:50%"],
    ["customer:erp:back\\*"],
    ["customer:erp:star*"],
    ["customer:erp:abc*"],
    ["customer:erp:ab?"],
    ["customer:erp:[ab]*"],
    ["customer:erp:*_"],
    ["customer:erp:*"],
    ["customer:erp:a*1"],
    ["customer:crm:*", "customer:erp:under_"],
    ["supplier:erp:*"],
    ["customer:erp:a_c-1", "customer:erp:50x"],
]


async def _seed(store: LinkStore) -> list[Entity]:
    """Entities with odd ERP keys, some with a CRM key too, and one supplier."""
    made = []
    for index, key in enumerate(ODD_KEYS):
        keys = {"erp": [key]}
        if index % 3 == 0:
            keys["crm"] = [f"crm-{index}"]
        made.append(await store.create_entity("customer", keys, actor="test"))
    await store.create_entity("supplier", {"erp": ["a_c-1"]}, actor="test")
    return made


async def _walk(store: LinkStore, limit: int, **filters: Any) -> list[Entity]:
    found: list[Entity] = []
    after = None
    while True:
        page = await store.page_entities("customer", after_id=after, limit=limit, **filters)
        found.extend(page)
        if len(page) < limit:
            return found
        after = page[-1].id


@pytest.mark.parametrize("entries", SCOPES, ids=lambda e: " ".join(e))
async def test_a_scope_in_sql_admits_what_the_scope_admits(
    store: LinkStore, entries: list[str]
) -> None:
    made = await _seed(store)
    scope = parse_scope(entries)
    expected = [e for e in made if scope.admits(e)]
    assert await _walk(store, 3, scope=scope) == expected
    assert await store.count_entities("customer", scope=scope) == len(expected)


async def test_linked_in_and_keys_filter_in_sql_as_in_python(store: LinkStore) -> None:
    made = await _seed(store)
    linked = [e for e in made if e.keys_in("crm")]
    assert linked and len(linked) < len(made)
    assert await _walk(store, 2, linked_in=["crm"]) == linked
    assert await store.count_entities("customer", linked_in=["crm", "erp"]) == len(linked)
    assert await _walk(store, 2, linked_in=["crm", "timesheet"]) == []
    wanted = ("erp", ("a_c-1", "50%", "nope", "a_c-1"))
    by_keys = [e for e in made if set(e.keys_in("erp")) & set(wanted[1])]
    assert await _walk(store, 5, keys=wanted) == by_keys
    assert await store.count_entities("customer", keys=wanted) == 2
    scope = parse_scope(["customer:erp:a*"])
    both = [e for e in by_keys if scope.admits(e)]
    assert await _walk(store, 5, keys=wanted, scope=scope) == both
    assert await store.count_entities("customer", keys=("crm", ["a_c-1"])) == 0


async def test_unlinked_in_keeps_the_entities_without_a_key_there(store: LinkStore) -> None:
    made = await _seed(store)
    without = [e for e in made if not e.keys_in("crm")]
    assert await _walk(store, 4, unlinked_in=["crm"]) == without
    assert await store.count_entities("customer", unlinked_in=["crm"]) == len(without)
    assert await _walk(store, 4, unlinked_in=["crm"], linked_in=["crm"]) == []


async def test_descending_pages_are_the_ascending_ones_reversed(store: LinkStore) -> None:
    made = await _seed(store)
    down: list[Entity] = []
    after = None
    while page := await store.page_entities("customer", after_id=after, limit=4, descending=True):
        down.extend(page)
        after = page[-1].id
    assert down == list(reversed(made))
    assert [e.keys for e in down] == [e.keys for e in reversed(made)]


@pytest.mark.parametrize("descending", [False, True])
async def test_pages_neither_repeat_nor_skip_while_entities_are_added(
    store: LinkStore, linkmap_url: str, descending: bool
) -> None:
    before = await fill(linkmap_url, "customer", 50)
    seen: list[int] = []
    after = None
    while True:
        page = await store.page_entities("customer", after_id=after, limit=7, descending=descending)
        seen.extend(e.id for e in page)
        if len(page) < 7:
            break
        after = page[-1].id
        if len(seen) < 40:  # entities added between pages, then the walk catches up
            await store.create_entity("customer", {"erp": [f"new-{len(seen)}"]}, actor="test")
    added = await store.count_entities("customer") - len(before)
    assert len(seen) == len(set(seen)), "no entity twice"
    if descending:  # entities added meanwhile sort before the position: never reached
        assert seen == sorted(before, reverse=True)
    else:  # added ones come after: every entity once, in id order, the new ones too
        assert seen == sorted(seen) and seen[: len(before)] == before
        assert len(seen) == len(before) + added


TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})


@contextmanager
def counting(store: LinkStore) -> Iterator[list[str]]:
    """The SQL statements the store's engine runs inside the block (transaction
    control, which SQLite issues itself, left out)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
            statements.append(statement)

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
async def big_store(linkmap_url: str) -> AsyncIterator[tuple[LinkStore, str]]:
    async with LinkStore.from_url(linkmap_url) as store:
        yield store, linkmap_url


async def _page_and_count_statements(store: LinkStore, after: int) -> tuple[int, int]:
    scope = parse_scope(["customer:erp:E*"])
    with counting(store) as page:
        rows = await store.page_entities(
            "customer", after_id=after, limit=11, linked_in=["crm"], scope=scope
        )
    assert len(rows) == 11
    with counting(store) as count:
        await store.count_entities("customer", linked_in=["crm"], scope=scope)
    return len(page), len(count)


async def test_a_page_and_a_count_cost_one_statement_at_100_and_10000_entities(
    big_store: tuple[LinkStore, str],
) -> None:
    store, url = big_store
    ids = await fill(url, "customer", 100)
    small = await _page_and_count_statements(store, ids[40])
    ids += await fill(url, "customer", 9_900)
    assert await store.count_entities("customer") == 10_000
    large = await _page_and_count_statements(store, ids[5_000])
    assert small == large == (1, 1)
