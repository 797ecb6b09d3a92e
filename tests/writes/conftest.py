"""A gateway for write tests: read cache on, ERP timeout 1 s, a fault-injecting transport in
front of the demo ERP, and the ERP's data reset before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_systems
from gateway.settings import load_settings
from tests.conftest import FAULT_TOLERANT
from tests.support.faults import FaultyTransport
from tests.support.servers import ServerThread


@dataclass
class EditRig:
    """Everything a write test needs."""

    gateway: httpx.AsyncClient
    erp: httpx.Client
    faults: FaultyTransport
    upstreams: DemoUpstreams

    def writes(self) -> list[dict[str, Any]]:
        """The demo ERP's log of applied writes."""
        response = self.erp.get("/_writes")
        response.raise_for_status()
        writes: list[dict[str, Any]] = response.json()["writes"]
        return writes

    def line(self, key: str) -> dict[str, Any] | None:
        """An order line as the ERP has it, read directly (not through Keylink)."""
        items = self.erp.get("/order-lines", params={"ids": key}).json()["items"]
        return items[0] if items else None

    def order(self, key: str) -> dict[str, Any]:
        """An order header as the ERP has it."""
        order: dict[str, Any] = self.erp.get("/orders", params={"ids": key}).json()["items"][0]
        return order

    def orders(self, **params: str) -> list[dict[str, Any]]:
        """Orders matching ``params``."""
        items: list[dict[str, Any]] = self.erp.get(
            "/orders", params={**params, "per_page": "500"}
        ).json()["items"]
        return items

    def lines_of(self, order: str) -> list[dict[str, Any]]:
        """The lines of an order, as the ERP has them."""
        items: list[dict[str, Any]] = self.erp.get("/order-lines", params={"order": order}).json()[
            "items"
        ]
        return items

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        """POST a GraphQL operation; returns the decoded body."""
        response = await self.gateway.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="session")
def edit_faults() -> FaultyTransport:
    return FaultyTransport()


@pytest.fixture(scope="session")
def edit_gateway_url(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, edit_faults: FaultyTransport
) -> Iterator[str]:
    systems = demo_systems(live_upstreams.urls)
    systems["erp"]["timeout"] = 1.0
    settings = load_settings(
        overrides={
            "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
            "cache": {"url": "memory://", "ttl": 60},
            "request_deadline": 5,
            "rate_limit": {"enabled": False},
            "resilience": FAULT_TOLERANT,
            "systems": systems,
        }
    )
    server = ServerThread(create_app(settings, transports={"erp": edit_faults}))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def rig(
    edit_gateway_url: str, live_upstreams: DemoUpstreams, edit_faults: FaultyTransport
) -> AsyncIterator[EditRig]:
    erp = httpx.Client(base_url=live_upstreams.urls["erp"], timeout=10)
    erp.post("/_reset-data").raise_for_status()
    erp.post("/_writes/reset").raise_for_status()
    live_upstreams.knobs["erp"].reset()
    edit_faults.clear()
    async with httpx.AsyncClient(base_url=edit_gateway_url, timeout=30) as gateway:
        yield EditRig(gateway, erp, edit_faults, live_upstreams)
    edit_faults.clear()
    live_upstreams.knobs["erp"].reset()
    erp.post("/_reset-data").raise_for_status()
    erp.close()
