"""Builds the read cache from settings: aiocache in memory by default, Redis when its URL
is given (then shared by every replica), or none at all (``url: none``).

Redis may fail at any time (see :class:`gateway.health.RedisHealth`); the read cache and
the response cache then carry on without it:

* reads miss (every read asks its system) and nothing is stored;
* an invalidation that could not reach Redis is kept and done first when Redis answers
  again, before anything is read from it; so an edit made during the outage never lets an
  older cached read show afterwards (W4). Past :data:`MAX_PENDING_INVALIDATIONS` keys the
  cache is not read for its longest freshness after the recovery instead;
* a response-cache generation bump that could not reach Redis is done first on recovery
  too, so no whole answer older than the edit is replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from aiocache import Cache
from aiocache.serializers import PickleSerializer

from gateway.health import RedisHealth, RedisUnavailable
from gateway.http.response_cache import CachedResponse, RedisResponseStore, ResponseStore
from gateway.settings import CacheSettings
from resolvers.cache import ReadCache
from sources.config import SystemConfigBase

log = logging.getLogger("keylink.cache")

MAX_PENDING_INVALIDATIONS = 50_000
"""Cache keys kept for invalidation while Redis is down."""

_DELETE_CHUNK = 1000

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
    settings: CacheSettings,
    systems: Mapping[str, SystemConfigBase],
    health: RedisHealth | None = None,
) -> tuple[ReadCache | None, Any]:
    """The read cache and its backend (to close on shutdown), or ``(None, None)``. With
    Redis and ``health``, the backend carries on while Redis fails (module docstring)."""
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
    backend: Any = Cache.from_url(settings.url)
    if not settings.url.startswith("memory://"):
        backend.serializer = PickleSerializer()  # records are Keylink's own dataclasses
        if health is not None:
            backend.timeout = health.timeout
            longest = max([settings.master_data_ttl, *ttl.values()])
            longest = max([longest, *(t for ops in operation_ttl.values() for t in ops.values())])
            backend = GuardedBackend(backend, health, horizon=longest + settings.max_stale)
    cache = ReadCache(
        backend,
        ttl,
        operation_ttl=operation_ttl,
        negative_ttl=settings.negative_ttl,
        max_stale=settings.max_stale,
    )
    return cache, backend


class GuardedBackend:
    """The read cache's Redis backend while Redis may fail (see the module docstring)."""

    def __init__(self, backend: Any, health: RedisHealth, *, horizon: float) -> None:
        self.backend = backend
        self.health = health
        self.horizon = horizon
        self.part = "read cache"
        self._pending: set[str] = set()
        self._overflowed = False
        self._unread_until = 0.0
        self._flushing = asyncio.Lock()
        health.uses(self.part, "skipped: every read asks its system")

    @property
    def pending(self) -> int:
        """Invalidations waiting for Redis."""
        return len(self._pending)

    async def _ready(self) -> bool:
        """Whether Redis may be read and written now: every invalidation missed during an
        outage is done, and no overflow horizon is running."""
        if self._pending or self._overflowed:
            if self._flushing.locked():
                return False  # another request is catching up; this one skips the cache
            async with self._flushing:
                if not await self._flush():
                    return False
        return self.health.clock() >= self._unread_until

    async def _flush(self) -> bool:
        """Do the invalidations missed during the outage; False while Redis still fails."""
        while self._pending:
            chunk = list(self._pending)[:_DELETE_CHUNK]
            try:
                await self.health.call(self.part, partial(self._delete_many, chunk))
            except RedisUnavailable:
                return False
            self._pending.difference_update(chunk)
        if self._overflowed:
            self._overflowed = False
            self._unread_until = self.health.clock() + self.horizon
            log.warning(
                "read cache: more than %d invalidations missed while Redis was down; "
                "not reading it for %.0f s",
                MAX_PENDING_INVALIDATIONS,
                self.horizon,
            )
        return True

    async def _delete_many(self, keys: list[str]) -> None:
        client = getattr(self.backend, "client", None)
        if client is not None and getattr(self.backend, "namespace", None) is None:
            await client.delete(*keys)
            return
        for key in keys:
            await self.backend.delete(key)

    def _keep(self, key: str) -> None:
        if len(self._pending) < MAX_PENDING_INVALIDATIONS:
            self._pending.add(key)
        else:
            self._overflowed = True

    async def multi_get(self, keys: list[str]) -> list[Any]:
        """Values for ``keys``; all misses while Redis is down."""
        if await self._ready():
            try:
                values: list[Any] = await self.health.call(
                    self.part, lambda: self.backend.multi_get(keys)
                )
                return values
            except RedisUnavailable:
                pass
        return [None] * len(keys)

    async def multi_set(self, pairs: list[tuple[str, Any]], ttl: int | None = None) -> Any:
        """Store ``pairs``; nothing while Redis is down."""
        if not await self._ready():
            return None
        try:
            return await self.health.call(self.part, lambda: self.backend.multi_set(pairs, ttl=ttl))
        except RedisUnavailable:
            return None

    async def delete(self, key: str) -> Any:
        """Remove ``key`` now, or as soon as Redis answers again."""
        if self._pending or self._overflowed:
            self._keep(key)  # behind the ones waiting already
            return 0
        try:
            return await self.health.call(self.part, lambda: self.backend.delete(key))
        except RedisUnavailable:
            self._keep(key)
            return 0

    async def close(self) -> None:
        """Close the Redis connection pool."""
        if self._pending:
            log.warning("read cache: %d invalidations never reached Redis", len(self._pending))
        await self.backend.close()


class GuardedResponseStore:
    """A Redis response store while Redis may fail: misses and keeps nothing while it is
    down, and a generation bump missed meanwhile is done first when it answers again."""

    def __init__(self, store: ResponseStore, health: RedisHealth) -> None:
        self.store = store
        self.health = health
        self.part = "response cache"
        self.bump_pending = False
        health.uses(self.part, "skipped: answers are not replayed")

    async def _ready(self) -> bool:
        if self.bump_pending:
            try:
                await self.health.call(self.part, self.store.bump)
            except RedisUnavailable:
                return False
            self.bump_pending = False
        return True

    async def generation(self) -> int:
        """The current write generation; -1 (nothing will be stored) while Redis is down."""
        if not await self._ready():
            return -1
        try:
            return await self.health.call(self.part, self.store.generation)
        except RedisUnavailable:
            return -1

    async def get(self, key: str) -> CachedResponse | None:
        """The response stored under ``key`` in the current generation; None while down."""
        if not await self._ready():
            return None
        try:
            return await self.health.call(self.part, lambda: self.store.get(key))
        except RedisUnavailable:
            return None

    async def put(self, key: str, generation: int, response: CachedResponse, ttl: int) -> None:
        """Keep ``response``, unless its generation was not known or Redis is down."""
        if generation < 0 or not await self._ready():
            return
        try:
            await self.health.call(
                self.part, lambda: self.store.put(key, generation, response, ttl)
            )
        except RedisUnavailable:
            return

    async def bump(self) -> None:
        """Start a new generation now, or as soon as Redis answers again."""
        try:
            await self.health.call(self.part, self.store.bump)
        except RedisUnavailable:
            self.bump_pending = True

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self.store.aclose()


def guard_response_store(
    store: ResponseStore | None, health: RedisHealth | None
) -> ResponseStore | None:
    """``store`` carrying on while Redis fails when it is in Redis (and ``health`` given)."""
    if store is None or health is None or not isinstance(store, RedisResponseStore):
        return store
    return GuardedResponseStore(store, health)
