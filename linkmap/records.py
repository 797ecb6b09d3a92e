"""Immutable values the link map hands out: :class:`Entity` and :class:`LinkChange`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from linkmap.models import Action


@dataclass(frozen=True)
class Entity:
    """A customer, supplier, project or sales order and its keys per upstream system.

    ``keys`` maps system -> keys of this entity in that system, both in the order they
    were linked. It is read-only. Entities hash by ``(id, kind)`` and compare by value.
    """

    id: int
    kind: str
    keys: Mapping[str, tuple[str, ...]] = field(hash=False)

    def __post_init__(self) -> None:
        frozen = {system: tuple(keys) for system, keys in self.keys.items()}
        object.__setattr__(self, "keys", MappingProxyType(frozen))

    def keys_in(self, system: str) -> tuple[str, ...]:
        """Return this entity's keys in ``system`` (oldest link first); ``()`` if none."""
        return self.keys.get(system, ())

    @classmethod
    def build(cls, id: int, kind: str, pairs: Sequence[tuple[str, str]]) -> Entity:
        """Return the entity with the given ``(system, key)`` pairs, kept in their order."""
        grouped: dict[str, list[str]] = {}
        for system, key in pairs:
            grouped.setdefault(system, []).append(key)
        return cls(id, kind, {system: tuple(keys) for system, keys in grouped.items()})


@dataclass(frozen=True)
class LinkChange:
    """One recorded change of an entity's links.

    ``create`` and ``delete`` rows have no ``system``/``key``; ``link`` and ``unlink``
    rows name the key. ``at`` is aware UTC; all rows of one operation share it.
    """

    action: Action
    system: str | None
    key: str | None
    actor: str
    at: datetime
    note: str | None
