"""Reads through the loaders on behalf of one entity, across every system of a kind.

An entity may hold keys in several systems of one kind (two ERPs) and several keys in one
system; these helpers ask every such system concurrently and combine the answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from typing import Any, Literal

from resolvers.context import Context

KeysBySystem = Mapping[str, tuple[str, ...]]


def keyed_systems(ctx: Context, kind: str, keys: KeysBySystem) -> list[tuple[str, tuple[str, ...]]]:
    """The configured systems of ``kind`` in which ``keys`` has keys, with those keys."""
    return [(system, keys[system]) for system in ctx.systems.of_kind(kind) if keys.get(system)]


async def children(
    ctx: Context, kind: str, keys: KeysBySystem, operation: str, *args: Hashable
) -> list[tuple[str, Any]]:
    """All child records of ``operation`` for every key, as ``(system, record)`` pairs."""
    systems = keyed_systems(ctx, kind, keys)
    reads = [
        _load_all(ctx.loaders.source(system, operation, *args, many=True), system_keys)
        for system, system_keys in systems
    ]
    # the usual case, one system: await it directly (a gather per field showed in profiles)
    results = [await reads[0]] if len(reads) == 1 else await asyncio.gather(*reads)
    return [
        (system, record)
        for (system, _), lists in zip(systems, results, strict=True)
        for records in lists
        for record in records
    ]


async def first(
    ctx: Context, kind: str, keys: KeysBySystem, operation: str
) -> tuple[str, Any] | None:
    """The first record ``operation`` finds for the entity's keys, in configuration order."""
    for system, system_keys in keyed_systems(ctx, kind, keys):
        loader = ctx.loaders.source(system, operation, many=False)
        for record in await _load_all(loader, system_keys):
            if record is not None:
                return system, record
    return None


def children_now(
    ctx: Context, kind: str, keys: KeysBySystem, operation: str, *args: Hashable
) -> list[tuple[str, Any]] | None:
    """What ``children`` would return, if every read it needs has already been answered
    (e.g. prefetched for a whole list); None when any is pending or failed."""
    found: list[tuple[str, Any]] = []
    for system, system_keys in keyed_systems(ctx, kind, keys):
        loader = ctx.loaders.source(system, operation, *args, many=True)
        for key in system_keys:
            records = _answered(loader, key)
            if records is _PENDING:
                return None
            found.extend((system, record) for record in records)
    return found


def first_now(
    ctx: Context, kind: str, keys: KeysBySystem, operation: str
) -> tuple[str, Any] | Literal[False] | None:
    """What ``first`` would return, if the reads it needs have already been answered;
    False when one is pending or failed."""
    for system, system_keys in keyed_systems(ctx, kind, keys):
        loader = ctx.loaders.source(system, operation, many=False)
        for key in system_keys:
            record = _answered(loader, key)
            if record is _PENDING:
                return False
            if record is not None:
                return system, record
    return None


_PENDING: Any = object()


def _answered(loader: Any, key: str) -> Any:
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return _PENDING
    return future.result()


async def _load_all(loader: Any, keys: tuple[str, ...]) -> list[Any]:
    """``loader.load_many(keys)``, without a gather for the usual single key."""
    if len(keys) == 1:
        return [await loader.load(keys[0])]
    return list(await loader.load_many(list(keys)))


def wants(info: Any, field: str) -> bool:
    """Whether the current field's selection asks for sub-field ``field`` (camelCase)."""
    for selected in info.selected_fields:
        for selection in getattr(selected, "selections", []):
            if getattr(selection, "name", None) == field:
                return True
    return False
