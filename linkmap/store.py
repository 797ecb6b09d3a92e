"""The link map API the gateway uses: :class:`LinkStore`.

Promises (identical on SQLite and PostgreSQL):

* Every write is one transaction: it happens completely, together with its history rows,
  or not at all. Expected failures raise the typed errors of :mod:`linkmap.errors` and
  leave the database unchanged.
* A key ``(kind, system, key)`` belongs to at most one entity, even under concurrent
  writers (the database's unique constraint decides; the loser gets ``KeyAlreadyLinked``).
* Batched reads cost one SQL statement per :data:`CHUNK` requested keys/ids, never one
  per key.
* Returned values are immutable snapshots (:class:`~linkmap.records.Entity`,
  :class:`~linkmap.records.LinkChange`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from linkmap import validate
from linkmap.changes import (
    AlreadyUndone,
    AppliedChange,
    ChangeNotFound,
    ChangeRecord,
    ChangeWriter,
    KeyLink,
    LinkedEntity,
    load_linked,
    lock_entity,
    read_steps,
    undo_steps,
)
from linkmap.db import WRITE, create_engine
from linkmap.errors import (
    ConcurrentChange,
    EntityNotFound,
    InvalidInput,
    KeyAlreadyLinked,
    KeyNotLinked,
)
from linkmap.models import (
    Action,
    Operation,
    entities,
    entity_keys,
    link_changes,
    link_history,
    utcnow,
)
from linkmap.records import Entity, LinkChange
from linkmap.scope import Scope
from linkmap.validate import KeyMap

CHUNK: Final = 500
"""Maximum number of keys (or ids) bound into one SQL statement."""

MAX_PAGE: Final = 1000
"""Largest ``limit`` accepted by :meth:`LinkStore.list_entities`."""

_ATTEMPTS: Final = 3
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_T = TypeVar("_T")
_Triple = tuple[str, str, str]  # (kind, system, key)


def _is_conflict(exc: DBAPIError) -> bool:
    """True if ``exc`` means "lost a race with a concurrent writer"."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(exc, IntegrityError) or sqlstate in _RETRYABLE_SQLSTATES


def _chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _entities_from_rows(rows: Iterable[Sequence[Any]]) -> dict[int, Entity]:
    """Fold rows ``(entity_id, kind, key_id, system, key)`` (ordered by entity, then key id;
    key columns NULL for an entity without keys) into entities, keeping row order."""
    kinds: dict[int, str] = {}
    pairs: dict[int, dict[int, tuple[str, str]]] = {}
    for entity_id, kind, key_id, system, key in rows:
        kinds.setdefault(entity_id, kind)
        found = pairs.setdefault(entity_id, {})
        if key_id is not None:
            found.setdefault(key_id, (system, key))
    return {
        entity_id: Entity.build(entity_id, kinds[entity_id], list(pairs[entity_id].values()))
        for entity_id in kinds
    }


def _history_row(
    entity_id: int,
    action: Action,
    actor: str,
    at: datetime,
    *,
    system: str | None = None,
    key: str | None = None,
    note: str | None = None,
    change_id: int | None = None,
    kind: str | None = None,
    provenance: str | None = None,
) -> dict[str, Any]:
    return {
        "entity_id": entity_id,
        "action": action,
        "system": system,
        "key": key,
        "actor": actor,
        "at": at,
        "note": note,
        "change_id": change_id,
        "kind": kind,
        "provenance": provenance,
        "valid_from": None,
        "valid_to": None,
    }


def _creation_rows(
    entity_id: int,
    kind: str,
    keys: KeyMap,
    actor: str,
    at: datetime,
    note: str | None,
    *,
    change_id: int | None = None,
    provenance: str = "manual",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (entity_keys rows, link_history rows) for a newly created entity whose links
    have ``provenance``, recorded as steps of change ``change_id``."""
    key_rows: list[dict[str, Any]] = []
    history = [
        _history_row(entity_id, "create", actor, at, note=note, change_id=change_id, kind=kind)
    ]
    for system, values in keys.items():
        for key in values:
            key_rows.append(
                {
                    "entity_id": entity_id,
                    "kind": kind,
                    "system": system,
                    "key": key,
                    "created_at": at,
                    "provenance": provenance,
                }
            )
            history.append(
                _history_row(
                    entity_id,
                    "link",
                    actor,
                    at,
                    system=system,
                    key=key,
                    change_id=change_id,
                    kind=kind,
                    provenance=provenance,
                )
            )
    return key_rows, history


async def start_change(
    conn: AsyncConnection, operation: Operation, actor: str, reason: str | None, at: datetime
) -> int:
    """Write the ``link_changes`` row of a change made with :func:`_creation_rows` rows;
    return its id."""
    writer = ChangeWriter(conn, operation, actor, reason, at=at)
    return await writer.start()


def _valid_on(keys: Any, day: Any) -> ColumnElement[bool]:
    """The key row (columns ``keys``) is valid on ``day`` (validity dates inclusive)."""
    return and_(
        or_(keys.valid_from.is_(None), keys.valid_from <= day),
        or_(keys.valid_to.is_(None), keys.valid_to >= day),
    )


def today() -> date:
    """Today's date in UTC: the day validity periods are checked against."""
    return utcnow().date()


_LIKE_ESCAPE: Final = "\\"
_K = entity_keys.alias("k")


def like_pattern(pattern: str) -> str:
    """A scope pattern (``*``: any run of characters, everything else literal) as a SQL
    ``LIKE`` pattern with ``\\`` as escape: ``%``, ``_`` and ``\\`` are escaped."""
    literal_parts = (
        part.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
        for part in pattern.split("*")
    )
    return "%".join(literal_parts)


def glob_pattern(pattern: str) -> str:
    """A scope pattern as an SQLite ``GLOB`` pattern (case-sensitive, unlike SQLite's
    ``LIKE``): ``*`` stays the wildcard; ``?`` and ``[`` are matched literally."""
    return pattern.replace("[", "[[]").replace("?", "[?]")


def _key_matches(key: ColumnElement[str], pattern: str, dialect: str) -> ColumnElement[bool]:
    """``key`` matches the scope ``pattern`` exactly as :meth:`Scope.admits` decides:
    case-sensitive, the whole key."""
    if "*" not in pattern:
        return key == literal(pattern)
    if dialect == "sqlite":
        return key.op("GLOB")(literal(glob_pattern(pattern)))
    return key.like(literal(like_pattern(pattern)), escape=_LIKE_ESCAPE)


def _holds_key(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """``EXISTS`` a key of the entity (alias ``_K``) meeting ``where``."""
    return exists().where(_K.c.entity_id == entities.c.id, *where)


def _entity_filters(
    kind: str,
    dialect: str,
    linked_in: Iterable[str],
    scope: Scope | None,
    keys: tuple[str, Sequence[str]] | None,
    unlinked_in: Iterable[str] = (),
) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``entities`` for the filters of
    :meth:`LinkStore.page_entities`, each an ``EXISTS`` over the entity's keys."""
    conditions: list[ColumnElement[bool]] = [entities.c.kind == kind]
    for system in sorted(set(linked_in)):
        conditions.append(_holds_key(_K.c.system == system))
    for system in sorted(set(unlinked_in)):
        conditions.append(~_holds_key(_K.c.system == system))
    if keys is not None:
        system, wanted = keys
        valid = [key for key in dict.fromkeys(wanted) if validate.is_key(key)]
        conditions.append(
            _holds_key(_K.c.kind == kind, _K.c.system == system, _K.c.key.in_(valid))
            if valid
            else false()
        )
    if scope is not None:
        entries = [e for e in scope.entries if e.kind == kind]
        admitted = [
            and_(_K.c.system == e.system, _key_matches(_K.c.key, e.pattern, dialect))
            for e in entries
        ]
        conditions.append(_holds_key(or_(*admitted)) if admitted else false())
    return conditions


_K1, _K2 = entity_keys.alias("k1"), entity_keys.alias("k2")
_RESOLVE_KEYS = (
    select(_K1.c.key, _K2.c.entity_id, _K2.c.kind, _K2.c.id, _K2.c.system, _K2.c.key)
    .join_from(
        _K1,
        _K2,
        and_(_K2.c.entity_id == _K1.c.entity_id, _valid_on(_K2.c, bindparam("today"))),
    )
    .where(
        _K1.c.kind == bindparam("kind"),
        _K1.c.system == bindparam("system"),
        _K1.c.key.in_(bindparam("keys", expanding=True)),
        _valid_on(_K1.c, bindparam("today")),
    )
    .order_by(_K2.c.entity_id, _K2.c.id)
)
"""Every key valid on ``today`` of the entities holding ``keys`` (valid on ``today``) in
``system``: built once, so the hot path reuses SQLAlchemy's compiled form instead of
building a statement per lookup."""


class LinkStore:
    """Entities and their keys per system, over an AsyncEngine whose database has been
    migrated (:func:`linkmap.migrate.upgrade`). Safe for concurrent use by many tasks;
    the store owns the engine and :meth:`close` disposes it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE: True})

    @classmethod
    def from_url(cls, url: str) -> LinkStore:
        """Return a store on a new engine for ``url`` (see :func:`linkmap.db.create_engine`)."""
        return cls(create_engine(url))

    @property
    def engine(self) -> AsyncEngine:
        """The engine this store runs on."""
        return self._engine

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ reads

    async def resolve(self, kind: str, system: str, key: str) -> Entity | None:
        """Return the entity of ``kind`` that holds ``key`` in ``system``, or None."""
        return (await self.resolve_many(kind, system, [key])).get(key)

    async def resolve_many(self, kind: str, system: str, keys: Sequence[str]) -> dict[str, Entity]:
        """Return requested key -> entity for every key in ``keys`` linked in ``system``.

        Keys not linked are absent; the dict follows the order of ``keys`` (duplicates
        collapse); keys of one entity map to equal Entity objects. A link resolves only
        within its validity period (today, UTC) and the entity holds only the keys valid
        today. One SQL statement per :data:`CHUNK` distinct keys.
        """
        validate.kind(kind)
        # a key no link can hold (e.g. with a NUL, which PostgreSQL refuses) is simply
        # not linked: it never reaches the database
        wanted = [k for k in dict.fromkeys(keys) if validate.is_key(k)]
        if not wanted:
            return {}
        owner: dict[str, int] = {}
        found: dict[int, Entity] = {}
        day = today()
        async with self._engine.connect() as conn:
            for chunk in _chunks(wanted):
                params = {"kind": kind, "system": system, "keys": chunk, "today": day}
                rows = (await conn.execute(_RESOLVE_KEYS, params)).all()
                for row in rows:
                    owner[row[0]] = row[1]
                found.update(_entities_from_rows(row[1:] for row in rows))
        return {key: found[owner[key]] for key in wanted if key in owner}

    async def get(self, entity_id: int) -> Entity | None:
        """Return the entity with ``entity_id``, or None if there is none."""
        return (await self.get_many([entity_id])).get(entity_id)

    async def get_many(self, ids: Iterable[int]) -> dict[int, Entity]:
        """Return id -> entity for the ids that exist, in the order of ``ids``.
        One SQL statement per :data:`CHUNK` distinct ids."""
        wanted = list(dict.fromkeys(ids))
        found: dict[int, Entity] = {}
        async with self._engine.connect() as conn:
            for chunk in _chunks(wanted):
                found.update(await self._load(conn, chunk))
        return {entity_id: found[entity_id] for entity_id in wanted if entity_id in found}

    async def list_entities(
        self, kind: str, *, after_id: int | None = None, limit: int = 100
    ) -> list[Entity]:
        """Return up to ``limit`` entities of ``kind`` with id greater than ``after_id``,
        ascending by id (keyset pagination: pass the last id of a page to get the next;
        an empty list means the end). One SQL statement. ``1 <= limit <= MAX_PAGE``."""
        validate.kind(kind)
        validate.limit(limit, MAX_PAGE)
        page = select(entities.c.id, entities.c.kind).where(entities.c.kind == kind)
        if after_id is not None:
            page = page.where(entities.c.id > after_id)
        sub = page.order_by(entities.c.id).limit(limit).subquery("page")
        stmt = (
            select(sub.c.id, sub.c.kind, entity_keys.c.id, entity_keys.c.system, entity_keys.c.key)
            .select_from(sub.outerjoin(entity_keys, entity_keys.c.entity_id == sub.c.id))
            .order_by(sub.c.id, entity_keys.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return list(_entities_from_rows(rows).values())

    async def page_entities(
        self,
        kind: str,
        *,
        after_id: int | None = None,
        limit: int = 100,
        descending: bool = False,
        linked_in: Iterable[str] = (),
        scope: Scope | None = None,
        keys: tuple[str, Sequence[str]] | None = None,
        unlinked_in: Iterable[str] = (),
    ) -> list[Entity]:
        """Return up to ``limit`` entities of ``kind`` after ``after_id`` in id order
        (ascending, or descending with ``descending``), keeping only those that hold keys
        in every system of ``linked_in``, that ``scope`` admits (as :meth:`Scope.admits`
        decides), with ``keys=(system, keys)``, that hold one of ``keys`` in ``system``,
        and (``unlinked_in``) that hold no key in any of those systems. Keyset
        pagination: pass the last id of a page to get the next; fewer than ``limit``
        entities means the end.

        One SQL statement (the page and its keys), whose cost follows ``limit`` and how
        many entities the filters skip, not the size of the map (index on
        ``entities(kind, id)``). ``1 <= limit <= MAX_PAGE``."""
        validate.kind(kind)
        validate.limit(limit, MAX_PAGE)
        dialect = self._engine.dialect.name
        page = select(entities.c.id, entities.c.kind).where(
            *_entity_filters(kind, dialect, linked_in, scope, keys, unlinked_in)
        )
        if after_id is not None:
            page = page.where(entities.c.id < after_id if descending else entities.c.id > after_id)
        order = entities.c.id.desc() if descending else entities.c.id
        sub = page.order_by(order).limit(limit).subquery("page")
        stmt = (
            select(sub.c.id, sub.c.kind, entity_keys.c.id, entity_keys.c.system, entity_keys.c.key)
            .select_from(sub.outerjoin(entity_keys, entity_keys.c.entity_id == sub.c.id))
            .order_by(sub.c.id.desc() if descending else sub.c.id, entity_keys.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return list(_entities_from_rows(rows).values())

    async def count_entities(
        self,
        kind: str,
        *,
        linked_in: Iterable[str] = (),
        scope: Scope | None = None,
        keys: tuple[str, Sequence[str]] | None = None,
        unlinked_in: Iterable[str] = (),
    ) -> int:
        """How many entities :meth:`page_entities` would walk with the same filters, in
        one ``COUNT`` statement."""
        validate.kind(kind)
        dialect = self._engine.dialect.name
        stmt = (
            select(func.count())
            .select_from(entities)
            .where(*_entity_filters(kind, dialect, linked_in, scope, keys, unlinked_in))
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def history(self, entity_id: int) -> list[LinkChange]:
        """Return every recorded change of ``entity_id``, oldest first. Kept after the
        entity is deleted; an id that never existed yields ``[]``."""
        stmt = (
            select(
                link_history.c.action,
                link_history.c.system,
                link_history.c.key,
                link_history.c.actor,
                link_history.c.at,
                link_history.c.note,
            )
            .where(link_history.c.entity_id == entity_id)
            .order_by(link_history.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [LinkChange(*row) for row in rows]

    # ----------------------------------------------------------------- writes

    async def create_entity(
        self,
        kind: str,
        keys: Mapping[str, Sequence[str]],
        *,
        actor: str,
        note: str | None = None,
        provenance: str = "manual",
    ) -> Entity:
        """Create an entity of ``kind`` holding ``keys`` (system -> keys, at least one key;
        duplicates collapse; links of ``provenance``) and return it. Records a ``create``
        change (with ``note`` as its reason): a ``create`` row and one ``link`` row per key.
        If any key already belongs to an entity, raises :class:`KeyAlreadyLinked` for the
        first such key in input order and writes nothing.
        """
        validate.kind(kind)
        key_map = validate.key_map(keys)
        validate.actor(actor)
        validate.provenance(provenance)

        async def op(conn: AsyncConnection) -> Entity:
            owners = await self._owners(
                conn, [(kind, s, k) for s, ks in key_map.items() for k in ks]
            )
            clash = next(iter(owners.items()), None)
            if clash is not None:
                (_, system, key), owner = clash
                raise KeyAlreadyLinked(kind, system, key, owner)
            at = utcnow()
            change_id = await start_change(conn, "create", actor, note, at)
            result = await conn.execute(
                insert(entities).values(kind=kind, created_at=at).returning(entities.c.id)
            )
            entity_id = result.scalar_one()
            key_rows, history = _creation_rows(
                entity_id,
                kind,
                key_map,
                actor,
                at,
                note,
                change_id=change_id,
                provenance=provenance,
            )
            await conn.execute(insert(entity_keys), key_rows)
            await conn.execute(insert(link_history), history)
            return Entity(entity_id, kind, key_map)

        return await self._write(op)

    async def link(
        self,
        entity_id: int,
        system: str,
        key: str,
        *,
        actor: str,
        note: str | None = None,
        provenance: str = "manual",
        valid_from: date | None = None,
        valid_to: date | None = None,
    ) -> Entity:
        """Add ``key`` in ``system`` to entity ``entity_id`` and return the entity as it now
        is (see :meth:`link_key`, whose result this simplifies)."""
        applied = await self.link_key(
            entity_id,
            system,
            key,
            actor=actor,
            reason=note,
            provenance=provenance,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        return applied.entities[0].as_entity()

    async def unlink(
        self, entity_id: int, system: str, key: str, *, actor: str, note: str | None = None
    ) -> Entity:
        """Remove ``key`` in ``system`` from entity ``entity_id`` and return the entity as it
        now is (possibly without keys; it is not deleted); records an ``unlink`` row. Raises
        :class:`EntityNotFound`, or :class:`KeyNotLinked` if the entity does not hold it."""
        applied = await self.unlink_key(entity_id, system, key, actor=actor, reason=note)
        return applied.entities[0].as_entity()

    async def delete_entity(self, entity_id: int, *, actor: str, note: str | None = None) -> Entity:
        """Delete entity ``entity_id`` with all its keys and return it as it was. Records an
        ``unlink`` row per key, then a ``delete`` row (with ``note``); the history stays
        readable. The id is never reused. Raises :class:`EntityNotFound`."""
        validate.actor(actor)

        async def op(conn: AsyncConnection) -> Entity:
            kind = await self._lock(conn, entity_id)
            linked = (await load_linked(conn, [entity_id]))[entity_id]
            change = ChangeWriter(conn, "delete", actor, note)
            await change.start()
            for link in linked.links:
                await change.remove_key(entity_id, kind, link.system, link.key)
            await change.drop_entity(entity_id, kind)
            return linked.as_entity()

        return await self._write(op)

    async def bulk_import(
        self,
        links: Iterable[tuple[str, Mapping[str, Sequence[str]]]],
        *,
        actor: str,
        note: str | None = None,
    ) -> int:
        """Create many entities from ``(kind, {system: keys})`` entries in one transaction
        with batched inserts; return how many were created.

        Re-running an import is harmless: an entry whose keys all belong to one existing
        entity (or to an earlier entry of the same batch) is skipped. An entry with some
        keys already linked and others not, or keys spread over several entities, raises
        :class:`KeyAlreadyLinked` (an existing entity is involved) or :class:`InvalidInput`
        (entries of the batch contradict each other); then nothing is written.
        History is recorded as for :meth:`create_entity`, as one ``import`` change whose
        links have provenance ``import``.
        """
        validate.actor(actor)
        entries = [(validate.kind(kind), validate.key_map(keys)) for kind, keys in links]
        if not entries:
            return 0

        async def op(conn: AsyncConnection) -> int:
            triples = [(k, s, key) for k, km in entries for s, ks in km.items() for key in ks]
            existing = await self._owners(conn, triples)
            plan = _plan_import(entries, existing)
            if not plan:
                return 0
            at = utcnow()
            change_id = await start_change(conn, "import", actor, note, at)
            ids = await self._insert_entities(conn, [entries[i][0] for i in plan], at)
            key_rows: list[dict[str, Any]] = []
            history: list[dict[str, Any]] = []
            for entity_id, index in zip(ids, plan, strict=True):
                kind, key_map = entries[index]
                more_keys, more_history = _creation_rows(
                    entity_id,
                    kind,
                    key_map,
                    actor,
                    at,
                    note,
                    change_id=change_id,
                    provenance="import",
                )
                key_rows += more_keys
                history += more_history
            await conn.execute(insert(entity_keys), key_rows)
            await conn.execute(insert(link_history), history)
            return len(plan)

        return await self._write(op)

    # ----------------------------------------------------------- link admin

    async def link_key(
        self,
        entity_id: int,
        system: str,
        key: str,
        *,
        actor: str,
        reason: str | None = None,
        provenance: str = "manual",
        valid_from: date | None = None,
        valid_to: date | None = None,
    ) -> AppliedChange:
        """Link ``key`` in ``system`` to entity ``entity_id`` with ``provenance`` and the
        validity period, as one recorded ``link`` change. Linking a key the entity already
        holds changes nothing and records nothing (``change_id`` None). Raises
        :class:`EntityNotFound`, or :class:`KeyAlreadyLinked` if another entity holds the
        key: of two concurrent links of one key exactly one wins (the unique constraint
        decides; the loser is retried and sees the winner)."""
        link = self._key_link(system, key, actor, provenance, valid_from, valid_to)

        async def op(conn: AsyncConnection) -> AppliedChange:
            kind = await lock_entity(conn, entity_id)
            change = ChangeWriter(conn, "link", actor, reason)
            owner = await change.owner(kind, system, key)
            if owner == entity_id:
                return await _applied(conn, None, "link", [entity_id])
            if owner is not None:
                raise KeyAlreadyLinked(kind, system, key, owner)
            await change.start()
            await change.add_key(entity_id, kind, link)
            return await _applied(conn, change.id, "link", [entity_id])

        return await self._write(op)

    async def unlink_key(
        self, entity_id: int, system: str, key: str, *, actor: str, reason: str | None = None
    ) -> AppliedChange:
        """Unlink ``system:key`` from entity ``entity_id`` (which stays, possibly without
        keys) as one ``unlink`` change. Raises :class:`EntityNotFound` or
        :class:`KeyNotLinked`."""
        validate.actor(actor)

        async def op(conn: AsyncConnection) -> AppliedChange:
            kind = await lock_entity(conn, entity_id)
            change = ChangeWriter(conn, "unlink", actor, reason)
            await change.start()
            await change.remove_key(entity_id, kind, system, key)
            return await _applied(conn, change.id, "unlink", [entity_id])

        return await self._write(op)

    async def set_validity(
        self,
        entity_id: int,
        system: str,
        key: str,
        valid_from: date | None,
        valid_to: date | None,
        *,
        actor: str,
        reason: str | None = None,
    ) -> AppliedChange:
        """Set the validity period of entity ``entity_id``'s link of ``system:key`` as one
        ``validity`` change (provenance kept). Raises :class:`KeyNotLinked`."""
        validate.actor(actor)
        validate.validity(valid_from, valid_to)

        async def op(conn: AsyncConnection) -> AppliedChange:
            kind = await lock_entity(conn, entity_id)
            change = ChangeWriter(conn, "validity", actor, reason)
            await change.start()
            old = await change.remove_key(entity_id, kind, system, key)
            new = KeyLink(system, key, old.provenance, valid_from, valid_to)
            await change.add_key(entity_id, kind, new)
            return await _applied(conn, change.id, "validity", [entity_id])

        return await self._write(op)

    async def move_key(
        self, system: str, key: str, to_entity_id: int, *, actor: str, reason: str | None = None
    ) -> AppliedChange:
        """Move ``system:key`` (of the target's kind) from the entity holding it to entity
        ``to_entity_id``, keeping its provenance and validity, as one ``move`` change.
        Returns both entities (source first). Raises :class:`EntityNotFound`,
        :class:`KeyNotLinked` (no entity holds the key; ``entity_id`` is the target) or
        :class:`InvalidInput` (the target already holds it)."""
        validate.actor(actor)

        async def op(conn: AsyncConnection) -> AppliedChange:
            kind = await lock_entity(conn, to_entity_id)
            change = ChangeWriter(conn, "move", actor, reason)
            owner = await change.owner(kind, system, key)
            if owner is None:
                raise KeyNotLinked(to_entity_id, system, key)
            if owner == to_entity_id:
                raise InvalidInput(f"{kind} {to_entity_id} already holds {system} key {key!r}")
            await lock_entity(conn, owner)
            await change.start()
            link = await change.remove_key(owner, kind, system, key)
            await change.add_key(to_entity_id, kind, link)
            return await _applied(conn, change.id, "move", [owner, to_entity_id])

        return await self._write(op)

    async def merge(
        self, into_id: int, from_id: int, *, actor: str, reason: str | None = None
    ) -> AppliedChange:
        """Move every key of entity ``from_id`` to entity ``into_id`` (same kind; links
        keep provenance and validity) and delete ``from_id``, as one ``merge`` change;
        :meth:`undo` restores both exactly (``from_id`` comes back under its id). Raises
        :class:`EntityNotFound` or :class:`InvalidInput` (same entity, different kinds)."""
        validate.actor(actor)
        if into_id == from_id:
            raise InvalidInput(f"cannot merge entity {into_id} into itself")

        async def op(conn: AsyncConnection) -> AppliedChange:
            for entity_id in sorted((into_id, from_id)):  # one lock order: no deadlock
                await lock_entity(conn, entity_id)
            found = await load_linked(conn, [into_id, from_id])
            into, source = found[into_id], found[from_id]
            if into.kind != source.kind:
                raise InvalidInput(
                    f"cannot merge {source.kind} {from_id} into {into.kind} {into_id}: "
                    "entities of different kinds"
                )
            change = ChangeWriter(conn, "merge", actor, reason)
            await change.start()
            for link in source.links:
                await change.remove_key(from_id, source.kind, link.system, link.key)
                await change.add_key(into_id, into.kind, link)
            await change.drop_entity(from_id, source.kind)
            return await _applied(conn, change.id, "merge", [into_id])

        return await self._write(op)

    async def split(
        self,
        entity_id: int,
        keys: Sequence[tuple[str, str]],
        *,
        actor: str,
        reason: str | None = None,
    ) -> AppliedChange:
        """Move ``keys`` (``(system, key)`` pairs entity ``entity_id`` holds) to a new
        entity of its kind, as one ``split`` change. Returns the entity, then the new one.
        Raises :class:`EntityNotFound`, :class:`KeyNotLinked`, or :class:`InvalidInput` (no
        keys given)."""
        validate.actor(actor)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            raise InvalidInput("a split needs at least one key to move to the new entity")

        async def op(conn: AsyncConnection) -> AppliedChange:
            kind = await lock_entity(conn, entity_id)
            change = ChangeWriter(conn, "split", actor, reason)
            await change.start()
            new_id = await change.new_entity(kind)
            for system, key in wanted:
                link = await change.remove_key(entity_id, kind, system, key)
                await change.add_key(new_id, kind, link)
            return await _applied(conn, change.id, "split", [entity_id, new_id])

        return await self._write(op)

    async def undo(self, change_id: int, *, actor: str, reason: str | None = None) -> AppliedChange:
        """Revert change ``change_id`` exactly, as one ``undo`` change (itself undoable).
        Raises :class:`ChangeNotFound`, :class:`AlreadyUndone` (also to the loser of two
        concurrent undos), or :class:`UndoConflict` if a later change touched the same keys
        or entities; then nothing is written."""
        validate.actor(actor)

        async def op(conn: AsyncConnection) -> AppliedChange:
            found = await conn.execute(
                select(link_changes.c.id).where(link_changes.c.id == change_id)
            )
            if found.first() is None:
                raise ChangeNotFound(change_id)
            by = await conn.execute(
                select(link_changes.c.id).where(link_changes.c.undo_of == change_id)
            )
            undone_by = by.scalar_one_or_none()
            if undone_by is not None:
                raise AlreadyUndone(change_id, undone_by)
            steps = (await read_steps(conn, [change_id]))[change_id]
            change = ChangeWriter(conn, "undo", actor, reason, undo_of=change_id)
            await change.start()
            await undo_steps(change_id, steps, change)
            return await _applied(conn, change.id, "undo", list(change.touched))

        return await self._write(op)

    async def linked(self, ids: Iterable[int]) -> dict[int, LinkedEntity]:
        """id -> the entity with every link in full (provenance, validity; also links
        outside their validity), for the ids that exist, in the order of ``ids``."""
        wanted = list(dict.fromkeys(ids))
        found: dict[int, LinkedEntity] = {}
        async with self._engine.connect() as conn:
            for chunk in _chunks(wanted):
                found.update(await load_linked(conn, chunk))
        return {i: found[i] for i in wanted if i in found}

    async def changes(
        self, *, entity_id: int | None = None, before: int | None = None, limit: int = 50
    ) -> list[ChangeRecord]:
        """Recorded changes, newest first: all, or those touching ``entity_id``; keyset
        paged by ``before`` (a change id). Changes made before revision 0008 carry no id and
        are not listed (:meth:`history` shows them). ``1 <= limit <= MAX_PAGE``."""
        validate.limit(limit, MAX_PAGE)
        c = link_changes.c
        stmt = select(c.id, c.operation, c.actor, c.at, c.reason, c.undo_of)
        if entity_id is not None:
            touching = select(link_history.c.change_id).where(
                link_history.c.entity_id == entity_id, link_history.c.change_id.is_not(None)
            )
            stmt = stmt.where(c.id.in_(touching))
        if before is not None:
            stmt = stmt.where(c.id < before)
        stmt = stmt.order_by(c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
            ids = [row.id for row in rows]
            steps = await read_steps(conn, ids)
            undone: dict[int, int] = {}
            if ids:
                found = await conn.execute(select(c.undo_of, c.id).where(c.undo_of.in_(ids)))
                undone = {int(row[0]): int(row[1]) for row in found}
        return [
            ChangeRecord(
                row.id,
                row.operation,
                row.actor,
                row.at,
                row.reason,
                row.undo_of,
                undone.get(row.id),
                tuple(steps[row.id]),
            )
            for row in rows
        ]

    @staticmethod
    def _key_link(
        system: str,
        key: str,
        actor: str,
        provenance: str,
        valid_from: date | None,
        valid_to: date | None,
    ) -> KeyLink:
        validate.system(system)
        validate.key(key)
        validate.actor(actor)
        validate.provenance(provenance)
        validate.validity(valid_from, valid_to)
        return KeyLink(system, key, provenance, valid_from, valid_to)

    # ------------------------------------------------------------- lifecycle

    async def ping(self, timeout: float = 5.0) -> None:
        """Return if the database answers within ``timeout`` seconds and holds the link map
        schema; otherwise raise (``TimeoutError`` or the driver's error)."""
        async with asyncio.timeout(timeout), self._engine.connect() as conn:
            await conn.execute(select(entities.c.id).limit(1))

    async def close(self) -> None:
        """Dispose the engine and its pooled connections; the store is unusable after."""
        await self._engine.dispose()

    # -------------------------------------------------------------- internals

    async def _write(self, op: Callable[[AsyncConnection], Awaitable[_T]]) -> _T:
        """Run ``op`` in one write transaction. A unique/foreign-key violation means a
        concurrent writer got in between ``op``'s checks and its inserts, and a deadlock or
        serialization failure means the database chose this transaction as the victim of
        such a race: roll back and run ``op`` again, whose checks then see the winner and
        raise the typed error."""
        last: DBAPIError | None = None
        for _ in range(_ATTEMPTS):
            try:
                async with self._write_engine.begin() as conn:
                    return await op(conn)
            except DBAPIError as exc:
                if not _is_conflict(exc):
                    raise
                last = exc
        raise ConcurrentChange("gave up after repeated conflicts with concurrent writers") from last

    @staticmethod
    async def _insert_entities(
        conn: AsyncConnection, kinds: Sequence[str], at: datetime
    ) -> list[int]:
        """Insert one entity per kind in ``kinds`` with batched statements; return their ids
        in the order of ``kinds``."""
        if conn.dialect.name != "sqlite":
            result = await conn.execute(
                insert(entities).returning(entities.c.id, sort_by_parameter_order=True),
                [{"kind": kind, "created_at": at} for kind in kinds],
            )
            return list(result.scalars())
        # SQLite cannot batch an INSERT..RETURNING whose rows must come back in parameter
        # order (it would run one statement per row). The write transaction holds the
        # database lock (BEGIN IMMEDIATE), so allocate the ids here instead, above the
        # AUTOINCREMENT high-water mark so that ids of deleted entities are not reused.
        high = await conn.execute(
            text(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'entities'), 0),"
                " coalesce((SELECT max(id) FROM entities), 0))"
            )
        )
        first = int(high.scalar_one()) + 1
        ids = list(range(first, first + len(kinds)))
        await conn.execute(
            insert(entities),
            [{"id": i, "kind": kind, "created_at": at} for i, kind in zip(ids, kinds, strict=True)],
        )
        return ids

    @staticmethod
    async def _lock(conn: AsyncConnection, entity_id: int) -> str:
        """Lock entity ``entity_id`` for the rest of the transaction and return its kind."""
        stmt = select(entities.c.kind).where(entities.c.id == entity_id).with_for_update()
        kind: str | None = (await conn.execute(stmt)).scalar_one_or_none()
        if kind is None:
            raise EntityNotFound(entity_id)
        return kind

    @staticmethod
    async def _load(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, Entity]:
        """Return id -> entity for the existing ids among ``ids`` (one statement)."""
        stmt = (
            select(
                entities.c.id,
                entities.c.kind,
                entity_keys.c.id,
                entity_keys.c.system,
                entity_keys.c.key,
            )
            .select_from(entities.outerjoin(entity_keys, entity_keys.c.entity_id == entities.c.id))
            .where(entities.c.id.in_(ids))
            .order_by(entities.c.id, entity_keys.c.id)
        )
        return _entities_from_rows((await conn.execute(stmt)).all())

    @staticmethod
    async def _owners(conn: AsyncConnection, triples: Sequence[_Triple]) -> dict[_Triple, int]:
        """Return ``(kind, system, key) -> entity_id`` for the triples already linked,
        in the order of ``triples``."""
        by_kind: dict[str, list[tuple[str, str]]] = {}
        for kind, system, key in dict.fromkeys(triples):
            by_kind.setdefault(kind, []).append((system, key))
        found: dict[_Triple, int] = {}
        pair = tuple_(entity_keys.c.system, entity_keys.c.key)
        for kind, pairs in by_kind.items():
            for chunk in _chunks(pairs, CHUNK // 2):
                stmt = select(
                    entity_keys.c.system, entity_keys.c.key, entity_keys.c.entity_id
                ).where(entity_keys.c.kind == kind, pair.in_(chunk))
                for system, key, entity_id in await conn.execute(stmt):
                    found[(kind, system, key)] = entity_id
        return {t: found[t] for t in triples if t in found}


async def _applied(
    conn: AsyncConnection, change_id: int | None, operation: str, ids: Sequence[int]
) -> AppliedChange:
    """The :class:`AppliedChange` of ``change_id`` with the entities ``ids`` as they now are."""
    found = await load_linked(conn, list(dict.fromkeys(ids)))
    return AppliedChange(change_id, operation, tuple(found.values()))


def _plan_import(
    entries: Sequence[tuple[str, KeyMap]], existing: Mapping[_Triple, int]
) -> list[int]:
    """Return the indexes of ``entries`` to create, in order, applying the rules of
    :meth:`LinkStore.bulk_import` (raises on a clash)."""
    claimed: dict[_Triple, int] = {}  # triple -> index of the entry in this batch that creates it
    plan: list[int] = []
    for index, (kind, key_map) in enumerate(entries):
        triples = [(kind, s, k) for s, ks in key_map.items() for k in ks]
        owners = [
            ("db", existing[t])
            if t in existing
            else ("batch", claimed[t])
            if t in claimed
            else None
            for t in triples
        ]
        if all(owner is None for owner in owners):
            plan.append(index)
            claimed.update(dict.fromkeys(triples, index))
            continue
        if None not in owners and len(set(owners)) == 1:
            continue  # already imported: every key belongs to the same entity
        for (_, system, key), owner in zip(triples, owners, strict=True):
            if owner is not None and owner[0] == "db":
                raise KeyAlreadyLinked(kind, system, key, owner[1])
        clash = next((t, o) for t, o in zip(triples, owners, strict=True) if o is not None)
        (_, system, key), (_, other) = clash
        raise InvalidInput(
            f"bulk import entries {other} and {index} both claim {kind} key {system}:{key!r}"
        )
    return plan
