"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (the link map
answers; each system's last known state and the degraded parts named), and ``/metrics``
(``gateway.telemetry.metrics``). Readiness ignores upstream state for its status code: an
ERP outage must not take Keylink out of a load balancer, because Keylink still answers
every other system's fields; ``/readyz`` says it as data instead.

Redis is a cache and a limiter, never a source of truth. :class:`RedisHealth` is one
process's view of whether Redis answers, shared by everything that uses it (read cache,
response cache, rate limits, failed-login limit). While Redis fails, each of them falls back
(reads skip the cache, limits count per process), the outage is logged once, and Redis is
left alone for ``retry_seconds`` before one call tries it again. ``/readyz`` stays 200 and
reports the degradation as data (``"status": "degraded"``, ``"redis": "down"``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError

from resolvers.error_codes import error_document

log = logging.getLogger("keylink.health")

T = TypeVar("T")

REDIS_TIMEOUT_SECONDS = 0.5
"""Longest wait for one Redis call before it counts as an outage."""

REDIS_RETRY_SECONDS = 2.0
"""After a failed Redis call, Redis is not asked again for this long (then one call tries)."""

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
"""What a Redis call raises when Redis is down, unreachable, too slow or refusing work."""


class RedisUnavailable(Exception):
    """Redis did not answer this call, or is known to be down: use the fallback."""


class RedisHealth:
    """Whether this process can use Redis now; see the module docstring.

    Promises: :meth:`call` either returns what Redis answered within ``timeout`` seconds or
    raises :class:`RedisUnavailable` (never a Redis or socket error); after a failure, no
    call reaches Redis for ``retry_seconds`` except one probe per pause; the first failure
    of an outage is logged once at WARNING, the recovery once at WARNING.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = REDIS_TIMEOUT_SECONDS,
        retry_seconds: float = REDIS_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.fallbacks: dict[str, str] = {}
        """What each part using Redis does without it (part -> fallback), for /readyz."""
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._client: Any = None
        if url is not None:
            import redis.asyncio as redis

            self._client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )

    @property
    def down(self) -> bool:
        """Whether the last Redis call failed."""
        return self._down_since is not None

    def uses(self, part: str, fallback: str) -> None:
        """Record that ``part`` uses Redis and does ``fallback`` without it."""
        self.fallbacks[part] = fallback

    def usable(self) -> bool:
        """Whether to call Redis now: while it is up, and once per pause while it is down
        (that call is the probe)."""
        if self._down_since is None:
            return True
        now = self.clock()
        if now < self._retry_at:
            return False
        self._retry_at = now + self.retry_seconds
        return True

    def failed(self, part: str, exc: BaseException) -> None:
        """A call of ``part`` failed: Redis is down until a call succeeds again."""
        now = self.clock()
        self._retry_at = now + self.retry_seconds
        if self._down_since is None:
            self._down_since = now
            fallbacks = "; ".join(f"{p}: {f}" for p, f in sorted(self.fallbacks.items()))
            log.warning(
                "Redis unreachable (%s: %s: %s); serving without it (%s) until it answers again",
                part,
                type(exc).__name__,
                exc,
                fallbacks or "nothing uses it",
            )

    def succeeded(self) -> None:
        """A call succeeded: Redis is up (the recovery is logged once)."""
        if self._down_since is not None:
            log.warning(
                "Redis reachable again after %.1f s; shared cache and limits resume",
                self.clock() - self._down_since,
            )
            self._down_since = None

    async def call(self, part: str, operation: Callable[[], Awaitable[T]]) -> T:
        """What ``operation`` (a Redis call of ``part``) returns, or
        :class:`RedisUnavailable` when Redis is down or fails it."""
        if not self.usable():
            raise RedisUnavailable(part)
        try:
            async with asyncio.timeout(self.timeout):
                result = await operation()
        except OUTAGE_ERRORS as exc:
            self.failed(part, exc)
            raise RedisUnavailable(part) from exc
        self.succeeded()
        return result

    async def check(self) -> bool:
        """Ping Redis now (whatever the pause) and return whether it answered."""
        if self._client is None:
            return not self.down
        try:
            async with asyncio.timeout(self.timeout):
                await self._client.ping()
        except OUTAGE_ERRORS as exc:
            self.failed("readiness check", exc)
            return False
        self.succeeded()
        return True

    def report(self) -> dict[str, Any]:
        """Redis's state for /readyz: ``redis`` up or down and, while down, for how long
        and what each part does instead (``degraded``)."""
        if self._down_since is None:
            return {"redis": "up"}
        return {
            "redis": "down",
            "redis_down_seconds": round(self.clock() - self._down_since, 1),
            "degraded": dict(sorted(self.fallbacks.items())),
        }

    async def aclose(self) -> None:
        """Close the readiness check's connection."""
        if self._client is not None:
            await self._client.aclose()


def health_router() -> APIRouter:
    """The routes ``/healthz``, ``/readyz`` and ``/metrics``."""
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Every metric in Prometheus text format (``gateway.telemetry.metrics``), summed
        over the worker processes; for principals holding one of
        ``telemetry.metrics.roles`` (403 ``FORBIDDEN`` for others; 404 when turned off)."""
        from gateway.telemetry import metrics as prometheus

        settings = request.app.state.settings.telemetry.metrics
        if not settings.enabled:
            return JSONResponse(
                error_document("NOT_FOUND", "Metrics are turned off."), status_code=404
            )
        principal = getattr(request.state, "principal", None)
        roles: frozenset[str] = getattr(principal, "roles", frozenset())
        if roles.isdisjoint(settings.roles):
            message = f"/metrics needs one of the roles {', '.join(sorted(settings.roles))}."
            return JSONResponse(error_document("FORBIDDEN", message), status_code=403)
        await prometheus.refresh(request.app.state.runtime)
        body, content_type = prometheus.render()
        return Response(body, media_type=content_type)

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """200 while the link map answers: ``status`` ``ok``, or ``degraded`` while Redis is
        down or a system's breaker is not closed or its last call failed (``degraded``
        names each part and what happens without it); 503 ``unavailable`` when the link
        map fails. Upstream systems never make it 503: Keylink still answers every other
        system's fields. ``systems`` (every system's last known state, see
        :func:`system_state`) is there while a system is degraded, or always with
        ``?verbose=true``; a healthy answer stays ``{"status": "ok", "linkmap": "up"}``."""
        runtime = request.app.state.runtime
        redis: RedisHealth | None = getattr(runtime, "redis", None)
        state: dict[str, Any] = {"status": "ok", "linkmap": "up"}
        if redis is not None:
            await redis.check()
            state.update(redis.report())
            if redis.down:
                state["status"] = "degraded"
        systems = {name: system_state(source) for name, source in runtime.systems.sources.items()}
        verbose = request.query_params.get("verbose", "").lower() in ("1", "true", "yes")
        for name, system in systems.items():
            if system["state"] in ("down", "throttled"):
                state["status"] = "degraded"
                state.setdefault("degraded", {})[f"system {name}"] = system["effect"]
                verbose = True
        if verbose:
            state["systems"] = systems
        try:
            await runtime.links.ping()
        except Exception as exc:
            log.warning("link map not reachable: %r", exc)
            state.update(status="unavailable", linkmap="down")
            return JSONResponse(state, status_code=503)
        return JSONResponse(state)

    return router


def system_state(source: Any) -> dict[str, Any]:
    """One system's last known state for ``/readyz``: ``state`` ``up`` (its last call
    answered), ``down`` (breaker not closed, or its last call failed), ``throttled`` (it
    asked to wait) or ``unknown`` (not called since start); ``circuit``; ``lastCall``
    (``ok``, ``failed``, ``throttled``), its error and how long ago; and, when not up,
    ``effect``: what that means for answers."""
    health = getattr(source, "health", None)
    circuit = health()["state"] if health is not None else "closed"
    last = getattr(source, "last_call", None)
    found: dict[str, Any] = {"circuit": circuit}
    if last is None:
        found["state"] = "unknown"
    else:
        outcome, error, at = last
        found["state"] = {"ok": "up", "failed": "down", "throttled": "throttled"}[outcome]
        found["lastCall"] = outcome
        if error is not None:
            found["lastError"] = error
        found["lastCallSecondsAgo"] = round(max(time.time() - at, 0.0), 1)
    if circuit != "closed":
        found["state"] = "down"
    if found["state"] == "down":
        found["effect"] = "its fields answer null with SOURCE_UNAVAILABLE"
    elif found["state"] == "throttled":
        found["effect"] = "it asked for fewer requests; its fields may wait or fail"
    return found
