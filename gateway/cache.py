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
    if settings.url.startswith("memory://"):
        backend = Cache.from_url(settings.url)
    else:
        backend = Cache.from_url(settings.url)
        backend.serializer = PickleSerializer()
    return ReadCache(backend, ttl), backend
