"""Whole-response cache for GraphQL queries, in front of strawberry.

A query answered in full (no error, nothing stale) is kept as the exact bytes that were
sent, under a key made of the principal, its roles, the query text, the operation name,
the variables and the media type of the answer (``application/json`` or
``application/graphql-response+json``). Only well-formed GraphQL requests are looked up or
kept: a ``GET`` or a JSON ``POST`` to ``/graphql`` as parsed once by
:mod:`gateway.http.graphql` (anything that parser refuses never reaches the store). The
same request within the response TTL gets those bytes back without validating or resolving
anything. Every mutation that passes through Keylink (by ``POST``: one sent by ``GET`` is
refused) bumps a generation number before its answer is sent, and an entry from an older
generation is never served: after an edit, no cached answer predating it is shown. With
Redis the generation and the entries are shared by every replica.

The TTL is the shortest freshness configured for any system or operation, so a cached
response is never older than the read cache would allow.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.graphql import applies, operation_kind, parsed_or_refused
from gateway.settings import CacheSettings
from gateway.telemetry import explain
from sources.config import SystemConfigBase

CACHE_HEADER = b"x-keylink-cache"


@dataclass(frozen=True)
class CachedResponse:
    """The status, content type and body of a response as it was first sent."""

    content_type: bytes
    body: bytes


class ResponseStore(Protocol):
    """Where cached responses and the write generation live."""

    async def generation(self) -> int:
        """The current write generation."""
        ...

    async def get(self, key: str) -> CachedResponse | None:
        """The response stored under ``key`` in the current generation, or None."""
        ...

    async def put(self, key: str, generation: int, response: CachedResponse, ttl: int) -> None:
        """Keep ``response`` for ``ttl`` seconds as of ``generation``."""
        ...

    async def bump(self) -> None:
        """Start a new generation: every response stored before is no longer served."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class MemoryResponseStore:
    """Responses in this process, least recently used dropped beyond ``max_bytes``."""

    def __init__(
        self, max_bytes: int = 64 * 1024 * 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self.clock = clock
        self._generation = 0
        self._size = 0
        self._entries: OrderedDict[str, tuple[float, int, CachedResponse]] = OrderedDict()

    async def generation(self) -> int:
        """The current write generation."""
        return self._generation

    async def get(self, key: str) -> CachedResponse | None:
        """The response stored under ``key`` in the current generation, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, generation, response = entry
        if generation != self._generation or expires <= self.clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return response

    async def put(self, key: str, generation: int, response: CachedResponse, ttl: int) -> None:
        """Keep ``response`` for ``ttl`` seconds as of ``generation``."""
        if generation != self._generation or len(response.body) > self.max_bytes // 16:
            return
        self._drop(key)
        self._entries[key] = (self.clock() + ttl, generation, response)
        self._size += len(response.body)
        while self._size > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    async def bump(self) -> None:
        """Start a new generation: every response stored before is no longer served."""
        self._generation += 1
        self._entries.clear()
        self._size = 0

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._size -= len(entry[2].body)

    async def aclose(self) -> None:
        """Nothing to release."""


class RedisResponseStore:
    """Responses and the generation in Redis, shared by every replica."""

    def __init__(self, url: str, prefix: str = "keylink:resp:") -> None:
        import redis.asyncio as redis

        self.client: Any = redis.Redis.from_url(url)
        self.prefix = prefix
        self.generation_key = prefix + "generation"

    async def generation(self) -> int:
        """The current write generation."""
        value = await self.client.get(self.generation_key)
        return int(value or 0)

    async def get(self, key: str) -> CachedResponse | None:
        """The response stored under ``key`` in the current generation, or None."""
        generation, stored = await self.client.mget(self.generation_key, self.prefix + key)
        if stored is None:
            return None
        tag, content_type, body = stored.split(b"\n", 2)
        if int(tag) != int(generation or 0):
            return None
        return CachedResponse(content_type, body)

    async def put(self, key: str, generation: int, response: CachedResponse, ttl: int) -> None:
        """Keep ``response`` for ``ttl`` seconds as of ``generation``."""
        value = b"%d\n%s\n%s" % (generation, response.content_type, response.body)
        await self.client.set(self.prefix + key, value, ex=ttl)

    async def bump(self) -> None:
        """Start a new generation: every response stored before is no longer served."""
        await self.client.incr(self.generation_key)

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self.client.aclose()


def response_key(
    principal: str,
    roles: frozenset[str],
    body: dict[str, Any],
    scope: list[str] | None = None,
    media_type: str = "application/json",
) -> str | None:
    """The cache key of a GraphQL request body for ``principal`` holding ``roles`` and
    row ``scope``, answered as ``media_type``; None (not cached) for variables orjson
    cannot encode (nested deeper than its 254 levels)."""
    try:
        material = orjson.dumps(
            [
                principal,
                sorted(roles),
                scope,
                body.get("query"),
                body.get("operationName"),
                body.get("variables"),
                media_type,
            ],
            option=orjson.OPT_SORT_KEYS,
        )
    except orjson.JSONEncodeError:
        return None
    return hashlib.sha256(material).hexdigest()


def cacheable(body: bytes) -> bool:
    """Whether a response body is a complete, fresh answer: data, no errors, not stale."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(answer, dict) or answer.get("errors") or answer.get("data") is None:
        return False
    extensions = answer.get("extensions") or {}
    return not (
        isinstance(extensions, dict) and (extensions.get("stale") or "explain" in extensions)
    )


def _explain_asked(scope: Scope, extensions: Mapping[str, Any] | None) -> bool:
    header = dict(scope["headers"]).get(explain.HEADER.encode(), b"")
    return explain.asked({explain.HEADER: header.decode("latin-1")}, extensions)


RateCheck = Callable[[Scope], Awaitable[list[Message] | None]]
"""Counts a served-from-cache request against the principal's rate; returns the messages
of the 429 answer (GraphQL-shaped ``RATE_LIMITED``) when the principal is over it."""


StoreLocator = Callable[[Scope], tuple["ResponseStore | None", int]]
"""The store and response TTL of the running application (both set at start-up)."""


class ResponseCache:
    """ASGI middleware serving repeated GraphQL queries from ``store`` (see module doc).

    It runs after authentication (it reads ``scope["state"]["principal"]``) and lets every
    other request through untouched.
    """

    def __init__(self, app: ASGIApp, locate: StoreLocator, rate_check: RateCheck) -> None:
        self.app = app
        self.locate = locate
        self.rate_check = rate_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer from the store, or pass on and keep a cacheable answer."""
        if not applies(scope) or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        store, ttl = self.locate(scope)
        if store is None or ttl <= 0:
            await self.app(scope, receive, send)
            return
        found = await parsed_or_refused(scope, receive, send)
        if found is None:
            return
        request, again = found
        principal = scope.get("state", {}).get("principal")
        kind = (
            operation_kind(request.query, request.operation_name)
            if request.query is not None
            else None
        )
        if kind == "mutation" and request.method == "POST":
            await self.app(scope, again, _bump_before_answering(store, send))
            return
        if kind != "query" or principal is None or _explain_asked(scope, request.extensions):
            # an explain answer tells how this very answer was made: never replayed, never kept
            await self.app(scope, again, send)
            return
        body = request.as_body()
        rows = getattr(principal, "scope", None)
        key = response_key(
            principal.id,
            principal.roles,
            body,
            None if rows is None else rows.as_strings(),
            request.media_type,
        )
        if key is None:
            await self.app(scope, again, send)
            return
        if b"no-cache" not in dict(scope["headers"]).get(b"cache-control", b""):
            cached = await store.get(key)
            if cached is not None:
                refused = await self.rate_check(scope)
                if refused is not None:
                    for message in refused:
                        await send(message)
                    return
                await _send_cached(send, cached)
                return
        generation = await store.generation()
        await self.app(scope, again, _keep_if_cacheable(store, key, generation, ttl, send))


async def _send_cached(send: Send, cached: CachedResponse) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", cached.content_type),
                (b"content-length", str(len(cached.body)).encode()),
                (CACHE_HEADER, b"hit"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": cached.body})


def _bump_before_answering(store: ResponseStore, send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            await store.bump()
        await send(message)

    return sending


def _keep_if_cacheable(
    store: ResponseStore, key: str, generation: int, ttl: int, send: Send
) -> Send:
    status = 0
    content_type = b"application/json"
    chunks: list[bytes] = []

    async def sending(message: Message) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = dict(message.get("headers", ()))
            content_type = headers.get(b"content-type", content_type)
            extra = [(CACHE_HEADER, b"miss")]
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)
        if message["type"] == "http.response.body" and status == 200:
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = b"".join(chunks)
                if cacheable(body):
                    await store.put(key, generation, CachedResponse(content_type, body), ttl)

    return sending


def response_ttl(settings: CacheSettings, systems: Mapping[str, SystemConfigBase]) -> int:
    """Seconds a complete answer may be replayed: ``cache.response_ttl`` when set, else the
    shortest freshness configured for any system or operation (0 when caching is off)."""
    if settings.url == "none":
        return 0
    if settings.response_ttl is not None:
        return settings.response_ttl
    freshness = [settings.ttl, settings.master_data_ttl]
    for config in systems.values():
        freshness.append(config.ttl if config.ttl is not None else settings.ttl)
        freshness.extend(config.operation_ttl.values())
    return min(freshness)


def build_response_store(settings: CacheSettings) -> ResponseStore | None:
    """The response store next to the read cache: Redis when it is in Redis, else memory."""
    if settings.url == "none":
        return None
    if settings.url.startswith(("redis://", "rediss://")):
        return RedisResponseStore(settings.url)
    return MemoryResponseStore()
