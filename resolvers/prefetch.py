"""Children of a whole list read in one round before its items are completed.

A list of customers that asks for each one's ERP record and orders would otherwise start
one coroutine per customer and field, all waiting for the same batched upstream call.
``prefetch`` asks the loaders for every customer's keys at once and waits for them; the
fields then find their records ready (``reads.children_now``/``first_now``) and answer
without awaiting. Nothing changes in what is read or in the errors: a failed read stays in
its loader and the field reports it as before. Financial reads are prefetched only for
principals allowed to see them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from linkmap.records import Entity
from resolvers.context import Context
from resolvers.permissions import SeesFinancials
from resolvers.reads import keyed_systems


@dataclass(frozen=True)
class Prefetch:
    """The read behind one field of a list item: ``operation`` on systems of ``kind``."""

    kind: str
    operation: str
    args: tuple[Hashable, ...]
    many: bool
    financial: bool


CUSTOMER_FIELDS: dict[str, Prefetch] = {
    "erp": Prefetch("erp", "customers", (), many=False, financial=False),
    "orders": Prefetch("erp", "orders", (None,), many=True, financial=True),
}
"""Fields of ``Customer`` (without arguments) whose reads a list prefetches."""


def selected(info: Any, fields: dict[str, Prefetch]) -> list[Prefetch]:
    """The prefetchable fields the current field's selection asks for, without arguments."""
    found: list[Prefetch] = []
    for selected_field in info.selected_fields:
        for selection in getattr(selected_field, "selections", []):
            name = getattr(selection, "name", None)
            read = fields.get(name) if isinstance(name, str) else None
            if read is not None and not getattr(selection, "arguments", None):
                found.append(read)
    return found


async def prefetch(
    ctx: Context, reads: Iterable[Prefetch], entities: Iterable[Entity | None]
) -> None:
    """Ask the loaders for ``reads`` of every entity at once and wait for the answers
    (failures stay in the loaders for the fields to report)."""
    present = [entity for entity in entities if entity is not None]
    financial = bool(ctx.roles & SeesFinancials.allowed)
    pending = []
    for read in reads:
        if read.financial and not financial:
            continue
        keys_by_system: dict[str, list[str]] = {}
        for entity in present:
            for system, keys in keyed_systems(ctx, read.kind, entity.keys):
                keys_by_system.setdefault(system, []).extend(keys)
        for system, wanted in keys_by_system.items():
            loader = ctx.loaders.source(system, read.operation, *read.args, many=read.many)
            pending.append(loader.load_many(list(dict.fromkeys(wanted))))
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
