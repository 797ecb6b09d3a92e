"""Row-hash versions: a line's version as a hash of the columns a spec declares.

The hash is taken over each value's canonical text, so the same stored value hashes alike
whichever way the driver returns it (``Decimal('4.000')``, ``4.0`` and ``4`` all read
``4``; a date its ISO form); any change of a hashed column changes the version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sources.sql.write_spec import ROW_HASH

HASH_CHARS = 24
"""Hex characters of the SHA-256 kept as the version (96 bits)."""

_SEPARATOR = b"\x1f"


def canonical(value: Any) -> str:
    """The text a value is hashed as: NULL, booleans, numbers (normalised), dates, bytes."""
    if value is None:
        return "\x00NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        try:
            return format(Decimal(str(value)).normalize(), "f")
        except InvalidOperation:
            return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def row_hash(values: Iterable[Any]) -> str:
    """The version of a row whose hashed columns hold ``values`` (in the declared order)."""
    digest = hashlib.sha256()
    for value in values:
        digest.update(canonical(value).encode("utf-8", "surrogatepass"))
        digest.update(_SEPARATOR)
    return digest.hexdigest()[:HASH_CHARS]


def with_row_hash(items: list[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """``items`` (rows by column label), each given its ``row_hash`` over ``columns``."""
    for item in items:
        item[ROW_HASH] = row_hash(_values(item, columns))
    return items


def _values(item: Mapping[str, Any], columns: Sequence[str]) -> list[Any]:
    return [item.get(column) for column in columns]
