"""The process's runtime: what lives as long as the gateway does, built once and frozen.

``build_runtime(settings)`` is the one place start-up opens things: the link map (migrated
first when asked), every configured system's adapter wrapped in resilience, the read cache,
Redis health, the response store, the rate limits and the API-key store. It returns a
``Runtime``, a frozen dataclass: nothing is assigned to it afterwards, so what a request
sees does not depend on the order of start-up code. ``gateway.app`` builds one per app in
its lifespan and keeps it on ``app.state.runtime``, where routers such as
``gateway.export.endpoint`` find it.

Nothing held here is swapped while the process runs. What does change at run time lives
inside the services the runtime holds, each owning its own state: a system's breaker,
throttle and quota (``sources.resilience.source.ResilientSource``), whether Redis answers
(``gateway.health.RedisHealth``) and the invalidations that wait for it
(``gateway.cache.GuardedBackend``, ``GuardedResponseStore``), and the single-flight table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import httpx

from gateway.auth.principal import Authenticator, Principal
from gateway.cache import build_cache, guard_response_store
from gateway.errors import ConfigError
from gateway.health import RedisHealth
from gateway.http.ratelimit import RateLimiter, RateLimits, build_limiter
from gateway.http.response_cache import ResponseStore, build_response_store, response_ttl
from gateway.quotas import build_quota
from gateway.settings import ResilienceSettings, Settings
from linkmap.api_keys import ApiKeyStore
from linkmap.audit import AuditLog
from linkmap.idempotency import IdempotencyStore
from linkmap.migrate import upgrade_async
from linkmap.resolution_cache import ResolutionCache
from linkmap.store import LinkStore
from resolvers.cache import ReadCache
from resolvers.context import Context, Systems
from resolvers.loaders import Loaders
from resolvers.singleflight import SingleFlight
from resolvers.source_states import SourceStates
from sources.base import ChecksItsSystem, Source
from sources.config import SystemConfigBase
from sources.registry import Reach, build_source, load_adapters
from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import ResilientSource

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """What lives as long as the process: the systems (adapters behind resilience, with
    their declared reads), the link map and its stores, the caches and the limits.

    Frozen: assigning to a field raises ``dataclasses.FrozenInstanceError``. Build it with
    ``build_runtime``; ``aclose`` closes what it opened.
    """

    systems: Systems
    links: LinkStore
    idempotency: IdempotencyStore
    audit: AuditLog
    authenticator: Authenticator
    flights: SingleFlight
    write_wait: float
    cache: ReadCache | None = None
    cache_backend: Any = None
    resolved: ResolutionCache | None = None
    redis: RedisHealth | None = None
    responses: ResponseStore | None = None
    response_ttl: int = 0
    rate_limiter: RateLimits | None = None
    login_limiter: RateLimiter | None = None

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
                self.systems.reads,
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
        """Close every adapter, the caches, the limits, Redis and the link-map engine."""
        for source in self.systems.sources.values():
            await source.aclose()
        if self.cache_backend is not None:
            await self.cache_backend.close()
        for limiter in (self.rate_limiter, self.login_limiter):
            if limiter is not None:
                await limiter.aclose()
        if self.responses is not None:
            await self.responses.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.links.close()


async def build_runtime(
    settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> Runtime:
    """The runtime of ``settings``, everything it needs opened; built once, never patched.

    ``transports`` puts a given httpx transport under a system's client (tests inject
    faults this way). If anything fails, what was opened so far is closed again and the
    error is raised (e.g. ``ConfigError`` for unusable auth settings,
    ``sources.operations.ReadDeclarationError`` for a system lacking a batched read).
    """
    load_adapters()
    if settings.linkmap.migrate_on_start:
        await upgrade_async(settings.linkmap.url)
    async with AsyncExitStack() as opened:
        redis = None
        if settings.cache.url.startswith("redis"):
            redis = RedisHealth(settings.cache.url)
            opened.push_async_callback(redis.aclose)
        links = LinkStore.from_url(settings.linkmap.url)
        opened.push_async_callback(links.close)
        sources = await _open_sources(settings, transports or {}, opened)
        systems = Systems(sources=sources)
        authenticator = Authenticator(settings.auth, ApiKeyStore(links.engine))
        cache, backend = build_cache(settings.cache, settings.systems, redis)
        if backend is not None:
            opened.push_async_callback(backend.close)
        ttl = response_ttl(settings.cache, settings.systems)
        responses = None
        if ttl > 0:
            responses = guard_response_store(build_response_store(settings.cache), redis)
            if responses is not None:
                opened.push_async_callback(responses.aclose)
        rate_limiter, login_limiter = _limits(settings, redis)
        for limiter in (rate_limiter, login_limiter):
            if limiter is not None:
                opened.push_async_callback(limiter.aclose)
        runtime = Runtime(
            systems=systems,
            links=links,
            idempotency=IdempotencyStore(
                links.engine, lease=timedelta(seconds=settings.write_lease)
            ),
            audit=AuditLog(links.engine),
            authenticator=authenticator,
            flights=SingleFlight(),
            write_wait=settings.request_deadline,
            cache=cache,
            cache_backend=backend,
            resolved=ResolutionCache(settings.linkmap.resolution_seconds)
            if settings.linkmap.resolution_seconds > 0
            else None,
            redis=redis,
            responses=responses,
            response_ttl=ttl,
            rate_limiter=rate_limiter,
            login_limiter=login_limiter,
        )
        opened.pop_all()  # from here on, Runtime.aclose closes them
    return runtime


async def _open_sources(
    settings: Settings,
    transports: Mapping[str, httpx.AsyncBaseTransport],
    opened: AsyncExitStack,
) -> dict[str, Source]:
    """Every configured system's adapter behind its resilience guards, in config order;
    each registered in ``opened`` for closing should start-up fail."""
    budget = RetryBudget(
        ratio=settings.resilience.retry_ratio,
        min_per_second=settings.resilience.retry_min_per_second,
    )
    sources: dict[str, Source] = {}
    adapters: list[Source] = []
    for name, config in settings.systems.items():
        transport = transports.get(name) or upstream_transport(settings.upstream_transport, config)
        adapter = build_source(name, config, Reach(http_transport=transport))
        try:
            guarded = _resilient(adapter, config, settings, budget)
        except BaseException:
            await adapter.aclose()
            raise
        opened.push_async_callback(guarded.aclose)
        sources[name] = cast(Source, guarded)  # it offers the adapter's protocols
        adapters.append(adapter)
    await _check_systems(adapters)
    return sources


async def _check_systems(adapters: list[Source]) -> None:
    """Ask every adapter that can check its spec against its live system
    (``ChecksItsSystem``; not through resilience: a check is no request). A spec that does
    not fit stops start-up with a ``ConfigError`` naming each table or column; a system
    out of reach is only logged (it may come back: its fields answer SOURCE_UNAVAILABLE
    until it does)."""
    found = await asyncio.gather(
        *(a.check_system() for a in adapters if isinstance(a, ChecksItsSystem))
    )
    problems = [problem for answer in found for problem in answer]
    for problem in problems:
        if not problem.reachable:
            log.warning("start-up check of %s", problem)
    mismatches = [str(problem) for problem in problems if problem.reachable]
    if mismatches:
        raise ConfigError(mismatches)


def _resilient(
    adapter: Source, config: SystemConfigBase, settings: Settings, budget: RetryBudget
) -> ResilientSource:
    """``adapter`` behind its own breaker, bulkhead and quota and the shared retry budget."""
    resilience: ResilienceSettings = settings.resilience
    quota = config.quota
    return ResilientSource(
        adapter,
        quota=None
        if quota is None
        else build_quota(
            adapter.name,
            quota.per_second,
            quota.capacity,
            cache_url=settings.cache.url,
            max_wait=config.timeout,
        ),
        breaker=CircuitBreaker(
            adapter.name,
            failure_threshold=resilience.failure_threshold,
            base_open_seconds=resilience.open_seconds,
            max_open_seconds=resilience.max_open_seconds,
        ),
        bulkhead=Bulkhead(
            resilience.max_in_flight,
            max_waiting=resilience.max_waiting,
            wait_seconds=config.timeout,
        ),
        budget=budget,
    )


def _limits(
    settings: Settings, redis: RedisHealth | None
) -> tuple[RateLimits | None, RateLimiter | None]:
    """The per-principal rate limits and the failed-login limit the settings ask for."""
    if not settings.rate_limit.enabled:
        return None, None
    rate_limiter = RateLimits.build(settings.rate_limit, settings.cache.url, redis)
    login_limiter = None
    if settings.auth.mode == "enforce":
        login_limiter = build_limiter(
            settings.cache.url,
            settings.rate_limit.failed_logins_per_minute,
            prefix="keylink:login:",
            part="failed-login limit",
            health=redis,
        )
    return rate_limiter, login_limiter


def upstream_transport(kind: str, config: Any) -> httpx.AsyncBaseTransport | None:
    """The transport under a system's httpx client: aiohttp's (less CPU per call) or
    httpx's own (``None``), with the system's connection limits."""
    if kind != "aiohttp":
        return None
    from sources.transport import upstream_transport as aiohttp_transport

    return aiohttp_transport(int(getattr(config, "max_connections", 100)))
