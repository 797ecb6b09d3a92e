"""Entity references: finding a customer, supplier or project from a federation key.

Apollo Federation asks a subgraph for entities by *representations*: the ``__typename``
plus the fields of one of the type's ``@key``s. Keylink's entity types carry two keys
(:data:`ENTITY_KEYS`):

* ``id``: the link-map entity id;
* ``keys { system key }``: the entity's keys in its systems. A representation may list
  any subset of them (another subgraph typically knows only its own system's key); the
  entity holding the first listed pair the link map knows is the one meant.

Promises: lookups go through the request's loaders, so all references of one
``_entities`` call cost one link-map statement per (kind, system) and one for all ids;
an entity outside the principal's row scope, of another kind, or unknown is ``None``
(never an error that would tell it exists); a malformed representation is ``BadInput``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final
from weakref import WeakKeyDictionary

import strawberry
from strawberry.dataloader import DataLoader

from linkmap.models import KEY_MAX, SYSTEM_MAX
from linkmap.records import Entity
from linkmap.validate import has_control_characters
from resolvers.context import Context, context_of
from resolvers.errors import BadInput
from resolvers.loaders import MAX_BATCH, Loaders

ENTITY_KEYS: Final = ["id", "keys { system key }"]
"""The ``@key`` field sets of Customer, Supplier and Project."""

REFERENCE_FIELDS: Final = ("id", "keys")
"""The top-level fields of :data:`ENTITY_KEYS`: what a representation may carry."""

MAX_PAIRS: Final = 20
"""Most ``(system, key)`` pairs one representation may list."""

MAX_ID_DIGITS: Final = 18
"""Link-map ids are 64-bit integers; a longer number cannot be one."""

_ID_LOADERS: WeakKeyDictionary[Loaders, DataLoader[int, Entity | None]] = WeakKeyDictionary()


def _id_loader(ctx: Context) -> DataLoader[int, Entity | None]:
    """The request's loader of entities by link-map id (kept beside its ``Loaders``, so it
    lives exactly as long as the request; the row scope is applied by the caller)."""
    loader = _ID_LOADERS.get(ctx.loaders)
    if loader is None:
        links = ctx.links

        async def load(ids: list[int]) -> list[Entity | None]:
            found = await links.get_many(ids)
            return [found.get(entity_id) for entity_id in ids]

        loader = _ID_LOADERS[ctx.loaders] = DataLoader(load_fn=load, max_batch_size=MAX_BATCH)
    return loader


def _entity_id(raw: object) -> int:
    """The link-map id in a representation's ``id`` (an ID is sent as a string)."""
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        raise BadInput("a reference's id must be a link-map id (digits)")
    if len(text) > MAX_ID_DIGITS:
        raise BadInput(f"a reference's id has at most {MAX_ID_DIGITS} digits")
    return int(text)


def _pairs(raw: object) -> list[tuple[str, str]]:
    """The ``(system, key)`` pairs in a representation's ``keys``, validated."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PAIRS:
        raise BadInput(f"a reference's keys must list 1 to {MAX_PAIRS} {{system, key}} pairs")
    pairs: list[tuple[str, str]] = []
    for item in raw:
        system = item.get("system") if isinstance(item, Mapping) else None
        key = item.get("key") if isinstance(item, Mapping) else None
        if not isinstance(system, str) or not isinstance(key, str):
            raise BadInput("each of a reference's keys needs a system and a key (strings)")
        if not 1 <= len(system) <= SYSTEM_MAX or not 1 <= len(key) <= KEY_MAX:
            raise BadInput(
                f"a system has 1 to {SYSTEM_MAX} characters and a key 1 to {KEY_MAX} characters"
            )
        if has_control_characters(system) or has_control_characters(key):
            raise BadInput("a reference's system and key must not contain control characters")
        pairs.append((system, key))
    return pairs


async def referenced_entity(
    info: strawberry.Info, kind: str, representation: Mapping[str, Any]
) -> Entity | None:
    """The ``kind`` entity a federation representation (without ``__typename``) names, by
    ``id`` if it has one, else by its ``keys``; None if unknown, of another kind, out of the
    principal's scope, or if ``id`` is null. Raises ``BadInput`` for a representation with
    neither or with malformed values.
    """
    ctx = context_of(info)
    if "id" in representation:
        if representation["id"] is None:  # a project not in the link map has no id
            return None
        entity = await _id_loader(ctx).load(_entity_id(representation["id"]))
        if entity is None or entity.kind != kind:
            return None
        return entity if ctx.scope is None or ctx.scope.admits(entity) else None
    if "keys" in representation:
        pairs = _pairs(representation["keys"])
        # the entity loaders batch per (kind, system) and apply the row scope
        loads = [ctx.loaders.entity(kind, system).load(key) for system, key in pairs]
        found = [await loads[0]] if len(loads) == 1 else await asyncio.gather(*loads)
        return next((entity for entity in found if entity is not None), None)
    raise BadInput("a reference needs the fields of one @key: id, or keys { system key }")
