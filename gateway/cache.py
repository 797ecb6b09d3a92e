"""Builds the read cache from settings: aiocache in memory by default, Redis when its URL
is given (then shared by every replica), or none at all (``url: none``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiocache import Cache
from aiocache.serializers import PickleSerializer

from gateway.settings import CacheSettings
from resolvers.cache import ReadCache
from sources.config import SystemConfigBase

MASTER_DATA = (
    "customers",
    "suppliers",
    "accounts",
    "contacts",
    "clients",
    "projects",
    "customer_projects",
    "timesheet_projects",
)
"""Operations whose answers change rarely: fresh for ``cache.master_data_ttl`` seconds."""


def build_cache(
    settings: CacheSettings, systems: Mapping[str, SystemConfigBase]
) -> tuple[ReadCache | None, Any]:
    """The read cache and its backend (to close on shutdown), or ``(None, None)``."""
    if settings.url == "none":
        return None, None
    ttl = {
        name: config.ttl if config.ttl is not None else settings.ttl
        for name, config in systems.items()
    }
    operation_ttl = {
        name: {
            **{op: settings.master_data_ttl for op in MASTER_DATA if ttl[name] > 0},
            **config.operation_ttl,
        }
        for name, config in systems.items()
    }
    backend = Cache.from_url(settings.url)
    if not settings.url.startswith("memory://"):
        backend.serializer = PickleSerializer()  # records are Keylink's own dataclasses
    cache = ReadCache(
        backend,
        ttl,
        operation_ttl=operation_ttl,
        negative_ttl=settings.negative_ttl,
        max_stale=settings.max_stale,
    )
    return cache, backend
