"""How Keylink names Tryton's sales, invoices and purchases: by the number people use.

A sale, an invoice or a purchase is keyed by its ``number`` (Tryton gives a sale its
number when it is quoted, a purchase when it is quoted, an invoice when it is posted). A
draft has no number yet: its key is ``draft-<id>`` (Tryton's database id), which no
number of Tryton's default sequences (plain digits) can equal. A ``draft-<id>`` key goes
on naming the record once it is numbered (a CRM holding it still finds it), but the record
is then shown by its number. Database ids stay internal; lines (which have no number) and
projects keep their ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DRAFT_PREFIX = "draft-"
_DRAFT = re.compile(r"^draft-([0-9]{1,11})$")


def record_key(row: Mapping[str, Any]) -> str:
    """The key of a numbered Tryton record: its number, else ``draft-<id>``."""
    number = row.get("number")
    return str(number) if number else f"{DRAFT_PREFIX}{row['id']}"


def draft_id(key: str) -> int | None:
    """The database id a ``draft-<id>`` key names; None for any other key."""
    found = _DRAFT.match(key)
    return int(found.group(1)) if found else None


def keys_domain(keys: Iterable[str], via: str | None = None) -> list[Any]:
    """A Tryton domain selecting the records ``keys`` name (by number or draft id), or,
    with ``via`` (e.g. ``"sale"``), the records whose ``via`` field names one of them."""
    wanted = list(dict.fromkeys(keys))
    ids = sorted({i for i in (draft_id(k) for k in wanted) if i is not None})
    numbers = [k for k in wanted if draft_id(k) is None]
    number, ident = ("number", "id") if via is None else (f"{via}.number", via)
    return ["OR", [number, "in", numbers], [ident, "in", ids]]


def asked_keys(keys: Sequence[str], record_id: int, number: str | None) -> list[str]:
    """Which of ``keys`` name the record with ``record_id`` and ``number``."""
    return [
        key
        for key in dict.fromkeys(keys)
        if (draft_id(key) == record_id) or (number is not None and key == number)
    ]


def by_asked_key(keys: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Each of ``keys`` with the row it names (by its number, or by its id for a
    ``draft-<id>`` key); keys naming no row are absent."""
    listed = list(rows)
    by_number = {str(row["number"]): row for row in listed if row.get("number")}
    by_id = {int(row["id"]): row for row in listed}
    found: dict[str, Any] = {}
    for key in keys:
        draft = draft_id(key)
        row = by_id.get(draft) if draft is not None else by_number.get(key)
        if row is not None:
            found[key] = row
    return found


__all__ = ["DRAFT_PREFIX", "asked_keys", "by_asked_key", "draft_id", "keys_domain", "record_key"]
