"""Browsing a system's linkable records, each marked linked or not (one batched link-map
lookup per page)."""

from __future__ import annotations

from dataclasses import dataclass

from linkmap.store import LinkStore
from resolvers.error_codes import BadInput
from sources.base import BrowsesRecords, Candidate, Source
from sources.errors import Unsupported


@dataclass(frozen=True, slots=True)
class BrowsedRecord:
    """A record read live from its system and the link-map entity holding its key (None:
    not linked)."""

    candidate: Candidate
    entity_id: int | None

    @property
    def linked(self) -> bool:
        """Whether the link map holds this record's key."""
        return self.entity_id is not None


@dataclass(frozen=True, slots=True)
class BrowsedPage:
    """One page of browsed records and the position of the next (None: the last)."""

    records: tuple[BrowsedRecord, ...]
    next: str | None


async def browse_page(
    source: Source,
    links: LinkStore,
    kind: str,
    search: str | None,
    after: str | None,
    first: int,
) -> BrowsedPage:
    """One page of ``kind`` records of ``source`` (matching ``search``), marked linked or
    not; ``Unsupported`` when the system cannot list its records, ``BadInput`` for a page
    size or position it cannot take."""
    if not isinstance(source, BrowsesRecords):
        raise Unsupported(source.name, "this system cannot list its records")
    try:
        page = await source.browse(kind, search, after, first)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    keys = [c.key for c in page.candidates]
    owners = await links.resolve_many(kind, source.name, keys)
    records = tuple(
        BrowsedRecord(c, owners[c.key].id if c.key in owners else None) for c in page.candidates
    )
    return BrowsedPage(records, page.next)


__all__ = ["BrowsedPage", "BrowsedRecord", "browse_page"]
