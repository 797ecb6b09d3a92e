"""The demo link map's entities, as the federation tests pick them."""

from __future__ import annotations

from linkmap.records import Entity


def linked_in(found: dict[str, list[Entity]], kind: str, systems: set[str]) -> list[Entity]:
    """The entities of ``kind`` in ``found`` holding keys in all of ``systems``, by id."""
    return [e for e in found[kind] if systems <= set(e.keys)]
