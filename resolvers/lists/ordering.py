"""Orderings of a list: the facts a sort key needs and each row's sort value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cmp_to_key

from resolvers.context import Context
from resolvers.lists.cursors import Position, SortValue, compare
from resolvers.lists.facts import Fact, Row, gather_facts


@dataclass(frozen=True)
class Ordering:
    """A total order of rows: ``value`` (read from ``facts``) in the given direction,
    missing values last, then ascending link-map id (or, paged by the CRM, in the CRM's
    order: see :mod:`resolvers.lists.crm_pages`). ``name`` goes into cursors;
    ``in_link_map``: the order is the link map's own (by id), so a page is read there
    with keyset paging instead of sorting the whole candidate set."""

    name: str
    facts: tuple[Fact, ...]
    value: Callable[[Row], SortValue]
    descending: bool = False
    in_link_map: bool = False
    crm_field: str | None = None
    """The CRM account field this order is by (``name``, ``segment``, ...), when a CRM
    that orders its own search can page the list."""


def by_id(descending: bool = False) -> Ordering:
    """Link-map id order (the default): needs no upstream read."""
    return Ordering(
        f"ID:{'DESC' if descending else 'ASC'}",
        (),
        lambda r: (r.entity.id,),
        descending,
        in_link_map=True,
    )


def text(value: str | None) -> SortValue:
    """The sort value of a text field: case-insensitive; ``None`` for no value."""
    return None if value is None else (value.casefold(), value)


async def arrange(
    ctx: Context, rows: Sequence[Row], ordering: Ordering
) -> list[tuple[Position, Row]]:
    """The rows with their positions, sorted by position."""
    await gather_facts(ctx, rows, ordering.facts)
    positioned = [(Position(ordering.value(row), row.entity.id), row) for row in rows]

    def order(a: tuple[Position, Row], b: tuple[Position, Row]) -> int:
        return compare(a[0], b[0], ordering.descending)

    positioned.sort(key=cmp_to_key(order))
    return positioned
