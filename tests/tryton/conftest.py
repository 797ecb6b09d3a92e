"""Fixtures for the Tryton tests: a real trytond over a private copy of the seeded
database, and a Keylink with Tryton as its ERP and timesheet system and the demo CRM."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings, demo_systems
from gateway.settings import Settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from sources.tryton import TrytonConfig, TrytonSource
from tests.support.servers import ServerThread
from tests.support.tryton import PASSWORD_ENV, SALES_DESK_MODULES, TrytonServer

RESILIENCE = {"failure_threshold": 2, "open_seconds": 0.5}
"""A breaker that opens soon and probes again soon: the restart test waits for it."""


@pytest.fixture(scope="session")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    """A running trytond (stopped after the session) over a fresh copy of the seed."""
    server = TrytonServer(tmp_path_factory.mktemp("tryton"))
    server.start()
    os.environ[PASSWORD_ENV] = server.password
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def crm_keys(live_upstreams: DemoUpstreams) -> dict[str, str]:
    """Tryton party code -> the demo CRM account it is linked to."""
    accounts = [
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and "crm" in link.keys
    ]
    parties = ["C-ACME", "C-BOLT", "C-CRANE", "C-DUNE", "C-EDGE"]
    return dict(zip(parties, accounts, strict=False))


@pytest.fixture(scope="session")
async def tryton_linkmap(
    tryton: TrytonServer, crm_keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A link map tying Tryton's parties to CRM accounts, and its projects and suppliers."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('tryton-links') / 'links.db'}"
    await upgrade_async(url)
    links: list[tuple[str, dict[str, list[str]]]] = [
        ("customer", {"tryton": [code], "crm": [crm]}) for code, crm in crm_keys.items()
    ]
    links += [("supplier", {"tryton": [code]}) for code in ("S-STEEL", "S-CHIP")]
    links += [("project", {"tryton": [str(p["id"])]}) for p in tryton.seed["projects"]]
    store = LinkStore.from_url(url)
    try:
        await store.bulk_import(links, actor="tests")
    finally:
        await store.close()
    return url


def tryton_settings(
    tryton: TrytonServer,
    live_upstreams: DemoUpstreams,
    linkmap_url: str,
    resilience: dict[str, Any] | None = None,
) -> Settings:
    """Settings of a Keylink over Tryton (kinds erp and timesheet) and the demo CRM, cache
    and rate limit off; ``resilience`` None keeps Keylink's defaults."""
    systems = {
        "crm": demo_systems(live_upstreams.urls)["crm"],
        "tryton": {
            "kind": ["erp", "timesheet"],
            "adapter": "tryton",
            "url": tryton.url,
            "database": tryton.database,
            "timeout": 10,
            "auth": {"username": "admin", "password_env": PASSWORD_ENV},
        },
    }
    extra: dict[str, Any] = {"systems": systems}
    if resilience is not None:
        extra["resilience"] = resilience
    return demo_settings(
        live_upstreams.urls,
        linkmap_url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra=extra,
    )


@pytest.fixture(scope="session")
def tryton_gateway_url(
    tryton: TrytonServer, live_upstreams: DemoUpstreams, tryton_linkmap: str
) -> Iterator[str]:
    """A Keylink over Tryton (kinds erp and timesheet) and the demo CRM, cache off."""
    settings = tryton_settings(tryton, live_upstreams, tryton_linkmap, RESILIENCE)
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def keylink(tryton_gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the Tryton-backed Keylink, as a sales user."""
    async with httpx.AsyncClient(
        base_url=tryton_gateway_url,
        timeout=30,
        headers={"X-Keylink-Roles": "sales,analyst,admin"},
    ) as client:
        yield client


def adapter_over(
    tryton: TrytonServer, ignore_modules: frozenset[str] = frozenset()
) -> TrytonSource:
    """Keylink's Tryton adapter over ``tryton``, leaving ``ignore_modules`` alone."""
    config = TrytonConfig(
        kind=["erp", "timesheet"],
        adapter="tryton",
        url=tryton.url,
        database=tryton.database,
        auth={"username": "admin", "password_env": PASSWORD_ENV},
        ignore_modules=ignore_modules,
    )
    return TrytonSource("tryton", config)


@pytest.fixture
async def adapter(tryton: TrytonServer) -> AsyncIterator[TrytonSource]:
    """Keylink's Tryton adapter on its own, for what Keylink's own checks would pre-empt."""
    source = adapter_over(tryton)
    yield source
    await source.aclose()


@pytest.fixture
async def base_adapter(tryton: TrytonServer) -> AsyncIterator[TrytonSource]:
    """The adapter over the same database as if Tryton had none of the sales desk's
    optional modules (``ignore_modules``): what a Tryton without them answers."""
    source = adapter_over(tryton, SALES_DESK_MODULES)
    yield source
    await source.aclose()
