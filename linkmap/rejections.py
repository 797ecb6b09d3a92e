"""Remembered rejections of match suggestions: pairs of keys an admin said are not the same
entity, so they are never proposed again.

A pair is unordered: rejecting (crm A-1, erp 10023) also rejects (erp 10023, crm A-1).
It is stored once, in a canonical order, under ``UNIQUE(kind, system_a, key_a, system_b,
key_b)``; rejecting it again (even concurrently) changes nothing. Only keys are kept: the
names and identifiers that were compared are never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from linkmap import validate
from linkmap.db import WRITE
from linkmap.models import match_rejections, utcnow

Side = tuple[str, str]
"""One side of a pair: ``(system, key)``."""


def canonical(one: Side, other: Side) -> tuple[Side, Side]:
    """The pair in the order it is stored (the smaller ``(system, key)`` first);
    ``ValueError`` for a key paired with itself."""
    if one == other:
        raise ValueError("a key cannot be paired with itself")
    return (one, other) if one < other else (other, one)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A remembered rejection: the pair (canonical order), who rejected it and when."""

    kind: str
    first: Side
    second: Side
    actor: str
    at: datetime


class Rejections:
    """Rejected pairs in the link map's database (migrated to revision 0009 or later)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE: True})

    async def reject(self, kind: str, one: Side, other: Side, *, actor: str) -> bool:
        """Remember that ``one`` and ``other`` are not the same ``kind``; True when this
        call recorded it, False when it was already remembered (nothing changes)."""
        validate.kind(kind)
        validate.actor(actor)
        for system, key in (one, other):
            validate.system(system)
            validate.key(key)
        first, second = canonical(one, other)
        values = {
            "kind": kind,
            "system_a": first[0],
            "key_a": first[1],
            "system_b": second[0],
            "key_b": second[1],
            "actor": actor,
            "at": utcnow(),
        }
        async with self._write_engine.begin() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = insert(match_rejections).values(**values).on_conflict_do_nothing()
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def rejected_among(
        self, kind: str, system_a: str, system_b: str, keys: Sequence[str] | None = None
    ) -> set[tuple[Side, Side]]:
        """Every rejected ``kind`` pair between ``system_a`` and ``system_b`` (in canonical
        order), limited to pairs with one of ``keys`` on either side when given."""
        validate.kind(kind)
        low, high = sorted((system_a, system_b))
        t = match_rejections.c
        stmt = select(t.system_a, t.key_a, t.system_b, t.key_b).where(
            t.kind == kind, t.system_a == low, t.system_b == high
        )
        found: set[tuple[Side, Side]] = set()
        async with self._engine.connect() as conn:
            if keys is None:
                rows = (await conn.execute(stmt)).all()
            else:
                rows = []
                wanted = list(dict.fromkeys(keys))
                for at in range(0, len(wanted), 500):
                    chunk = wanted[at : at + 500]
                    part = stmt.where(or_(t.key_a.in_(chunk), t.key_b.in_(chunk)))
                    rows.extend((await conn.execute(part)).all())
        for row in rows:
            found.add(((row[0], row[1]), (row[2], row[3])))
        return found

    async def is_rejected(self, kind: str, one: Side, other: Side) -> bool:
        """Whether the pair was rejected (in either order)."""
        first, second = canonical(one, other)
        t = match_rejections.c
        stmt = select(t.id).where(
            and_(
                t.kind == kind,
                t.system_a == first[0],
                t.key_a == first[1],
                t.system_b == second[0],
                t.key_b == second[1],
            )
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def all(self, kind: str) -> list[Rejection]:
        """Every rejection of ``kind``, oldest first."""
        validate.kind(kind)
        t = match_rejections.c
        stmt = (
            select(t.kind, t.system_a, t.key_a, t.system_b, t.key_b, t.actor, t.at)
            .where(t.kind == kind)
            .order_by(t.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Rejection(r[0], (r[1], r[2]), (r[3], r[4]), r[5], r[6]) for r in rows]


__all__ = ["Rejection", "Rejections", "Side", "canonical"]
