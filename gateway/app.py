"""The FastAPI application: ``create_app(settings)`` wires sources, link map and GraphQL."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.types import Message, Scope

from gateway.admin import admin_links_router
from gateway.auth.middleware import Authentication
from gateway.auth.principal import Principal
from gateway.embed.routes import install as install_embed
from gateway.errors import ConfigError
from gateway.export.endpoint import export_router
from gateway.health import health_router
from gateway.http.deadline import RequestDeadline
from gateway.http.graphql import GraphQLOverHTTPRouter, GraphQLRequests
from gateway.http.limits import BodySizeLimit, limit_extensions
from gateway.http.persisted import PersistedQueries
from gateway.http.ratelimit import (
    RateLimitExceeded,
    rate_limited_messages,
    rate_limited_response,
    request_charge,
)
from gateway.http.response_cache import ResponseCache, ResponseStore
from gateway.runtime import Runtime, build_runtime
from gateway.settings import Settings
from gateway.telemetry.wiring import add_request_layer, app_telemetry, schema_extension
from linkmap.bulk.loader import NameMatcher
from resolvers.context import Systems
from resolvers.onboarding.names import key_matcher
from resolvers.schema import build_schema

log = logging.getLogger("keylink.gateway")

GC_THRESHOLDS = (100_000, 50, 1000)
"""Garbage-collector thresholds set at start-up (see ``create_app``'s lifespan)."""


class OrjsonGraphQLRouter(GraphQLOverHTTPRouter):
    """strawberry's FastAPI router, encoding responses with orjson, taking the request
    parsed once by ``GraphQLRequests`` (gateway.http.graphql)."""

    def encode_json(self, data: object) -> bytes:
        """The response body as compact JSON bytes."""
        return orjson.dumps(data)


start_runtime = build_runtime
"""The runtime of the settings, built once (``gateway.runtime.build_runtime``); kept under
this name for callers that start one without an app."""


async def rate_check_for_cached(scope: Scope) -> list[Message] | None:
    """Count an answer replayed from the response cache against the principal's rate; the
    429 ``RATE_LIMITED`` answer when the principal is over it."""
    runtime: Runtime = scope["app"].state.runtime
    principal: Principal = scope["state"]["principal"]
    charge = request_charge(scope)
    if runtime.rate_limiter is None or charge is None:
        return None
    decision = await runtime.rate_limiter.take(principal, charge)
    return None if decision.allowed else rate_limited_messages(decision)


def response_store_of(scope: Scope) -> tuple[ResponseStore | None, int]:
    """The running application's response store and TTL."""
    runtime: Runtime = scope["app"].state.runtime
    return runtime.responses, runtime.response_ttl


async def enforce_rate_limit(runtime: Runtime, request: Request, principal: Principal) -> None:
    """Refuse the request (:class:`RateLimitExceeded`: 429 ``RATE_LIMITED`` with
    ``Retry-After``) when the principal is over its rate."""
    charge = request_charge(request.scope)  # computed once per request
    if runtime.rate_limiter is None or charge is None:
        return
    decision = await runtime.rate_limiter.take(principal, charge)
    if not decision.allowed:
        raise RateLimitExceeded(decision)


def create_app(
    settings: Settings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    """The Keylink HTTP application for ``settings``.

    ``transports`` lets tests put a fault-injecting httpx transport in front of a system.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings, transports)  # once per app, never patched
        app.state.runtime = runtime
        # Long-lived start-up objects (schema, specs, pools) leave the collector's view, so
        # full collections stay short under load.
        gc.collect()
        gc.freeze()
        # Requests allocate many short-lived objects and little cyclic garbage; CPython's
        # default thresholds (700, 10, 10) then run full collections over every in-flight
        # answer again and again. Measured (bench/peer.py, 32 concurrent 50-customer
        # queries): a third less CPU per request with these thresholds, memory flat
        # (bench/memory.py).
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            await runtime.aclose()

    if settings.env != "dev" and settings.auth.mode == "dev":
        raise ConfigError(
            ["auth.mode: 'dev' trusts principal headers and is refused when env is production"]
        )
    dev = settings.env == "dev"
    app = FastAPI(
        title="Keylink",
        lifespan=lifespan,
        docs_url="/docs" if dev else None,
        redoc_url=None,
        openapi_url="/openapi.json" if dev else None,
    )
    app.state.settings = settings

    async def get_context(request: Request) -> dict[str, Any]:
        runtime: Runtime = request.app.state.runtime
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:  # the GraphiQL page: strawberry builds a context, runs nothing
            return {"keylink": runtime.request_context()}
        await enforce_rate_limit(runtime, request, principal)
        return {
            "keylink": runtime.request_context(principal, request.headers.get("idempotency-key"))
        }

    telemetry = app_telemetry(app, settings.telemetry)
    schema = build_schema(
        limit_extensions(settings.limits, dev=dev),
        suggestions=dev,
        hide_mutations=settings.federation.hide_mutations,
        fast_path=settings.fast_path,
        outer_extensions=[schema_extension(telemetry)],
    )
    graphql = OrjsonGraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide="graphiql" if dev else None,
        allow_queries_via_get=True,
    )
    app.include_router(graphql, prefix="/graphql")
    app.include_router(export_router(schema, settings.request_deadline))
    # /admin/links/import and /export (admin role); rows keyed by a name are matched live
    app.include_router(
        admin_links_router(matcher_factory=lambda systems: key_matcher(systems.sources))
    )
    app.add_middleware(RequestDeadline, seconds=settings.request_deadline)
    app.add_middleware(ResponseCache, locate=response_store_of, rate_check=rate_check_for_cached)

    app.add_middleware(Authentication, dev=dev)
    app.add_middleware(PersistedQueries, settings=settings.persisted_queries)
    app.add_middleware(PersistedQueries, settings=settings.persisted_queries, path="/export")
    app.add_middleware(GraphQLRequests)  # parses each GraphQL request once, for every layer
    app.add_middleware(BodySizeLimit, limit=settings.limits.max_body_bytes)
    add_request_layer(app, telemetry)  # outermost: the request id on every answer
    app.include_router(health_router())
    install_embed(app, settings)  # embed pages, their tokens, the shipped static assets

    @app.exception_handler(RateLimitExceeded)
    async def rate_limited(_request: Request, exc: RateLimitExceeded) -> JSONResponse:
        return rate_limited_response(exc.decision)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"error": "Unexpected error."}, status_code=500)

    return app


def _name_matcher(systems: Systems) -> NameMatcher:
    return key_matcher(systems.sources)


def app_from_environment() -> FastAPI:
    """The application for ``KEYLINK_CONFIG`` (or ``keylink.yaml``) plus the environment."""
    import os
    from pathlib import Path

    from gateway.settings import DEFAULT_CONFIG_FILE, load_settings

    path = os.environ.get("KEYLINK_CONFIG")
    config = Path(path) if path else Path(DEFAULT_CONFIG_FILE)
    return create_app(load_settings(config if config.exists() else None))
