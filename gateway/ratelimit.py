"""Rate limits per principal, counted in GraphQL operations (S6).

A token bucket per principal: ``per_minute`` tokens, refilled continuously. A request
costs one token per root field it asks for (an aliased root field counts again), so one
request cannot do the work of many. In memory per process by default; in Redis (one
atomic script) when the cache is in Redis, so every replica shares the same buckets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from pydantic import BaseModel, ConfigDict, Field


class RateLimitSettings(BaseModel):
    """``rate_limit:`` in keylink.yaml."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    per_minute: int = Field(default=100, ge=1, le=1_000_000)
    failed_logins_per_minute: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="refused credentials per client IP before that IP gets 429s",
    )


@dataclass(frozen=True)
class Decision:
    """Whether a request may run, and if not, when to try again."""

    allowed: bool
    retry_after: float = 0.0


class RateLimiter(Protocol):
    """Takes ``cost`` tokens from ``principal``'s bucket, or says when it can."""

    async def take(self, principal: str, cost: int) -> Decision:
        """Spend ``cost`` tokens if the bucket holds them."""
        ...

    async def peek(self, principal: str) -> Decision:
        """Whether ``principal``'s bucket holds at least one token, spending nothing."""
        ...


class MemoryRateLimiter:
    """Token buckets in this process."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, principal: str, now: float) -> float:
        tokens, at = self._buckets.get(principal, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.rate)

    async def take(self, principal: str, cost: int) -> Decision:
        """Spend ``cost`` tokens if the bucket holds them."""
        now = self.clock()
        tokens = self._tokens(principal, now)
        if cost <= tokens:
            self._buckets[principal] = (tokens - cost, now)
            return Decision(True)
        self._buckets[principal] = (tokens, now)
        return Decision(False, (min(cost, self.capacity) - tokens) / self.rate)

    async def peek(self, principal: str) -> Decision:
        """Whether ``principal``'s bucket holds at least one token, spending nothing."""
        tokens = self._tokens(principal, self.clock())
        return Decision(True) if tokens >= 1 else Decision(False, (1 - tokens) / self.rate)


_REDIS_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or t
tokens = math.min(capacity, tokens + (t - at) * rate)
local allowed = 0
if cost <= tokens then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(t))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, tostring(tokens)}
"""

_REDIS_PEEK = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or t
return tostring(math.min(capacity, tokens + (t - at) * rate))
"""


class RedisRateLimiter:
    """Token buckets in Redis, shared by every process using the same server."""

    def __init__(self, url: str, per_minute: int, prefix: str = "keylink:rl:") -> None:
        import redis.asyncio as redis

        self.client: Any = redis.Redis.from_url(url)
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.prefix = prefix
        self._script = self.client.register_script(_REDIS_TAKE)
        self._peek = self.client.register_script(_REDIS_PEEK)

    async def take(self, principal: str, cost: int) -> Decision:
        """Spend ``cost`` tokens atomically in Redis if the bucket holds them."""
        allowed, tokens = await self._script(
            keys=[self.prefix + principal], args=[self.capacity, self.rate, cost]
        )
        if int(allowed) == 1:
            return Decision(True)
        return Decision(False, (min(cost, self.capacity) - float(tokens)) / self.rate)

    async def peek(self, principal: str) -> Decision:
        """Whether ``principal``'s bucket in Redis holds a token, spending nothing."""
        tokens = float(
            await self._peek(keys=[self.prefix + principal], args=[self.capacity, self.rate])
        )
        return Decision(True) if tokens >= 1 else Decision(False, (1 - tokens) / self.rate)

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self.client.aclose()


@lru_cache(maxsize=2048)
def operation_cost(query: str, operation_name: str | None) -> int:
    """Root fields the operation asks for (aliases count again); 1 if it does not parse."""
    try:
        document = parse(query, max_tokens=20_000)
    except GraphQLError:
        return 1
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op
        for op in operations
        if operation_name is None or (op.name and op.name.value == operation_name)
    ]
    if not chosen:
        return 1
    fields = [s for s in chosen[0].selection_set.selections if isinstance(s, FieldNode)]
    return max(1, sum(1 for f in fields if not f.name.value.startswith("__")))


def retry_after_header(seconds: float) -> str:
    """Whole seconds for ``Retry-After`` (at least 1)."""
    return str(max(1, math.ceil(seconds)))
