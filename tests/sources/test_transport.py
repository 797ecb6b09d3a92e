"""The aiohttp-backed transport tells "never sent" from "sent, answer lost" (real sockets)."""

from __future__ import annotations

import socket

import httpx
import pytest

from demo.runner import DemoUpstreams
from sources.transport import upstream_transport


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_refused_connection_is_a_connect_error() -> None:
    async with httpx.AsyncClient(transport=upstream_transport(10), timeout=2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{closed_port()}/x")


async def test_connection_dropped_after_sending_is_not_a_connect_error(
    live_upstreams: DemoUpstreams,
) -> None:
    knobs = live_upstreams.knobs["crm"]
    knobs.update(fault="reset", paths=["/accounts"])
    try:
        async with httpx.AsyncClient(transport=upstream_transport(10), timeout=2) as client:
            with pytest.raises(httpx.TransportError) as caught:
                await client.get(f"{live_upstreams.urls['crm']}/accounts?ids=A-1001")
    finally:
        knobs.reset()
    assert isinstance(caught.value, httpx.RemoteProtocolError)


async def test_slow_answer_is_a_read_timeout(live_upstreams: DemoUpstreams) -> None:
    knobs = live_upstreams.knobs["crm"]
    knobs.update(latency_ms=1500)
    try:
        async with httpx.AsyncClient(transport=upstream_transport(10), timeout=0.3) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"{live_upstreams.urls['crm']}/accounts?ids=A-1001")
    finally:
        knobs.reset()
