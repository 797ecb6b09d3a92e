"""Filling a link map fast for scale tests: plain batched inserts, no history rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, insert, select, text

from linkmap.db import create_engine
from linkmap.models import entities, entity_keys, utcnow


def default_keys(entity_id: int) -> Sequence[tuple[str, str]]:
    """An ERP and a CRM key per entity, numbered after the entity."""
    return (("erp", f"E{entity_id:07d}"), ("crm", f"C{entity_id:07d}"))


async def fill(
    url: str,
    kind: str,
    count: int,
    keys: Callable[[int], Sequence[tuple[str, str]]] = default_keys,
) -> list[int]:
    """Add ``count`` entities of ``kind`` after the highest id, each with ``keys(id)``
    as ``(system, key)`` pairs; the new ids, ascending."""
    engine = create_engine(url)
    at = utcnow()
    try:
        async with engine.begin() as conn:
            high = (await conn.execute(select(func.max(entities.c.id)))).scalar() or 0
            ids = list(range(high + 1, high + 1 + count))
            for start in range(0, count, 20_000):
                chunk = ids[start : start + 20_000]
                await conn.execute(
                    insert(entities), [{"id": i, "kind": kind, "created_at": at} for i in chunk]
                )
                rows = [
                    {"entity_id": i, "kind": kind, "system": s, "key": k, "created_at": at}
                    for i in chunk
                    for s, k in keys(i)
                ]
                if rows:
                    await conn.execute(insert(entity_keys), rows)
            if conn.dialect.name == "postgresql":  # explicit ids do not move the sequence
                await conn.execute(
                    text("SELECT setval(pg_get_serial_sequence('entities', 'id'), :high)"),
                    {"high": ids[-1] if ids else max(high, 1)},
                )
    finally:
        await engine.dispose()
    return ids
