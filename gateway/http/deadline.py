"""The whole-request deadline (R1): no GraphQL request runs longer than
``request_deadline`` seconds (30 by default); past it the client gets a
``DEADLINE_EXCEEDED`` error instead of waiting on."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.responses import send_error

log = logging.getLogger("keylink.deadline")


class RequestDeadline:
    """ASGI middleware cancelling a request's work after ``seconds``."""

    def __init__(self, app: ASGIApp, seconds: float, path: str = "/graphql") -> None:
        self.app = app
        self.seconds = seconds
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; answer 504 if it is not done in time (and nothing was sent)."""
        if scope["type"] != "http" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            log.warning("request exceeded its %.1f s deadline", self.seconds)
            if started:
                return
            await send_error(
                send,
                504,
                "DEADLINE_EXCEEDED",
                f"The request exceeded its {self.seconds:g} s deadline.",
            )
