"""The aiohttp-backed transport under the httpx client API, with precise error mapping.

``httpx-aiohttp`` spends about a tenth of httpx's own CPU per upstream call. Its error
mapping, though, reports a refused connection and a connection dropped after the request
was sent both as ``httpx.ConnectTimeout``; for writes that difference decides whether an
edit may have been applied. This transport maps aiohttp's errors by their real cause:
only failures before anything was sent count as connect errors.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def _precise(error: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    cause = error.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(cause) or "connection refused", request=request)
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)
    if connect_timeout is not None and isinstance(cause, connect_timeout):
        return httpx.ConnectTimeout(str(cause) or "connect timeout", request=request)
    if isinstance(cause, (aiohttp.ServerTimeoutError, TimeoutError)):
        return httpx.ReadTimeout(str(cause) or "read timeout", request=request)
    if isinstance(cause, aiohttp.ClientConnectionError):
        return httpx.RemoteProtocolError(str(cause) or "connection lost", request=request)
    return error


class UpstreamTransport(AiohttpTransport):
    """aiohttp under httpx; connect errors only when the request was never sent."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; errors are mapped by their aiohttp cause."""
        try:
            return await super().handle_async_request(request)
        except httpx.TransportError as error:
            raise _precise(error, request) from error.__cause__


def upstream_transport(max_connections: int) -> UpstreamTransport:
    """A pooled transport for one upstream system: at most ``max_connections`` at once."""
    return UpstreamTransport(
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(max_connections, 20),
        ),
        trust_env=False,
    )
