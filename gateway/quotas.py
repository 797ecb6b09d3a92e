"""Upstream request quotas (``systems.<name>.quota``): the gateway's token buckets put
under :class:`sources.resilience.guards.Quota`, in Redis when the cache is there."""

from __future__ import annotations

import math

from gateway.health import RedisHealth
from gateway.http.ratelimit import build_limiter
from sources.resilience.guards import Quota


def build_quota(
    system: str,
    per_second: float,
    capacity: int,
    *,
    cache_url: str,
    max_wait: float,
    health: RedisHealth | None = None,
    prefix: str = "keylink:quota:",
) -> Quota:
    """A quota for ``system``: in Redis (shared by the replicas; per process while Redis is
    down) when ``cache_url`` is a Redis URL, else in this process."""
    # the rate limiter counts per minute: round down, so the quota is never exceeded
    per_minute = max(1, math.floor(per_second * 60.0))
    limiter = build_limiter(
        cache_url,
        per_minute,
        prefix=prefix,
        part=f"quota of {system}",
        health=health,
        burst=capacity,
    )
    return Quota(limiter, system, max_wait=max_wait)
