"""Rate limits per principal, counted in GraphQL operations (S6).

Sized for one CRM backend serving a sales team through one integration key:

* every principal (an API key, a JWT's subject, a dev principal) has a token bucket of
  ``burst`` tokens (default: ``per_minute``, 1,200) refilled at ``per_minute`` a minute;
* a key listed in ``acting_user_keys`` may name the CRM user it acts for in the header
  ``X-Keylink-Acting-User``; that user then has a bucket of their own
  (``per_user_per_minute``, 120) under the key, and each request is charged to both. The
  header changes nothing else: the request keeps the key's roles and row scope. Any other
  credential naming an acting user is refused (403 ``FORBIDDEN``);
* a request costs one token per root field it asks for: each distinct response key (an
  alias counts again), including root fields selected through inline fragments and
  fragment spreads; introspection fields are free; a request costs at least one;
* an export (``POST /export``) is charged by its work, not its pages: one operation up
  front, then one per ``export_rows_per_operation`` units of work (100, the largest
  ``first``), taken before the next page and, for the last page, once the export ended.
  Its work is the rows it returned or, when more, the candidate records its list had to
  read (a filter on upstream data that skips rows); a page short of tokens waits for them
  (at most 60 s). A 10,000-row export costs about 100 operations, whatever its page size.

Refusals are GraphQL-shaped (``RATE_LIMITED``, ``extensions.retryAfter`` in seconds) with
HTTP 429 and ``Retry-After``, so federation routers pass them on.

Buckets live in memory per process by default, in Redis (one atomic script) when the cache
is in Redis, so every replica shares them. While Redis fails they fall back to per-process
buckets (see :class:`gateway.health.RedisHealth`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse
from starlette.types import Message, Scope

from gateway.health import RedisHealth, RedisUnavailable
from resolvers.error_codes import error_document

if TYPE_CHECKING:
    from gateway.auth.principal import Principal

ACTING_USER_HEADER: Final = "x-keylink-acting-user"
"""The CRM user a key listed in ``rate_limit.acting_user_keys`` acts for."""

ACTING_USER_MAX: Final = 255


class RateLimitSettings(BaseModel):
    """``rate_limit:`` in keylink.yaml."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    per_minute: int = Field(
        default=1200,
        ge=1,
        le=1_000_000,
        description="operations a minute per principal (API key, JWT subject)",
    )
    burst: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="operations a principal may spend at once (default: per_minute)",
    )
    per_user_per_minute: int = Field(
        default=120,
        ge=1,
        le=1_000_000,
        description="operations a minute per acting user a key names (X-Keylink-Acting-User)",
    )
    acting_user_keys: list[str] = Field(
        default_factory=list,
        description="ids of the API keys that may name an acting user (X-Keylink-Acting-User)",
    )
    export_rows_per_operation: int = Field(
        default=100,
        ge=1,
        le=1_000_000,
        description="an export is charged one operation per this many rows",
    )
    failed_logins_per_minute: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="refused credentials per client IP before that IP gets 429s",
    )


@dataclass(frozen=True)
class Decision:
    """Whether a request may run, and if not, when to try again (and which limit said no:
    ``principal`` or ``user``)."""

    allowed: bool
    retry_after: float = 0.0
    limit: str = "principal"


class RateLimiter(Protocol):
    """Takes ``cost`` tokens from ``principal``'s bucket, or says when it can."""

    capacity: float

    async def take(self, principal: str, cost: int) -> Decision:
        """Spend ``cost`` tokens if the bucket holds them."""
        ...

    async def peek(self, principal: str) -> Decision:
        """Whether ``principal``'s bucket holds at least one token, spending nothing."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class MemoryRateLimiter:
    """Token buckets in this process."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        burst: int | None = None,
    ) -> None:
        self.capacity = float(burst or per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._sweep_at = 10_000

    def _tokens(self, principal: str, now: float) -> float:
        tokens, at = self._buckets.get(principal, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.rate)

    async def take(self, principal: str, cost: int) -> Decision:
        """Spend ``cost`` tokens if the bucket holds them."""
        now = self.clock()
        tokens = self._tokens(principal, now)
        if cost <= tokens:
            self._buckets[principal] = (tokens - cost, now)
            self._forget_full(now)
            return Decision(True)
        self._buckets[principal] = (tokens, now)
        return Decision(False, (min(cost, self.capacity) - tokens) / self.rate)

    async def peek(self, principal: str) -> Decision:
        """Whether ``principal``'s bucket holds at least one token, spending nothing."""
        tokens = self._tokens(principal, self.clock())
        return Decision(True) if tokens >= 1 else Decision(False, (1 - tokens) / self.rate)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they equal a new one), so memory stays bounded
        however many principals or client addresses pass by; amortised: the next sweep
        waits until the number of buckets has doubled."""
        if len(self._buckets) < self._sweep_at:
            return
        full = [p for p in self._buckets if self._tokens(p, now) >= self.capacity]
        for principal in full:
            del self._buckets[principal]
        self._sweep_at = max(10_000, 2 * len(self._buckets))

    async def aclose(self) -> None:
        """Nothing to release."""


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

    def __init__(
        self,
        url: str,
        per_minute: int,
        prefix: str = "keylink:rl:",
        *,
        burst: int | None = None,
        timeout: float | None = None,
    ) -> None:
        import redis.asyncio as redis

        self.client: Any = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        self.capacity = float(burst or per_minute)
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


class FallbackRateLimiter:
    """Buckets in Redis while it answers, in this process while it does not (then a
    principal gets the full rate from each replica). The outage is logged once, by
    ``health``; requests are never refused or failed because Redis is down."""

    def __init__(
        self,
        shared: RedisRateLimiter,
        local: MemoryRateLimiter,
        health: RedisHealth,
        part: str,
    ) -> None:
        self.shared = shared
        self.local = local
        self.health = health
        self.part = part
        self.capacity = shared.capacity
        health.uses(part, "counted per process")

    async def take(self, principal: str, cost: int) -> Decision:
        """Spend ``cost`` tokens in Redis, or here while Redis is down."""
        try:
            return await self.health.call(self.part, lambda: self.shared.take(principal, cost))
        except RedisUnavailable:
            return await self.local.take(principal, cost)

    async def peek(self, principal: str) -> Decision:
        """Whether the bucket holds a token, in Redis or here while Redis is down."""
        try:
            return await self.health.call(self.part, lambda: self.shared.peek(principal))
        except RedisUnavailable:
            return await self.local.peek(principal)

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self.shared.aclose()


def build_limiter(
    cache_url: str,
    per_minute: int,
    *,
    prefix: str,
    part: str,
    health: RedisHealth | None,
    burst: int | None = None,
) -> RateLimiter:
    """Buckets in Redis when the cache is there (shared by replicas, per process while
    Redis is down), else in memory."""
    local = MemoryRateLimiter(per_minute, burst=burst)
    if not cache_url.startswith(("redis://", "rediss://")):
        return local
    health = health or RedisHealth()
    shared = RedisRateLimiter(
        cache_url, per_minute, prefix=prefix, burst=burst, timeout=health.timeout
    )
    return FallbackRateLimiter(shared, local, health, part)


class RateLimits:
    """The buckets a request is charged to: its principal's, and its acting user's when
    a key names one (that one first, so a user over their rate spends none of the key's)."""

    def __init__(
        self, settings: RateLimitSettings, per_principal: RateLimiter, per_user: RateLimiter
    ) -> None:
        self.settings = settings
        self.per_principal = per_principal
        self.per_user = per_user

    @classmethod
    def build(
        cls, settings: RateLimitSettings, cache_url: str, health: RedisHealth | None
    ) -> RateLimits:
        """The limits of ``settings``, in Redis when ``cache_url`` is Redis."""
        return cls(
            settings,
            build_limiter(
                cache_url,
                settings.per_minute,
                burst=settings.burst,
                prefix="keylink:rl:",
                part="rate limit",
                health=health,
            ),
            build_limiter(
                cache_url,
                settings.per_user_per_minute,
                prefix="keylink:rlu:",
                part="rate limit per acting user",
                health=health,
            ),
        )

    def capacity(self, principal: Principal) -> int:
        """The most tokens one charge to ``principal`` can ever get."""
        capacities = [self.per_principal.capacity]
        if principal.acting_user is not None:
            capacities.append(self.per_user.capacity)
        return max(1, int(min(capacities)))

    async def take(self, principal: Principal, cost: int) -> Decision:
        """Charge ``cost`` operations to ``principal`` (and its acting user)."""
        if principal.acting_user is not None:
            user = await self.per_user.take(f"{principal.id}/{principal.acting_user}", cost)
            if not user.allowed:
                return replace(user, limit="user")
        return await self.per_principal.take(principal.id, cost)

    async def aclose(self) -> None:
        """Close the buckets' connections."""
        await self.per_principal.aclose()
        await self.per_user.aclose()


class ActingUserRefused(Exception):
    """``X-Keylink-Acting-User`` was sent by a credential that may not send it, or names
    no usable user. ``status`` and ``code`` are the answer's; the message is safe to show."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def with_acting_user(
    principal: Principal, headers: Mapping[str, str], settings: RateLimitSettings
) -> Principal:
    """``principal`` acting for the user named in ``X-Keylink-Acting-User`` (``headers``
    is a Starlette ``Headers``), or as it is without that header. Only dev principals and
    the API keys listed in ``settings.acting_user_keys`` may name one
    (:class:`ActingUserRefused` otherwise)."""
    getlist = getattr(headers, "getlist", None)
    values = list(getlist(ACTING_USER_HEADER)) if callable(getlist) else []
    if not values:
        return principal
    if not _may_name_acting_user(principal, settings):
        raise ActingUserRefused(
            403,
            "FORBIDDEN",
            "this credential may not name an acting user (X-Keylink-Acting-User); "
            "list its API key id in rate_limit.acting_user_keys",
        )
    user = values[0].strip()
    if len(values) > 1 or not user or len(user) > ACTING_USER_MAX or not user.isprintable():
        raise ActingUserRefused(
            400,
            "BAD_INPUT",
            f"X-Keylink-Acting-User must be given once, 1 to {ACTING_USER_MAX} printable "
            "characters",
        )
    return replace(principal, acting_user=user)


def _may_name_acting_user(principal: Principal, settings: RateLimitSettings) -> bool:
    if principal.via == "dev":
        return True
    if principal.via != "api_key":
        return False
    from gateway.auth.principal import API_KEY_PRINCIPAL_PREFIX

    key_id = principal.id.removeprefix(API_KEY_PRINCIPAL_PREFIX)
    allowed = {k.removeprefix(API_KEY_PRINCIPAL_PREFIX) for k in settings.acting_user_keys}
    return key_id in allowed


@lru_cache(maxsize=2048)
def operation_cost(query: str, operation_name: str | None) -> int:
    """Root fields the operation asks for: distinct response keys (an alias counts again),
    through inline fragments and fragment spreads too, introspection fields free; at least
    1, and 1 if the text does not parse."""
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
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return max(1, len(_root_keys(chosen[0].selection_set, fragments, set())))


def _root_keys(
    selections: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    spread: set[str],
) -> set[str]:
    """Response keys of the fields selected at this level, fragments included (each named
    fragment once: a repeated or cyclic spread adds nothing new)."""
    keys: set[str] = set()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if not selection.name.value.startswith("__"):
                keys.add((selection.alias or selection.name).value)
        elif isinstance(selection, InlineFragmentNode):
            keys |= _root_keys(selection.selection_set, fragments, spread)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in spread or name not in fragments:
                continue
            spread.add(name)
            keys |= _root_keys(fragments[name].selection_set, fragments, spread)
    return keys


class ExportMeter:
    """Charges one export to its principal by its work (see the module docstring): call
    :meth:`before_page` before each page and :meth:`settle` after the last. ``work_done``
    tells the export's work so far (the export sets it once it runs)."""

    def __init__(
        self,
        limits: RateLimits | None,
        principal: Principal,
        max_wait: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.principal = principal
        self.max_wait = max_wait
        self.work_done: Callable[[], int] = lambda: 0
        self.charged = 0
        self._sleep = sleep

    @property
    def rows_done(self) -> Callable[[], int]:
        """The earlier name of :attr:`work_done` (when only rows were counted)."""
        return self.work_done

    @rows_done.setter
    def rows_done(self, work: Callable[[], int]) -> None:
        self.work_done = work

    def _due(self) -> int:
        """Operations owed for the work so far, beyond those already charged."""
        assert self.limits is not None
        per = self.limits.settings.export_rows_per_operation
        return math.ceil(self.work_done() / per) - self.charged

    async def before_page(self) -> Decision:
        """Charge what the export owes before its next page. The first page is refused
        when the principal is over its rate; a later one waits for tokens and is refused
        only past ``max_wait`` seconds."""
        if self.limits is None:
            return Decision(True)
        due = 1 if self.charged == 0 else self._due()
        if due <= 0:
            return Decision(True)
        due = min(due, self.limits.capacity(self.principal))
        waited = 0.0
        while not (decision := await self.limits.take(self.principal, due)).allowed:
            if self.charged == 0 or waited + decision.retry_after > self.max_wait:
                return decision
            await self._sleep(decision.retry_after)
            waited += decision.retry_after
        self.charged += due
        return decision

    async def settle(self) -> None:
        """Charge the work of the last page, once the export ended (nothing is waited
        for: what the bucket lacks now is owed by nobody; the export is done)."""
        if self.limits is None or self.charged == 0:
            return
        due = min(self._due(), self.limits.capacity(self.principal))
        if due > 0 and (await self.limits.take(self.principal, due)).allowed:
            self.charged += due


def retry_after_header(seconds: float) -> str:
    """Whole seconds for ``Retry-After`` (at least 1)."""
    return str(max(1, math.ceil(seconds)))


RATE_LIMITED_MESSAGE: Final = "Rate limit exceeded; retry after the delay in Retry-After."


def refusal_body(retry_after: float, code: str, message: str, **extensions: Any) -> bytes:
    """A GraphQL-shaped refusal (a request error: ``errors`` only, no ``data``) whose
    ``extensions`` carry ``code`` and ``retryAfter`` (whole seconds, as ``Retry-After``)."""
    seconds = int(retry_after_header(retry_after))
    return orjson.dumps(error_document(code, message, retry_after=seconds, **extensions))


def refusal_headers(retry_after: float, body: bytes) -> list[tuple[bytes, bytes]]:
    """ASGI headers of a 429 refusal with ``body``."""
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", retry_after_header(retry_after).encode()),
    ]


def rate_limited_body(decision: Decision) -> bytes:
    """The GraphQL-shaped body of a ``RATE_LIMITED`` refusal for ``decision``."""
    return refusal_body(
        decision.retry_after, "RATE_LIMITED", RATE_LIMITED_MESSAGE, limit=decision.limit
    )


def rate_limited_messages(decision: Decision) -> list[Message]:
    """The ASGI messages of a 429 ``RATE_LIMITED`` answer (for middleware)."""
    body = rate_limited_body(decision)
    return [
        {
            "type": "http.response.start",
            "status": 429,
            "headers": refusal_headers(decision.retry_after, body),
        },
        {"type": "http.response.body", "body": body},
    ]


def rate_limited_response(decision: Decision) -> JSONResponse:
    """The 429 ``RATE_LIMITED`` answer as a response object (for routes)."""
    return JSONResponse(
        orjson.loads(rate_limited_body(decision)),
        status_code=429,
        headers={"Retry-After": retry_after_header(decision.retry_after)},
    )


class RateLimitExceeded(Exception):
    """Raised where a request is found over its rate; the app answers
    :func:`rate_limited_response`."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("rate limit exceeded")
        self.decision = decision


CHARGE_KEY = "keylink.rate_charge"
"""Where a request's charge is kept in its ASGI scope state, once computed."""


def request_charge(scope: Scope) -> int | None:
    """What the ``/graphql`` request in ``scope`` is charged against the rate limit
    (:func:`operation_cost` of its parsed query), computed once per request and kept in
    its scope for every later check; None for a request without a query (strawberry
    refuses it, nothing is charged)."""
    from gateway.http.graphql import graphql_request

    state = scope.setdefault("state", {})
    charge = state.get(CHARGE_KEY)
    if charge is None:
        parsed = graphql_request(scope)
        if parsed is None or parsed.query is None:
            return None
        charge = state[CHARGE_KEY] = operation_cost(parsed.query, parsed.operation_name)
    return int(charge)
