"""The ASGI layer that puts a principal on every request (or answers 401/403/429/503
itself)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.embed_tokens import is_open_embed_path, principal_from_embed_header
from gateway.auth.principal import AuthError, AuthUnavailable
from gateway.http.ratelimit import (
    ActingUserRefused,
    RateLimitSettings,
    refusal_body,
    retry_after_header,
    with_acting_user,
)
from resolvers.error_codes import error_document

log = logging.getLogger("keylink.gateway")


class Authentication:
    """ASGI middleware: every endpoint but ``/healthz`` and ``/readyz`` (probes carry no
    credentials; they show no data) and, in dev, the GraphiQL page itself, which holds no
    data, needs a principal (API key, JWT, or dev headers); it is left in
    ``scope["state"]["principal"]`` (``request.state.principal``), acting for the CRM user
    named in ``X-Keylink-Acting-User`` when its credential may name one
    (:func:`gateway.http.ratelimit.with_acting_user`; 403 otherwise).

    Refused credentials (not requests without any) count against the client address's
    failed-login budget; an address over it gets 429 ``TOO_MANY_FAILED_LOGINS`` (GraphQL
    shaped, ``extensions.retryAfter``) before its credentials are looked at. The budget is
    in Redis when the cache is, and per process while Redis is down.
    """

    def __init__(self, app: ASGIApp, *, dev: bool) -> None:
        self.app = app
        self.dev = dev

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate, then pass the request on; or answer the refusal."""
        if scope["type"] != "http" or self._open(scope):
            await self.app(scope, receive, send)
            return
        runtime: Any = scope["app"].state.runtime
        client = scope.get("client")
        client_ip = client[0] if client else "unknown"
        limiter = runtime.login_limiter
        if limiter is not None:
            blocked = await limiter.peek(client_ip)
            if not blocked.allowed:
                await _too_many_failed_logins(blocked.retry_after)(scope, receive, send)
                return
        headers = Headers(scope=scope)
        try:
            embed_tokens = getattr(scope["app"].state, "embed_tokens", None)
            principal = principal_from_embed_header(
                headers, embed_tokens, scope["path"]
            ) or await runtime.authenticator.authenticate(headers)
        except AuthUnavailable as exc:
            log.warning("authentication unavailable: %s", exc)
            refusal = _error(503, "AUTH_UNAVAILABLE", str(exc))
            await refusal(scope, receive, send)
            return
        except AuthError as exc:
            if limiter is not None and _presents_credentials(headers):
                await limiter.take(client_ip, 1)
            refusal = _error(401, "UNAUTHENTICATED", str(exc), {"WWW-Authenticate": "Bearer"})
            await refusal(scope, receive, send)
            return
        try:
            principal = with_acting_user(principal, headers, _rate_settings(scope))
        except ActingUserRefused as exc:
            await _error(exc.status, exc.code, str(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _open(self, scope: Scope) -> bool:
        """/healthz, the embed pages and static assets (no data), and in dev a plain GET of
        /graphql: the GraphiQL page (GET runs no operation)."""
        path = scope["path"]
        if path in ("/healthz", "/readyz") or is_open_embed_path(scope["method"], path):
            return True
        return (
            self.dev
            and scope["method"] == "GET"
            and path == "/graphql"
            and not scope.get("query_string")
        )


def _presents_credentials(headers: Headers) -> bool:
    """Whether the request offered a credential (a request without any, such as a probe,
    is refused but is not a failed login)."""
    return "authorization" in headers or "x-api-key" in headers


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_document(code, message), status_code=status, headers=headers)


def _rate_settings(scope: Scope) -> RateLimitSettings:
    settings = getattr(scope["app"].state, "settings", None)
    return getattr(settings, "rate_limit", None) or RateLimitSettings()


def _too_many_failed_logins(retry_after: float) -> Response:
    """429 for a client address that presented too many refused credentials of late, in
    GraphQL shape with the delay in ``extensions.retryAfter`` and ``Retry-After``."""
    message = "Too many failed authentication attempts from this address; try again later."
    return Response(
        refusal_body(retry_after, "TOO_MANY_FAILED_LOGINS", message),
        status_code=429,
        headers={"Retry-After": retry_after_header(retry_after)},
        media_type="application/json",
    )
