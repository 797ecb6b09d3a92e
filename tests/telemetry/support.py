"""What the telemetry tests share: the upstream's own request log, and a transport that
records the headers every upstream request carried."""

from __future__ import annotations

from typing import Any

import httpx

from demo.runner import DemoUpstreams
from tests.support.gateways import fully_linked_crm_key

EXPLAIN_ROLES = {"x-keylink-principal": "ops", "x-keylink-roles": "analyst"}
"""Dev-mode headers of an analyst (who may ask for explain)."""


def upstream_log(stats: dict[str, httpx.Client]) -> dict[str, dict[str, int]]:
    """Per system, the requests each demo upstream counted per path since the last reset
    (its own ``/_stats``), then reset."""
    found: dict[str, dict[str, int]] = {}
    for system, client in stats.items():
        found[system] = {
            path: count for path, count in client.get("/_stats").json()["requests"].items() if count
        }
        client.post("/_stats/reset").raise_for_status()
    return found


def overview_variables(upstreams: DemoUpstreams, index: int = 3) -> dict[str, Any]:
    """Variables of one customer's overview (``demo.queries.CUSTOMER``), a customer linked
    in all three systems."""
    return {"system": "crm", "key": fully_linked_crm_key(upstreams, index)}


class RecordingTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, remembering the headers of every request it sends."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.headers: list[httpx.Headers] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Remember the request's headers, then send it."""
        self.headers.append(request.headers.copy())
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
