"""The embed page's rig: its own demo upstreams (the tests edit ERP lines and stop the
timesheet system), a gateway in front of them with authentication enforced and an embed
secret in its environment, an API key the "CRM backend" mints tokens with, and Debian's
chromium driven by Playwright (never a downloaded browser).

Screenshots go to ``$KEYLINK_ARTIFACTS`` (default ``tests/embed/artifacts/``, git-ignored).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings, seed_demo_links
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from tests.support.npm import unavailable
from tests.support.secret_scan import remember
from tests.support.servers import ServerThread

CHROMIUM = "/usr/bin/chromium"
SECRET_ENV = "KEYLINK_TEST_EMBED_SECRET"
SECRET = "embed-test-secret-" + "x" * 40
FRAME_ANCESTORS = ["https://crm.example.test", "'self'"]


@dataclass(frozen=True)
class EmbedRig:
    """A running gateway and its upstreams, with keys that mint embed tokens."""

    url: str
    upstreams: DemoUpstreams
    sales_key: str
    viewer_key: str

    def mint(
        self,
        key: str,
        role: str = "sales",
        *,
        kind: str = "customer",
        system: str = "crm",
        ttl: int = 300,
        api_key: str | None = None,
    ) -> str:
        """A token minted through ``POST /embed/tokens`` as the CRM backend does."""
        response = httpx.post(
            f"{self.url}/embed/tokens",
            json={"kind": kind, "system": system, "key": key, "role": role, "ttlSeconds": ttl},
            headers={"X-API-Key": api_key or self.sales_key},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        remember(token)
        return token

    def graphql(self, token: str, query: str, variables: dict[str, Any]) -> httpx.Response:
        """``query`` sent to /graphql with ``token``, as the page sends it."""
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Embed {token}"},
            timeout=30,
        )

    def erp(self) -> httpx.Client:
        """A client for the demo ERP's own API."""
        return httpx.Client(base_url=self.upstreams.urls["erp"], timeout=10)


def customers_with_draft_orders(upstreams: DemoUpstreams) -> list[tuple[str, str]]:
    """(CRM key, ERP key) of customers linked in all three systems that have a draft order
    with lines, in link order."""
    dataset = upstreams.dataset
    drafts = {o.customer for o in dataset.orders.values() if o.status == "draft"}
    lined = {line.order for line in dataset.order_lines.values()}
    found = []
    for link in demo_links(dataset):
        keys = link.keys
        if link.kind != "customer" or not {"erp", "crm", "timesheet"} <= set(keys):
            continue
        erp_key = keys["erp"][0]
        if erp_key in drafts and any(
            o.number in lined
            for o in dataset.orders.values()
            if o.customer == erp_key and o.status == "draft"
        ):
            found.append((keys["crm"][0], erp_key))
    return found


async def _prepare(url: str, upstreams: DemoUpstreams) -> tuple[str, str]:
    await seed_demo_links(url, upstreams.dataset)
    engine = create_engine(url)
    try:
        store = ApiKeyStore(engine)
        _, sales = await store.create("crm-backend", {"sales"}, actor="test")
        _, viewer = await store.create("crm-viewer", {"viewer"}, actor="test")
    finally:
        await engine.dispose()
    return sales, viewer


@pytest.fixture(scope="session")
def embed_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbedRig]:
    """Demo upstreams and an ``auth.mode: enforce`` gateway (dev env, so GraphiQL is on)
    with the embed secret set in its environment."""
    upstreams = DemoUpstreams()
    upstreams.start()
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('embed') / 'keylink.db'}"
    with ThreadPoolExecutor(1) as pool:  # a thread of its own: pytest-asyncio's loop may run here
        sales, viewer = pool.submit(asyncio.run, _prepare(url, upstreams)).result()
    remember(sales)
    remember(viewer)
    settings = demo_settings(
        upstreams.urls,
        url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={
            "auth": {"mode": "enforce"},
            "resilience": {"failure_threshold": 1_000_000},
            "embed": {"secret_env": SECRET_ENV, "frame_ancestors": FRAME_ANCESTORS},
        },
    )
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = SECRET
    try:
        server = ServerThread(create_app(settings))
        server.start()
    finally:
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous
    try:
        yield EmbedRig(server.url, upstreams, sales, viewer)
    finally:
        server.stop()
        upstreams.stop()


@pytest.fixture
def rig(embed_rig: EmbedRig) -> Iterator[EmbedRig]:
    """The rig, its ERP data and every upstream's knobs restored after the test."""
    yield embed_rig
    for knobs in embed_rig.upstreams.knobs.values():
        knobs.reset()
    for name in ("erp", "crm", "timesheet"):
        embed_rig.upstreams.start(name)  # type: ignore[arg-type]
    embed_rig.upstreams.erp_writes.reset_data()


def artifacts() -> Path:
    """Where screenshots go (created)."""
    folder = Path(os.environ.get("KEYLINK_ARTIFACTS") or Path(__file__).parent / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's headless chromium under Playwright; skipped when chromium or Playwright is
    absent, failed instead under CI=true. Package-scoped: Playwright's sync API keeps an
    event loop running in this thread while it is open, so it is closed before the next
    package's tests (which run their own loops) start."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)", "tests/embed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed", "tests/embed")
        raise
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()
