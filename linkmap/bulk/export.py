"""A keyset stream of the link map's entities, for exports of any size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Final

from sqlalchemy import select

from linkmap import validate
from linkmap.models import entities, entity_keys
from linkmap.records import Entity
from linkmap.store import LinkStore, _entities_from_rows

PAGE: Final = 1000
"""Entities read per statement."""


async def stream_entities(
    store: LinkStore, kinds: Sequence[str], *, page: int = PAGE
) -> AsyncIterator[Entity]:
    """Yield every entity of ``kinds`` (with its keys) in ascending id order, ``page``
    entities per SQL statement: each page is found by the last id of the one before
    (keyset), so memory stays at one page and each page costs the same at any map size."""
    wanted = [validate.kind(kind) for kind in kinds]
    after = 0
    async with store.engine.connect() as conn:
        while True:
            ids = (
                select(entities.c.id, entities.c.kind)
                .where(entities.c.kind.in_(wanted), entities.c.id > after)
                .order_by(entities.c.id)
                .limit(page)
                .subquery("page")
            )
            stmt = (
                select(
                    ids.c.id, ids.c.kind, entity_keys.c.id, entity_keys.c.system, entity_keys.c.key
                )
                .select_from(ids.outerjoin(entity_keys, entity_keys.c.entity_id == ids.c.id))
                .order_by(ids.c.id, entity_keys.c.id)
            )
            found = _entities_from_rows((await conn.execute(stmt)).all())
            if not found:
                return
            for entity in found.values():
                yield entity
            after = max(found)
