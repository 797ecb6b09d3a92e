"""S5 through the real gateway in ``auth.mode: enforce``: API keys, roles, /healthz open."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from tests.support.gateways import demo_gateway
from tests.support.secret_scan import RecordKeeper, leaks

FORGED_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl"

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
    with demo_gateway(live_upstreams, demo_linkmap_url, extra={"auth": {"mode": "enforce"}}) as url:
        yield url


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
    # the GraphiQL page (dev only) opens without a key but runs nothing, whatever is sent
    assert httpx.get(f"{enforcing}/graphql", headers={"Accept": "text/html"}).status_code == 200
    sneaky = httpx.request(
        "GET", f"{enforcing}/graphql", json={"query": QUERY, "variables": {"k": key}}
    )
    assert "json" not in sneaky.headers.get("content-type", "") or "data" not in sneaky.json()
    assert httpx.get(f"{enforcing}/graphql", params={"query": "{ __typename }"}).status_code == 401
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


@pytest.fixture
def guarded(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """An enforcing gateway that allows three refused credentials per client IP a minute."""
    with demo_gateway(
        live_upstreams,
        demo_linkmap_url,
        rate_limit={"enabled": True, "per_minute": 1000, "failed_logins_per_minute": 3},
        extra={"auth": {"mode": "enforce"}},
    ) as url:
        yield url


def post_from(url: str, address: str, headers: dict[str, str]) -> httpx.Response:
    """POST a query from loopback ``address`` (127.0.0.x), so tests can be two clients."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.post(f"{url}/graphql", json={"query": "{ __typename }"}, headers=headers)


async def test_repeated_failed_logins_from_one_address_are_refused_for_a_while(
    guarded: str, keys: dict[str, str]
) -> None:
    wrong = {"X-API-Key": keys["sales"][:-2] + "xx"}
    good = {"X-API-Key": keys["sales"]}
    assert post_from(guarded, "127.0.0.1", good).status_code == 200  # successes never count
    for _ in range(3):
        assert post_from(guarded, "127.0.0.1", wrong).status_code == 401
    blocked = post_from(guarded, "127.0.0.1", good)
    assert blocked.status_code == 429
    assert blocked.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_FAILED_LOGINS"
    assert int(blocked.headers["Retry-After"]) >= 1
    # the block is per address: another client with the right key is served, and requests
    # without any credential (probes, say) are refused but never count as failed logins
    for _ in range(5):
        assert post_from(guarded, "127.0.0.2", {}).status_code == 401
    assert post_from(guarded, "127.0.0.2", good).status_code == 200
    assert post_from(guarded, "127.0.0.2", wrong).status_code == 401


async def test_refused_credentials_are_logged_without_the_credential(
    enforcing: str,
    keys: dict[str, str],
    live_upstreams: DemoUpstreams,
    log_records: RecordKeeper,
) -> None:
    start = len(log_records.since(0))
    key = crm_key(live_upstreams)
    attempts = [
        {"X-API-Key": keys["sales"][:-2] + "xx"},
        {"X-API-Key": keys["revoked"]},
        {"Authorization": f"Bearer {FORGED_JWT}"},
        {"Authorization": "Basic dXNlcjpodW50ZXIy"},
    ]
    for headers in attempts:
        response = httpx.post(
            f"{enforcing}/graphql",
            json={"query": QUERY, "variables": {"k": key}},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 401
    lines = log_records.since(start)
    refused = [line for line in lines if "authentication refused" in line]
    assert len(refused) == len(attempts), lines  # the records were kept...
    assert not leaks(lines)  # ...and hold no credential
    logging.getLogger("keylink.test").info("a key id is fine: %s", keys["sales"][:11])
    assert not leaks(log_records.since(start))
