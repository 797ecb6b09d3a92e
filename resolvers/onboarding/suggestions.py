"""Match suggestions between two systems, and accepting or rejecting one.

The candidate fields are read live from both systems through their ``browse``
(``sources.base.BrowsesRecords``), compared in memory (``resolvers.onboarding.scoring``) and
forgotten: nothing but the accepted link (provenance ``suggestion``) or the rejected pair of
keys (``linkmap.rejections``) is ever written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from linkmap.errors import KeyAlreadyLinked
from linkmap.records import Entity
from linkmap.rejections import Rejections
from linkmap.store import LinkStore
from resolvers.error_codes import BadInput
from resolvers.onboarding.scoring import DEFAULT_THRESHOLD, suggest
from sources.base import Candidate, Source
from sources.browse import browse_all

PAGE = 500
"""Records read per browse request while gathering a side."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A proposed link of ``kind`` between a record of ``from_system`` and one of
    ``to_system``, with its score (0..1) and the reasons."""

    kind: str
    from_system: str
    from_record: Candidate
    to_system: str
    to_record: Candidate
    score: float
    reasons: tuple[str, ...]


async def unlinked(
    source: Source, links: LinkStore, kind: str, other_system: str
) -> list[Candidate]:
    """Every ``kind`` record of ``source`` whose key is not yet linked to a key in
    ``other_system`` (read live, page by page)."""
    records = await browse_all(source, kind, page_size=PAGE)
    owners = await links.resolve_many(kind, source.name, [c.key for c in records])
    return [c for c in records if c.key not in owners or not owners[c.key].keys_in(other_system)]


async def link_suggestions(
    sources: Mapping[str, Source],
    links: LinkStore,
    kind: str,
    from_system: str,
    to_system: str,
    *,
    first: int = 100,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Suggestion]:
    """Up to ``first`` proposed links (best first) between the unlinked ``kind`` records
    of the two systems, leaving out every pair an admin rejected."""
    if from_system == to_system:
        raise BadInput("suggestions need two different systems")
    if not 0.0 < threshold < 1.0:
        raise BadInput("threshold must be between 0 and 1")
    left = await unlinked(sources[from_system], links, kind, to_system)
    right = await unlinked(sources[to_system], links, kind, from_system)
    rejected = await Rejections(links.engine).rejected_among(kind, from_system, to_system)
    excluded: set[tuple[str, str]] = set()
    for one, other in rejected:
        sides = dict([one, other]) if one[0] != other[0] else {}
        if from_system in sides and to_system in sides:
            excluded.add((sides[from_system], sides[to_system]))
    by_left = {c.key: c for c in left}
    by_right = {c.key: c for c in right}
    matches = suggest(left, right, threshold=threshold, excluded=excluded)
    return [
        Suggestion(
            kind, from_system, by_left[m.left], to_system, by_right[m.right], m.score, m.reasons
        )
        for m in matches[:first]
    ]


@dataclass(frozen=True, slots=True)
class Accepted:
    """What accepting a suggestion did: the entity now holding both keys, and whether
    it was created (False: a key was added to an existing entity, or both were linked)."""

    entity: Entity
    created: bool


async def accept_suggestion(
    links: LinkStore,
    kind: str,
    one: tuple[str, str],
    other: tuple[str, str],
    *,
    actor: str,
) -> Accepted:
    """Link ``one`` and ``other`` (``(system, key)``) as the same ``kind``, with provenance
    ``suggestion``: a new entity when neither is linked, else the unlinked key joins the
    other's entity. ``KeyAlreadyLinked`` (CONFLICT) when both belong to different entities
    (merge them instead); nothing changes when both already belong to the same one."""
    if one[0] == other[0]:
        raise BadInput("a suggestion links keys of two different systems")
    owner_one = await links.resolve(kind, one[0], one[1])
    owner_other = await links.resolve(kind, other[0], other[1])
    note = "accepted match suggestion"
    if owner_one is None and owner_other is None:
        entity = await links.create_entity(
            kind,
            {one[0]: [one[1]], other[0]: [other[1]]},
            actor=actor,
            note=note,
            provenance="suggestion",
        )
        return Accepted(entity, True)
    if owner_one is not None and owner_other is not None:
        if owner_one.id == owner_other.id:
            return Accepted(owner_one, False)
        raise KeyAlreadyLinked(kind, other[0], other[1], owner_other.id)
    holder, (system, key) = (owner_one, other) if owner_one is not None else (owner_other, one)
    assert holder is not None
    entity = await links.link(
        holder.id, system, key, actor=actor, note=note, provenance="suggestion"
    )
    return Accepted(entity, False)


async def reject_suggestion(
    links: LinkStore, kind: str, one: tuple[str, str], other: tuple[str, str], *, actor: str
) -> bool:
    """Remember that ``one`` and ``other`` are not the same ``kind``: never proposed
    again. True when newly remembered, False when it already was."""
    if one[0] == other[0]:
        raise BadInput("a suggestion pairs keys of two different systems")
    return await Rejections(links.engine).reject(kind, one, other, actor=actor)


__all__ = [
    "Accepted",
    "Suggestion",
    "accept_suggestion",
    "link_suggestions",
    "reject_suggestion",
    "unlinked",
]
