"""Issue 22: link administration in the link map, on SQLite and PostgreSQL. Every change
(link, unlink, move, merge, split, validity) is recorded with who, when and why and can be
undone exactly; links carry their provenance and a validity period; one CRM account
linked to several ERP customers (one per legal entity) is normal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from linkmap import Entity, KeyAlreadyLinked, LinkStore
from linkmap.changes import AlreadyUndone, KeyLink, LinkedEntity, UndoConflict
from linkmap.errors import InvalidInput, KeyNotLinked
from linkmap.store import today


async def state(store: LinkStore, *ids: int) -> dict[int, LinkedEntity]:
    return await store.linked(ids)


async def test_undo_of_a_merge_restores_the_exact_earlier_keys(store: LinkStore) -> None:
    # Two CRM accounts were the same company: one merged into the other by mistake.
    closed = date(2024, 12, 31)
    a = await store.create_entity(
        "customer", {"crm": ["ACC-1"], "erp": ["10023", "20023"]}, actor="seed"
    )
    b = await store.create_entity("customer", {"crm": ["ACC-2"]}, actor="seed", provenance="import")
    await store.link_key(b.id, "erp", "10077", actor="ann", valid_to=closed)
    await store.link_key(b.id, "timesheet", "acme", actor="ann", provenance="suggestion")
    before = await state(store, a.id, b.id)

    merged = await store.merge(a.id, b.id, actor="bob", reason="same company")
    assert [e.id for e in merged.entities] == [a.id]
    assert await store.get(b.id) is None
    resolved = await store.resolve("customer", "crm", "ACC-2")
    assert resolved is not None and resolved.id == a.id
    assert resolved.keys_in("erp") == ("10023", "20023")  # 10077 was closed: not read

    undone = await store.undo(merged.change_id or 0, actor="carol", reason="not the same")
    assert await state(store, a.id, b.id) == before  # keys, order, provenance, validity
    assert {e.id for e in undone.entities} == {a.id, b.id}
    assert await store.resolve("customer", "erp", "10077") is None  # still closed
    assert (await store.resolve("customer", "crm", "ACC-2")) == Entity(
        b.id, "customer", {"crm": ("ACC-2",), "timesheet": ("acme",)}
    )

    (undo, merge, *_rest) = await store.changes(entity_id=b.id)
    assert (undo.operation, undo.actor, undo.reason, undo.undo_of) == (
        "undo",
        "carol",
        "not the same",
        merge.id,
    )
    assert (merge.operation, merge.actor, merge.reason, merge.undone_by) == (
        "merge",
        "bob",
        "same company",
        undo.id,
    )
    with pytest.raises(AlreadyUndone):
        await store.undo(merge.id, actor="dave")
    # an undo is a change too: undoing it merges again
    await store.undo(undo.id, actor="erin")
    assert await store.get(b.id) is None
    assert (await state(store, a.id))[a.id].links == (before[a.id].links + before[b.id].links)


async def test_undo_refuses_when_a_later_change_touched_the_same_keys(store: LinkStore) -> None:
    a = await store.create_entity("supplier", {"erp": ["S-1"]}, actor="seed")
    b = await store.create_entity("supplier", {"erp": ["S-2"]}, actor="seed")
    moved = await store.move_key("erp", "S-2", a.id, actor="ann", reason="duplicate")
    await store.unlink_key(a.id, "erp", "S-2", actor="bob")
    snapshot = await state(store, a.id, b.id)
    with pytest.raises(UndoConflict, match="S-2"):
        await store.undo(moved.change_id or 0, actor="carol")
    assert await state(store, a.id, b.id) == snapshot  # nothing written
    (latest, *_older) = await store.changes(entity_id=a.id)
    await store.undo(latest.id, actor="carol")  # undo the later change first...
    await store.undo(moved.change_id or 0, actor="carol")  # ...then this one is exact
    assert (await store.get(b.id)) == b


async def test_split_and_its_undo(store: LinkStore) -> None:
    # One CRM account for two ERP customers (one per legal entity) is normal...
    group = await store.create_entity(
        "customer", {"crm": ["ACC-9"], "erp": ["DE-1", "AT-1"], "timesheet": ["t9"]}, actor="s"
    )
    assert (await store.resolve("customer", "erp", "AT-1")) == group
    # ...but here the Austrian one is another company after all.
    split = await store.split(group.id, [("erp", "AT-1"), ("timesheet", "t9")], actor="ann")
    kept, new = split.entities
    assert kept.as_entity() == Entity(group.id, "customer", {"crm": ("ACC-9",), "erp": ("DE-1",)})
    assert new.as_entity() == Entity(new.id, "customer", {"erp": ("AT-1",), "timesheet": ("t9",)})
    await store.undo(split.change_id or 0, actor="ann")
    assert await store.get(group.id) == group
    assert await store.get(new.id) is None
    with pytest.raises(KeyNotLinked):
        await store.split(group.id, [("erp", "XX")], actor="ann")
    with pytest.raises(InvalidInput):
        await store.split(group.id, [], actor="ann")


async def test_a_key_resolves_only_within_its_validity(store: LinkStore) -> None:
    day = today()
    old = await store.create_entity("customer", {"crm": ["OLD"]}, actor="s")
    await store.link_key(old.id, "erp", "500", actor="s", valid_to=day - timedelta(days=1))
    assert await store.resolve("customer", "erp", "500") is None  # the customer was closed
    found = await store.resolve("customer", "crm", "OLD")
    assert found is not None and found.keys_in("erp") == ()  # its old number is not read
    # The number is reused by a new customer: move it, valid from today.
    new = await store.create_entity("customer", {"crm": ["NEW"]}, actor="s")
    moved = await store.move_key("erp", "500", new.id, actor="ann", reason="number reused")
    await store.set_validity(new.id, "erp", "500", day, None, actor="ann")
    assert (await store.resolve("customer", "erp", "500")) == Entity(
        new.id, "customer", {"crm": ("NEW",), "erp": ("500",)}
    )
    future = await store.create_entity("customer", {"erp": ["600"]}, actor="s")
    await store.set_validity(future.id, "erp", "600", day + timedelta(days=1), None, actor="a")
    assert await store.resolve("customer", "erp", "600") is None
    with pytest.raises(InvalidInput, match="after"):
        await store.link_key(
            new.id, "erp", "7", actor="a", valid_from=day, valid_to=day - timedelta(1)
        )
    with pytest.raises(InvalidInput, match="provenance"):
        await store.link_key(new.id, "erp", "7", actor="a", provenance="guess")
    assert moved.entities[0].links == (KeyLink("crm", "OLD"),)  # the old customer's rest


async def test_links_carry_provenance_and_history_says_who_when_why(store: LinkStore) -> None:
    entity = await store.create_entity("project", {"erp": ["P-1"]}, actor="seed")
    applied = await store.link_key(
        entity.id, "timesheet", "proj-1", actor="ann", reason="suggested", provenance="suggestion"
    )
    assert applied.entities[0].links == (
        KeyLink("erp", "P-1", "manual"),
        KeyLink("timesheet", "proj-1", "suggestion"),
    )
    again = await store.link_key(entity.id, "timesheet", "proj-1", actor="ann")
    assert again.change_id is None  # nothing to change, nothing recorded
    (change, created) = await store.changes(entity_id=entity.id)
    assert (change.operation, change.actor, change.reason) == ("link", "ann", "suggested")
    assert change.at.tzinfo is not None and change.at >= created.at
    assert [(s.action, s.system, s.key, s.provenance) for s in change.steps] == [
        ("link", "timesheet", "proj-1", "suggestion")
    ]
    # the older, per-entity history keeps working too
    assert [c.action for c in await store.history(entity.id)] == ["create", "link", "link"]
    linked = await store.link(entity.id, "crm", "OPP-1", actor="a", provenance="suggestion")
    assert linked.keys_in("crm") == ("OPP-1",)
    other = await store.create_entity("project", {"erp": ["P-2"]}, actor="seed")
    with pytest.raises(InvalidInput, match="already holds"):
        await store.move_key("erp", "P-2", other.id, actor="a")
    with pytest.raises(KeyAlreadyLinked):  # a key belongs to one entity of a kind
        await store.link_key(other.id, "erp", "P-1", actor="a")
