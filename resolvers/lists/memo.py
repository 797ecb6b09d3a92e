"""What one export remembers of its list across pages, so that it reads the list once.

The export endpoint runs the same document page after page, each with a fresh request
context. It puts a :class:`ListMemo` in the GraphQL context under :data:`LIST_MEMO`; the
list resolvers then keep there, per list (its field and arguments, ``after`` aside): the
list's size once counted, and, for an order computed in the gateway, the whole ordered
list of positions once sorted. Later pages take both from the memo instead of counting
or reading the candidates again. Without a memo (a plain ``/graphql`` request) every
page stands alone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any

from linkmap.records import Entity
from resolvers.lists.cursors import Position, compare

LIST_MEMO = "keylink_list_memo"
"""The key of the :class:`ListMemo` in the GraphQL context dict."""

Ordered = list[tuple[Position, Entity]]
"""A whole list in its order: each row's position and entity."""


@dataclass
class ListMemo:
    """Per list (see the module docstring): its size and its ordered rows; ``read``
    adds up the candidate records the list's pages read."""

    totals: dict[str, int] = field(default_factory=dict)
    orders: dict[str, Ordered] = field(default_factory=dict)
    read: int = 0


@dataclass(frozen=True)
class MemoSlot:
    """One list's place in a :class:`ListMemo`."""

    memo: ListMemo
    key: str

    async def total(self, count: Callable[[], Awaitable[int]]) -> int:
        """The remembered size, or ``count()`` remembered."""
        found = self.memo.totals.get(self.key)
        if found is None:
            found = self.memo.totals[self.key] = await count()
        return found

    def ordered(self) -> Ordered | None:
        """The remembered ordered list, if a page kept it."""
        return self.memo.orders.get(self.key)

    def keep(self, ordered: Ordered) -> None:
        """Remember the ordered list (one list per memo: an export pages one list)."""
        self.memo.orders.clear()
        self.memo.orders[self.key] = ordered

    def add_read(self, read: int) -> None:
        """Count ``read`` candidate records more."""
        self.memo.read += read


def memo_slot(context: Any, field_name: str, *arguments: Any) -> MemoSlot | None:
    """The slot of the list ``field_name(arguments)`` in the memo of ``context`` (the
    GraphQL context), or ``None`` when the request keeps no memo."""
    memo = context.get(LIST_MEMO) if isinstance(context, Mapping) else None
    if not isinstance(memo, ListMemo):
        return None
    return MemoSlot(memo, repr((field_name, *arguments)))


def after_position(ordered: Ordered, start: Position | None, descending: bool) -> int:
    """The index of the first row of ``ordered`` after ``start`` (binary search)."""
    if start is None:
        return 0

    def order(a: Position, b: Position) -> int:
        return compare(a, b, descending)

    key = cmp_to_key(order)
    return bisect_right(ordered, key(start), key=lambda item: key(item[0]))
