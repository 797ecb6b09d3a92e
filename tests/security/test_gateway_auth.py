"""S5 through the real gateway in ``auth.mode: enforce``: API keys, roles, /healthz open."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from tests.support.servers import ServerThread

QUERY = (
    'query($k: String!) { customer(system: "crm", key: $k) { account { name } invoices { key } } }'
)


@pytest.fixture(scope="module")
async def keys(demo_linkmap_url: str) -> dict[str, str]:
    engine = create_engine(demo_linkmap_url)
    store = ApiKeyStore(engine)
    try:
        _, sales = await store.create("crm-backend", ["sales"], actor="test")
        _, viewer = await store.create("intranet", ["viewer"], actor="test")
        revoked_record, revoked = await store.create("old", ["admin"], actor="test")
        await store.revoke(revoked_record.id, actor="test")
    finally:
        await engine.dispose()
    return {"sales": sales, "viewer": viewer, "revoked": revoked}


@pytest.fixture(scope="module")
def enforcing(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    settings = demo_settings(
        live_upstreams.urls,
        demo_linkmap_url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={"auth": {"mode": "enforce"}},
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


def crm_key(upstreams: DemoUpstreams) -> str:
    return next(
        link.keys["crm"][0]
        for link in demo_links(upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm"} <= set(link.keys)
    )


def post(url: str, key: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        json={"query": QUERY, "variables": {"k": key}},
        headers=headers,
        timeout=10,
    )


async def test_credentials_are_required_except_for_healthz(
    enforcing: str, keys: dict[str, str], live_upstreams: DemoUpstreams
) -> None:
    key = crm_key(live_upstreams)
    assert httpx.get(f"{enforcing}/healthz").status_code == 200
    assert httpx.get(f"{enforcing}/metrics").status_code == 401
    refused = post(enforcing, key, {})
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert post(enforcing, key, {"X-Keylink-Roles": "admin"}).status_code == 401  # no dev headers
    assert post(enforcing, key, {"X-API-Key": keys["revoked"]}).status_code == 401
    assert post(enforcing, key, {"X-API-Key": keys["sales"][:-2] + "xx"}).status_code == 401
    allowed = post(enforcing, key, {"X-API-Key": keys["sales"]})
    assert allowed.status_code == 200 and "errors" not in allowed.json()
    viewer = post(enforcing, key, {"Authorization": f"ApiKey {keys['viewer']}"}).json()
    assert viewer["data"]["customer"]["account"]["name"]
    assert viewer["data"]["customer"]["invoices"] is None
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
