"""Lists that page in the link map: a page in link-map id order reads only its own rows.

The conditions the link map can decide (``keys``, ``linkedIn``, the principal's row scope)
run in SQL (:meth:`linkmap.store.LinkStore.page_entities`). Conditions that need upstream
data are checked on chunks read in keyset order until the page is full (``first + 1``
rows, to know whether more follow): a selective filter walks further, an unfiltered list
never walks the whole map. A page's cost follows the page, not the map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from linkmap.store import MAX_PAGE
from resolvers.context import Context
from resolvers.errors import BadInput
from resolvers.lists.facts import Row
from resolvers.lists.selection import (
    MAX_CANDIDATES,
    Condition,
    Selection,
    link_map_count,
    link_map_page,
    meeting,
)


@dataclass(frozen=True)
class KeysetPage:
    """Up to ``first`` rows after a position, whether more follow, and how many link-map
    entities were read to find them."""

    rows: list[Row]
    has_next: bool
    read: int


async def keyset_page(
    ctx: Context,
    selection: Selection,
    conditions: Sequence[Condition],
    *,
    first: int,
    after_id: int | None,
    descending: bool,
) -> KeysetPage:
    """The first ``first`` rows of ``selection`` meeting ``conditions`` after entity
    ``after_id`` in id order. Without ``conditions`` one link-map statement of
    ``first + 1`` rows; with them, chunks (doubling up to ``MAX_PAGE``) until the page is
    full. ``BadInput`` when a page would read more than ``MAX_CANDIDATES`` entities."""
    wanted = first + 1
    size = wanted
    rows: list[Row] = []
    read = 0
    after = after_id
    while len(rows) < wanted:
        limit = min(size, MAX_PAGE)
        entities = await link_map_page(
            ctx, selection, after_id=after, limit=limit, descending=descending
        )
        read += len(entities)
        rows.extend(await meeting(ctx, [Row(entity) for entity in entities], conditions))
        if len(entities) < limit:
            break
        if read >= MAX_CANDIDATES and len(rows) < wanted:
            raise BadInput(
                f"the filter matched too few of the first {read} {selection.kind}s read "
                "for this page; narrow the list with keys, linkedIn or a CRM filter"
            )
        after = entities[-1].id
        size = limit * 2
    return KeysetPage(rows[:first], len(rows) > first, read)


async def keyset_count(ctx: Context, selection: Selection, conditions: Sequence[Condition]) -> int:
    """How many rows ``selection`` holds: one ``COUNT`` in the link map without
    ``conditions``; with them, a walk of every candidate (``BadInput`` past
    ``MAX_CANDIDATES``)."""
    if not conditions:
        return await link_map_count(ctx, selection)
    total = read = 0
    after: int | None = None
    while True:
        entities = await link_map_page(ctx, selection, after_id=after, limit=MAX_PAGE)
        read += len(entities)
        if read > MAX_CANDIDATES:
            raise BadInput(
                f"totalCount: the filter needs upstream data for more than {MAX_CANDIDATES} "
                f"{selection.kind}s; leave totalCount out or narrow the list"
            )
        total += len(await meeting(ctx, [Row(entity) for entity in entities], conditions))
        if len(entities) < MAX_PAGE:
            return total
        after = entities[-1].id
