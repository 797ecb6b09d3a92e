"""Recorded, undoable changes of the link map: the values they hand out, their errors, and
:class:`ChangeWriter`, which writes one change inside the caller's transaction.

Promises:

* Every change is one ``link_changes`` row (operation, who, when, why) plus one
  ``link_history`` row per step, each naming the change. A step is ``create``/``delete`` of
  an entity (with its kind) or ``link``/``unlink`` of a key (with the provenance and
  validity the key had), so the steps replayed backwards restore the link map exactly.
* :func:`undo_steps` reverts a change's steps (so that entities also get their keys back
  in the order they had them) and checks each against the link map as it is now: if a
  later change touched the same keys or entities, it raises :class:`UndoConflict` and
  the caller's transaction writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from linkmap.errors import (
    EntityNotFound,
    InvalidInput,
    KeyAlreadyLinked,
    KeyNotLinked,
    LinkMapError,
)
from linkmap.models import Operation, entities, entity_keys, link_changes, link_history, utcnow
from linkmap.records import Entity

MAX_UNDO_STEPS: Final = 20_000
"""Largest change :func:`undo_steps` reverts (a bulk import of more rows is not undone)."""


class ChangeNotFound(LinkMapError):
    """No recorded change has id ``change_id``. Nothing was written."""

    def __init__(self, change_id: int) -> None:
        self.change_id = change_id
        super().__init__(f"link change {change_id} not found")


class AlreadyUndone(LinkMapError):
    """Change ``change_id`` was already undone by change ``undone_by``. Nothing was written."""

    def __init__(self, change_id: int, undone_by: int) -> None:
        self.change_id = change_id
        self.undone_by = undone_by
        super().__init__(f"link change {change_id} was already undone by change {undone_by}")


class UndoConflict(LinkMapError):
    """A later change touched what change ``change_id`` changed, so it cannot be undone
    exactly; ``reason`` says what. Nothing was written (undo the later change first)."""

    def __init__(self, change_id: int, reason: str) -> None:
        self.change_id = change_id
        self.reason = reason
        super().__init__(f"cannot undo link change {change_id}: {reason}")


@dataclass(frozen=True)
class KeyLink:
    """One key of an entity with where the link came from and when it holds (inclusive
    dates; None is open)."""

    system: str
    key: str
    provenance: str = "manual"
    valid_from: date | None = None
    valid_to: date | None = None

    def holds_on(self, day: date) -> bool:
        """Whether the link is valid on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class LinkedEntity:
    """An entity with every key link in full (provenance, validity), oldest link first."""

    id: int
    kind: str
    links: tuple[KeyLink, ...]

    def as_entity(self) -> Entity:
        """The plain :class:`Entity` (system -> keys) of this entity, every link included."""
        return Entity.build(self.id, self.kind, [(link.system, link.key) for link in self.links])


@dataclass(frozen=True)
class AppliedChange:
    """The result of a change: its id (None when nothing needed changing), its operation,
    and the entities it touched as they now are (deleted ones left out)."""

    change_id: int | None
    operation: str
    entities: tuple[LinkedEntity, ...]


@dataclass(frozen=True)
class ChangeStep:
    """One recorded step of a change (a ``link_history`` row)."""

    action: str
    entity_id: int
    kind: str | None
    system: str | None
    key: str | None
    provenance: str | None
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class ChangeRecord:
    """A recorded change: who made it, when, why, its steps, and the change that undid it
    (``undone_by``) or that it undoes (``undo_of``)."""

    id: int
    operation: str
    actor: str
    at: datetime
    reason: str | None
    undo_of: int | None
    undone_by: int | None
    steps: tuple[ChangeStep, ...]


def key_link_of(row: Any) -> KeyLink:
    """A :class:`KeyLink` from a row with ``system, key, provenance, valid_from, valid_to``."""
    return KeyLink(row.system, row.key, row.provenance, row.valid_from, row.valid_to)


async def load_linked(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, LinkedEntity]:
    """id -> :class:`LinkedEntity` for the existing ids among ``ids``, in the order of
    ``ids`` (one statement)."""
    if not ids:
        return {}
    stmt = (
        select(
            entities.c.id.label("entity_id"),
            entities.c.kind,
            entity_keys.c.system,
            entity_keys.c.key,
            entity_keys.c.provenance,
            entity_keys.c.valid_from,
            entity_keys.c.valid_to,
        )
        .select_from(entities.outerjoin(entity_keys, entity_keys.c.entity_id == entities.c.id))
        .where(entities.c.id.in_(list(ids)))
        .order_by(entities.c.id, entity_keys.c.id)
    )
    kinds: dict[int, str] = {}
    links: dict[int, list[KeyLink]] = {}
    for row in await conn.execute(stmt):
        kinds[row.entity_id] = row.kind
        found = links.setdefault(row.entity_id, [])
        if row.system is not None:
            found.append(key_link_of(row))
    return {i: LinkedEntity(i, kinds[i], tuple(links[i])) for i in ids if i in kinds}


_QUIET: Final[dict[str, frozenset[str]]] = {
    "delete": frozenset({"unlink"}),
    "create": frozenset({"link"}),
}


class ChangeWriter:
    """Writes the steps of one change in the caller's transaction: call :meth:`start`
    first, then the steps; each step writes its ``link_history`` row."""

    def __init__(
        self,
        conn: AsyncConnection,
        operation: Operation,
        actor: str,
        reason: str | None,
        *,
        undo_of: int | None = None,
        at: datetime | None = None,
    ) -> None:
        self.conn = conn
        self.operation = operation
        self.actor = actor
        self.reason = reason
        self.undo_of = undo_of
        self.at = at or utcnow()
        self.id: int | None = None
        self.touched: dict[int, None] = {}
        # the reason goes on every row, except the key rows of a deletion (on its ``delete``
        # row) and of a creation (on its ``create`` row)
        self._quiet = _QUIET.get(operation, frozenset())

    async def start(self) -> int:
        """Write the ``link_changes`` row; return its id."""
        values = {
            "operation": self.operation,
            "actor": self.actor,
            "at": self.at,
            "reason": self.reason,
            "undo_of": self.undo_of,
        }
        result = await self.conn.execute(
            insert(link_changes).values(**values).returning(link_changes.c.id)
        )
        self.id = int(result.scalar_one())
        return self.id

    def history_row(
        self, action: str, entity_id: int, kind: str, link: KeyLink | None = None
    ) -> dict[str, Any]:
        """The ``link_history`` row of one step of this change."""
        self.touched.setdefault(entity_id, None)
        return {
            "entity_id": entity_id,
            "action": action,
            "system": link.system if link else None,
            "key": link.key if link else None,
            "actor": self.actor,
            "at": self.at,
            "note": None if action in self._quiet else self.reason,
            "change_id": self.id,
            "kind": kind,
            "provenance": link.provenance if link else None,
            "valid_from": link.valid_from if link else None,
            "valid_to": link.valid_to if link else None,
        }

    async def _history(self, action: str, entity_id: int, kind: str, link: KeyLink | None) -> None:
        await self.conn.execute(
            insert(link_history).values(**self.history_row(action, entity_id, kind, link))
        )

    async def owner(self, kind: str, system: str, key: str) -> int | None:
        """The entity holding ``(kind, system, key)``, or None."""
        stmt = select(entity_keys.c.entity_id).where(
            entity_keys.c.kind == kind, entity_keys.c.system == system, entity_keys.c.key == key
        )
        found: int | None = (await self.conn.execute(stmt)).scalar_one_or_none()
        return found

    async def add_key(self, entity_id: int, kind: str, link: KeyLink) -> None:
        """Link ``link`` to entity ``entity_id`` (of ``kind``). Raises
        :class:`KeyAlreadyLinked` if an entity holds it (the unique constraint decides a
        race: the loser's insert fails and its transaction is retried by the store)."""
        owner = await self.owner(kind, link.system, link.key)
        if owner is not None:
            raise KeyAlreadyLinked(kind, link.system, link.key, owner)
        await self.conn.execute(
            insert(entity_keys).values(
                entity_id=entity_id,
                kind=kind,
                system=link.system,
                key=link.key,
                created_at=self.at,
                provenance=link.provenance,
                valid_from=link.valid_from,
                valid_to=link.valid_to,
            )
        )
        await self._history("link", entity_id, kind, link)

    async def remove_key(self, entity_id: int, kind: str, system: str, key: str) -> KeyLink:
        """Unlink ``system:key`` from entity ``entity_id``; return the link as it was.
        Raises :class:`KeyNotLinked`."""
        result = await self.conn.execute(
            delete(entity_keys)
            .where(
                entity_keys.c.entity_id == entity_id,
                entity_keys.c.system == system,
                entity_keys.c.key == key,
            )
            .returning(
                entity_keys.c.system,
                entity_keys.c.key,
                entity_keys.c.provenance,
                entity_keys.c.valid_from,
                entity_keys.c.valid_to,
            )
        )
        row = result.first()
        if row is None:
            raise KeyNotLinked(entity_id, system, key)
        link = key_link_of(row)
        await self._history("unlink", entity_id, kind, link)
        return link

    async def new_entity(self, kind: str, entity_id: int | None = None) -> int:
        """Create an entity of ``kind`` (with ``entity_id`` when restoring a deleted one);
        return its id."""
        values: dict[str, Any] = {"kind": kind, "created_at": self.at}
        if entity_id is not None:
            values["id"] = entity_id
        result = await self.conn.execute(insert(entities).values(**values).returning(entities.c.id))
        created = int(result.scalar_one())
        await self._history("create", created, kind, None)
        return created

    async def drop_entity(self, entity_id: int, kind: str) -> None:
        """Delete entity ``entity_id``, which holds no keys any more."""
        await self.conn.execute(delete(entities).where(entities.c.id == entity_id))
        await self._history("delete", entity_id, kind, None)


async def lock_entity(conn: AsyncConnection, entity_id: int) -> str:
    """Lock entity ``entity_id`` for the rest of the transaction and return its kind;
    raises :class:`EntityNotFound`."""
    stmt = select(entities.c.kind).where(entities.c.id == entity_id).with_for_update()
    kind: str | None = (await conn.execute(stmt)).scalar_one_or_none()
    if kind is None:
        raise EntityNotFound(entity_id)
    return kind


async def read_steps(
    conn: AsyncConnection, change_ids: Sequence[int]
) -> dict[int, list[ChangeStep]]:
    """change id -> its steps in the order they were made."""
    if not change_ids:
        return {}
    h = link_history.c
    stmt = (
        select(
            h.change_id,
            h.action,
            h.entity_id,
            h.kind,
            h.system,
            h.key,
            h.provenance,
            h.valid_from,
            h.valid_to,
        )
        .where(h.change_id.in_(list(change_ids)))
        .order_by(h.id)
    )
    found: dict[int, list[ChangeStep]] = {i: [] for i in change_ids}
    for row in await conn.execute(stmt):
        found[row.change_id].append(ChangeStep(*row[1:]))
    return found


async def undo_steps(change_id: int, steps: Sequence[ChangeStep], writer: ChangeWriter) -> None:
    """Revert ``steps`` (of change ``change_id``) newest first with ``writer``, checking that
    the link map is still as the change left it; raises :class:`UndoConflict` if not."""
    if len(steps) > MAX_UNDO_STEPS:
        raise InvalidInput(
            f"link change {change_id} has {len(steps)} steps; at most {MAX_UNDO_STEPS} are undone"
        )
    conn = writer.conn
    # Deleted entities come back first, then the keys the change linked are unlinked, then
    # the entities it created go, and last the keys it unlinked are linked again; each
    # group in the change's own order, so that every entity gets its keys back in the
    # order it had them (and undoing the undo restores that order too).
    phases = ("delete", "link", "create", "unlink")
    for step in [step for phase in phases for step in steps if step.action == phase]:
        if step.kind is None:
            raise UndoConflict(change_id, "it was recorded before changes could be undone")
        if step.action == "create":
            await _expect_entity(conn, change_id, step.entity_id, step.kind)
            linked = await load_linked(conn, [step.entity_id])
            if linked[step.entity_id].links:
                raise UndoConflict(change_id, f"{step.kind} {step.entity_id} has gained keys since")
            await writer.drop_entity(step.entity_id, step.kind)
        elif step.action == "delete":
            exists = await conn.execute(
                select(entities.c.id).where(entities.c.id == step.entity_id)
            )
            if exists.first() is not None:
                raise UndoConflict(change_id, f"entity {step.entity_id} exists again")
            await writer.new_entity(step.kind, step.entity_id)
        elif step.action == "link":
            link = _link_of(step)
            await _expect_entity(conn, change_id, step.entity_id, step.kind)
            now = await _current(conn, step.kind, link)
            if now != (step.entity_id, link):
                raise UndoConflict(
                    change_id,
                    f"{step.kind} key {link.system}:{link.key!r} was changed since (it is "
                    f"no longer linked to {step.kind} {step.entity_id} as the change left it)",
                )
            await writer.remove_key(step.entity_id, step.kind, link.system, link.key)
        elif step.action == "unlink":
            link = _link_of(step)
            await _expect_entity(conn, change_id, step.entity_id, step.kind)
            now = await _current(conn, step.kind, link)
            if now is not None:
                raise UndoConflict(
                    change_id,
                    f"{step.kind} key {link.system}:{link.key!r} has been linked to "
                    f"{step.kind} {now[0]} since",
                )
            await writer.add_key(step.entity_id, step.kind, link)


def _link_of(step: ChangeStep) -> KeyLink:
    assert step.system is not None and step.key is not None
    return KeyLink(
        step.system, step.key, step.provenance or "manual", step.valid_from, step.valid_to
    )


async def _expect_entity(conn: AsyncConnection, change_id: int, entity_id: int, kind: str) -> None:
    stmt = select(entities.c.kind).where(entities.c.id == entity_id).with_for_update()
    if (await conn.execute(stmt)).scalar_one_or_none() != kind:
        raise UndoConflict(change_id, f"{kind} {entity_id} has been deleted since")


async def _current(conn: AsyncConnection, kind: str, link: KeyLink) -> tuple[int, KeyLink] | None:
    """(owner, link as stored) of ``link``'s key, or None when it is not linked."""
    k = entity_keys.c
    stmt = select(k.entity_id, k.system, k.key, k.provenance, k.valid_from, k.valid_to).where(
        k.kind == kind, k.system == link.system, k.key == link.key
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else (row.entity_id, key_link_of(row))
