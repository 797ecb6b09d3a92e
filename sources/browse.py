"""What every adapter's ``browse`` (``sources.base.BrowsesRecords``) shares: the kinds and
their spellings, opaque page positions, the search as checked on the records, and walking
every page of a kind.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from sources.base import BROWSE_KINDS, BrowsePage, BrowsesRecords, Candidate
from sources.errors import Unsupported

KIND_WORDS: dict[str, str] = {
    "customer": "customer",
    "customers": "customer",
    "party": "customer",
    "parties": "customer",
    "account": "customer",
    "accounts": "customer",
    "client": "customer",
    "clients": "customer",
    "supplier": "supplier",
    "suppliers": "supplier",
    "project": "project",
    "projects": "project",
    "order": "order",
    "orders": "order",
    "sale": "order",
    "sales": "order",
}
"""Every spelling of a browsable kind (what people type on the command line) -> the kind."""

MAX_BROWSE_PAGE = 1000
"""The most records one browse page may ask for."""


def browse_kind(word: str) -> str:
    """The kind (one of ``BROWSE_KINDS``) a word names; ``ValueError`` listing the valid
    words otherwise."""
    kind = KIND_WORDS.get(word.strip().lower())
    if kind is None:
        raise ValueError(
            f"unknown kind {word!r}; valid kinds: {', '.join(BROWSE_KINDS)} "
            "(plural forms, parties, accounts and clients also accepted)"
        )
    return kind


def encode_position(position: Mapping[str, Any]) -> str:
    """An opaque page position (URL-safe) holding ``position``."""
    raw = json.dumps(dict(position), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(system: str, token: str | None) -> dict[str, Any] | None:
    """The position an ``encode_position`` token holds (None for no token); a token that
    is not one raises ``ValueError``."""
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        found = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{system}: not a browse position: {token[:40]!r}") from exc
    if not isinstance(found, dict):
        raise ValueError(f"{system}: not a browse position: {token[:40]!r}")
    return found


def folded(text: str) -> str:
    """``text`` lower-cased without diacritics, for a search that ignores both."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def matches_search(candidate: Candidate, search: str | None) -> bool:
    """Whether ``candidate``'s name, key or identifiers contain ``search`` (ignoring case
    and diacritics); every candidate matches no search."""
    if search is None or not search.strip():
        return True
    wanted = folded(search.strip())
    fields = (
        candidate.name,
        candidate.key,
        candidate.vat,
        candidate.email_domain,
        candidate.postcode,
        candidate.city,
    )
    return any(wanted in folded(value) for value in fields if value)


def check_first(first: int) -> int:
    """``first`` when it is a page size a browse may ask (1..MAX_BROWSE_PAGE)."""
    if not 1 <= first <= MAX_BROWSE_PAGE:
        raise ValueError(f"first must be between 1 and {MAX_BROWSE_PAGE}")
    return first


async def browse_all(
    source: object, kind: str, search: str | None = None, page_size: int = 500
) -> list[Candidate]:
    """Every ``kind`` record ``source`` lists (matching ``search``), walking its pages in
    order; ``Unsupported`` when the source cannot browse."""
    if not isinstance(source, BrowsesRecords):
        raise Unsupported(getattr(source, "name", "?"), "this system cannot list its records")
    found: list[Candidate] = []
    after: str | None = None
    while True:
        page: BrowsePage = await source.browse(kind, search, after, page_size)
        found.extend(page.candidates)
        if page.next is None:
            return found
        after = page.next


__all__ = [
    "KIND_WORDS",
    "MAX_BROWSE_PAGE",
    "browse_all",
    "browse_kind",
    "check_first",
    "decode_position",
    "encode_position",
    "folded",
    "matches_search",
]
