"""Session-wide fixtures: the demo upstreams and a gateway in front of them, over real HTTP.

The demo upstreams and the gateway each run under uvicorn on 127.0.0.1 in their own thread,
and tests talk to them over loopback HTTP. The gateway's link map is a SQLite file seeded
with the demo's links exactly as ``keylink demo`` does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings, seed_demo_links
from tests.support.postgres import find_postgres_server
from tests.support.secret_scan import UNPROPAGATED, RecordKeeper, leaks
from tests.support.servers import ServerThread

FAULT_TOLERANT = {"failure_threshold": 1_000_000}
"""Breakers that never open: fault-injection tests share gateways with ordinary ones
(the breaker itself is tested in tests/resilience)."""


@pytest.fixture(scope="session", autouse=True)
def log_records() -> Iterator[RecordKeeper]:
    """Every log record of the session, at INFO and above (see tests/support/secret_scan)."""
    keeper = RecordKeeper()
    root = logging.getLogger()
    level = root.level
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    loggers = [root, *map(logging.getLogger, UNPROPAGATED)]
    for logger in loggers:
        logger.addHandler(keeper)
    yield keeper
    for logger in loggers:
        logger.removeHandler(keeper)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_secret_in_logs(log_records: RecordKeeper) -> Iterator[None]:
    """Fails the test whose logs show an API key, token or password."""
    start = len(log_records.since(0))
    yield
    found = leaks(log_records.since(start))
    assert not found, "credentials logged:\n" + "\n".join(found)


@pytest.fixture(scope="session")
async def postgres_server() -> URL:
    """URL of a reachable PostgreSQL admin database, or skip (fail when CI=true)."""
    return await find_postgres_server()


@pytest.fixture(scope="session")
def live_upstreams() -> Iterator[DemoUpstreams]:
    """The three demo upstreams (today's data), running for the whole session."""
    with DemoUpstreams() as running:
        yield running


@pytest.fixture(scope="session")
async def demo_linkmap_url(
    live_upstreams: DemoUpstreams, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated SQLite link map seeded with the demo links."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('gateway') / 'keylink.db'}"
    await seed_demo_links(url, live_upstreams.dataset)
    return url


@pytest.fixture(scope="session")
def gateway_url(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """Base URL of a gateway serving the demo upstreams over real HTTP, cache off (so that
    fault tests see every upstream call; cache tests start their own gateway)."""
    settings = demo_settings(
        live_upstreams.urls,
        demo_linkmap_url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={"resilience": FAULT_TOLERANT},
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
async def gateway(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
def upstream_stats(live_upstreams: DemoUpstreams) -> Iterator[dict[str, httpx.Client]]:
    """Clients for each upstream's ``/_stats`` (reset before the test), knobs reset after."""
    clients = {
        name: httpx.Client(base_url=url, timeout=5) for name, url in live_upstreams.urls.items()
    }
    for client in clients.values():
        client.post("/_stats/reset").raise_for_status()
    yield clients
    for client in clients.values():
        client.close()
    for knobs in live_upstreams.knobs.values():
        knobs.reset()


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL operation and return the decoded JSON body."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def repo_root() -> Path:
    """The repository root."""
    return Path(__file__).resolve().parent.parent
