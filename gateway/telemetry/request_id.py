"""The request id and the per-request telemetry state, as the outermost ASGI layer.

Every HTTP request gets an id: the caller's ``X-Request-Id`` when it is sane (1 to 64 of
``A-Z a-z 0-9 . _ : -``), else a new random one. The id is the ``X-Request-Id`` header of
the response (every response, refusals included), the ``request_id`` of every log line
written while the request runs, and ``extensions.requestId`` of every GraphQL error
(``gateway.telemetry.extension``). The same layer makes the request's
:class:`~gateway.telemetry.state.RequestState` current for everything below it.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.telemetry.state import AppTelemetry, RequestState, enter, leave

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")


def request_id_of(value: bytes | None) -> str:
    """The id of a request whose ``X-Request-Id`` is ``value``: that value when sane,
    else a new random one (32 hex digits)."""
    if value is not None and _SANE.fullmatch(value):
        return value.decode("ascii")
    return uuid.uuid4().hex


class RequestTelemetry:
    """ASGI middleware: the request id and state of every HTTP request (see module)."""

    def __init__(self, app: ASGIApp, *, telemetry: AppTelemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its state current and its id in the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", ()):
            if name == HEADER:
                given = value
                break
        request_id = request_id_of(given)
        encoded = request_id.encode("ascii")
        scope.setdefault("state", {})["request_id"] = request_id

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k != HEADER]
                message = {**message, "headers": [*headers, (HEADER, encoded)]}
            await send(message)

        token = enter(RequestState(request_id, self.telemetry))
        try:
            await self.app(scope, receive, sending)
        finally:
            leave(token)
