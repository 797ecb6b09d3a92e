"""GraphQL-shaped error answers: sent from ASGI middleware before strawberry runs, or
returned as a response by a route. The body is built by the one error-body builder,
:func:`resolvers.error_codes.error_document`."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response
from starlette.types import Send

from resolvers.error_codes import error_document


def error_body(code: str, message: str) -> bytes:
    """``{"errors": [{"message", "extensions": {"code"}}]}`` (no ``data`` entry: nothing ran)."""
    return orjson.dumps(error_document(code, message))


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    media_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer ``{"errors": [{"message", "extensions": {"code"}}]}`` with HTTP ``status``."""
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def error_response(
    status: int,
    code: str,
    message: str,
    media_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The same answer as :func:`send_error`, as a Starlette response."""
    return Response(
        error_body(code, message), status_code=status, media_type=media_type, headers=headers
    )
