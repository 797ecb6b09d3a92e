"""The process's runtime: what lives as long as the gateway does.

``Runtime`` holds the upstream adapters, the link-map store and the shared caches and
limiters, and makes each request's context. ``gateway.app`` builds it at start-up
(``start_runtime``) and keeps it on ``app.state.runtime``, where routers such as
``gateway.export_http`` find it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from gateway.auth import Authenticator, Principal
from gateway.auth_settings import AuthSettings
from gateway.health import RedisHealth
from gateway.ratelimit import RateLimiter, RateLimits
from gateway.response_cache import ResponseStore
from linkmap.audit import AuditLog
from linkmap.idempotency import IdempotencyStore
from linkmap.resolution_cache import ResolutionCache
from linkmap.store import LinkStore
from resolvers.cache import ReadCache
from resolvers.context import Context, Systems
from resolvers.loaders import Loaders
from resolvers.singleflight import SingleFlight
from resolvers.source_states import SourceStates
from sources.base import Source


class Runtime:
    """What lives as long as the process: the upstream adapters and the link-map store."""

    def __init__(
        self,
        sources: Mapping[str, Source],
        links: LinkStore,
        cache: ReadCache | None = None,
        cache_backend: Any = None,
    ) -> None:
        self.systems = Systems(sources=dict(sources))
        self.links = links
        self.cache = cache
        self._cache_backend = cache_backend
        self.flights = SingleFlight()
        self.idempotency = IdempotencyStore(links.engine)
        self.audit = AuditLog(links.engine)
        self.write_wait = 30.0
        self.rate_limiter: RateLimits | None = None
        self.login_limiter: RateLimiter | None = None
        self.redis: RedisHealth | None = None
        self.responses: ResponseStore | None = None
        self.resolved: ResolutionCache | None = None
        self.response_ttl = 0
        self.authenticator = Authenticator(AuthSettings(), None)

    def request_context(
        self, principal: Principal | None = None, idempotency_header: str | None = None
    ) -> Context:
        """A fresh per-request context with its own loaders and source states."""
        states = SourceStates()
        principal = principal or Principal("anonymous", frozenset())
        return Context(
            systems=self.systems,
            links=self.links,
            loaders=Loaders(
                self.systems.sources,
                self.links,
                states,
                self.cache,
                self.flights,
                scope=principal.scope,
                resolved=self.resolved,
            ),
            states=states,
            today=date.today(),
            idempotency=self.idempotency,
            audit=self.audit,
            cache=self.cache,
            principal=principal.id,
            roles=principal.roles,
            scope=principal.scope,
            idempotency_header=idempotency_header,
            write_wait=self.write_wait,
        )

    async def aclose(self) -> None:
        """Close every adapter and the link-map engine."""
        for source in self.systems.sources.values():
            await source.aclose()
        if self._cache_backend is not None:
            await self._cache_backend.close()
        for limiter in (self.rate_limiter, self.login_limiter):
            if limiter is not None:
                await limiter.aclose()
        if self.responses is not None:
            await self.responses.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.links.close()
