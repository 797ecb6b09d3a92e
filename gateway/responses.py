"""GraphQL-shaped error answers sent from ASGI middleware, before strawberry runs."""

from __future__ import annotations

import orjson
from starlette.types import Send


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    """Answer ``{"errors": [{"message", "extensions": {"code"}}]}`` with HTTP ``status``."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
