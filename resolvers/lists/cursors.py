"""Opaque cursors and the total order of a list: sort value, then link-map id.

A cursor is URL-safe base64 of a small versioned JSON object naming the ordering it
belongs to and the position of a row in it (its sort value and entity id; in link-map id
order the id alone; for a list paged by the CRM's own search, also the CRM's page token
and the row's account key). Paging is by
position (keyset), not by offset: the page after a cursor holds the rows that sort after
that position, so rows are never repeated and never skipped while the data stands still.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from resolvers.errors import BadInput

VERSION = 1
MAX_CURSOR_LENGTH = 2_000

Part = str | int | Decimal
SortValue = tuple[Part, ...] | None
"""A row's sort value: compared part by part; ``None`` (no value) sorts last."""


@dataclass(frozen=True)
class Position:
    """Where a row stands in an ordering: its sort value, then its entity id.

    ``resume``, for a list paged by an upstream search (the CRM's order): the upstream's
    page token the row was read from (``None``: the first page) and the row's key there,
    so the next page resumes right after it."""

    value: SortValue
    id: int
    resume: tuple[str | None, str] | None = field(default=None, compare=False)


def compare(a: Position, b: Position, descending: bool) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b``: values in the ordering's
    direction with missing values last either way, then ascending entity id."""
    if a.value != b.value:
        if a.value is None:
            return 1
        if b.value is None:
            return -1
        order = (a.value > b.value) - (a.value < b.value)
        if order:
            return -order if descending else order
    return (a.id > b.id) - (a.id < b.id)


def encode(ordering: str, position: Position) -> str:
    """The cursor of ``position`` in the ordering named ``ordering``."""
    value = None if position.value is None else [_part(p) for p in position.value]
    data: dict[str, Any] = {"v": VERSION, "o": ordering, "k": value, "i": position.id}
    if position.resume is not None:
        data["u"] = list(position.resume)
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode(cursor: str, ordering: str) -> Position:
    """The position a cursor of ``ordering`` names; ``BadInput`` for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadInput("after: not a cursor of this list (too long)")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise BadInput("after: not a cursor of this list") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise BadInput("after: not a cursor of this list (unknown version)")
    if data.get("o") != ordering:
        raise BadInput(
            f"after: the cursor belongs to ordering {data.get('o')!r}, not {ordering!r}; "
            "start again without after when changing orderBy"
        )
    entity_id, raw = data.get("i"), data.get("k")
    if not isinstance(entity_id, int) or isinstance(entity_id, bool):
        raise BadInput("after: not a cursor of this list (no position)")
    resume = _resume(data.get("u"))
    if raw is None:
        return Position(None, entity_id, resume)
    if not isinstance(raw, list):
        raise BadInput("after: not a cursor of this list (bad sort value)")
    return Position(tuple(_unpart(p) for p in raw), entity_id, resume)


def _resume(raw: Any) -> tuple[str | None, str] | None:
    """The upstream position of a cursor (``[token or null, key]``), if it has one."""
    if raw is None:
        return None
    if isinstance(raw, list) and len(raw) == 2:
        token, key = raw
        if (token is None or isinstance(token, str)) and isinstance(key, str):
            return token, key
    raise BadInput("after: not a cursor of this list (bad upstream position)")


def _part(part: Part) -> list[Any]:
    if isinstance(part, Decimal):
        return ["d", str(part)]
    if isinstance(part, int):
        return ["i", part]
    return ["s", part]


def _unpart(raw: Any) -> Part:
    if isinstance(raw, list) and len(raw) == 2:
        tag, value = raw
        if tag == "s" and isinstance(value, str):
            return value
        if tag == "i" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if tag == "d" and isinstance(value, str):
            try:
                number = Decimal(value)
            except InvalidOperation:
                number = Decimal("NaN")
            if number.is_finite():
                return number
    raise BadInput("after: not a cursor of this list (bad sort value)")
