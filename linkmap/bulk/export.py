"""A keyset stream of the link map's entities, for exports of any size, and the link file
rows of an export (:func:`link_file_rows`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select

from linkmap import validate
from linkmap.bulk.csv_format import entity_cells, header_cells
from linkmap.errors import InvalidInput
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


@dataclass
class ExportTally:
    """What an export left out: entities without a key in a configured system or with a
    key the file cannot carry (``skipped``, why), and systems holding keys that are not
    configured (``unconfigured``); ``written`` counts the entity rows written."""

    written: int = 0
    skipped: list[str] = field(default_factory=list)
    unconfigured: set[str] = field(default_factory=set)


async def link_file_rows(
    store: LinkStore, kinds: Sequence[str], systems: Sequence[str], tally: ExportTally
) -> AsyncIterator[list[str]]:
    """The link file of the entities of ``kinds`` under the configured ``systems``, row
    by row (the header first), counting in ``tally``; importing it back changes nothing.
    Shared by ``keylink links export`` and ``GET /admin/links/export``."""
    yield header_cells(systems)
    async for entity in stream_entities(store, kinds):
        tally.unconfigured.update(set(entity.keys) - set(systems))
        if not any(entity.keys_in(system) for system in systems):
            tally.skipped.append(f"{entity.kind} {entity.id} has no key in a configured system")
            continue
        try:
            cells = entity_cells(entity, systems)
        except InvalidInput as exc:
            tally.skipped.append(str(exc))
            continue
        tally.written += 1
        yield cells
