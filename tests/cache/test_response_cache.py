"""The whole-response cache: replays complete answers per principal and roles, never across
a write, never an answer with errors; counted by the rate limit; shared through Redis."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_systems
from gateway.http.response_cache import (
    CachedResponse,
    MemoryResponseStore,
    RedisResponseStore,
    response_ttl,
)
from gateway.settings import CacheSettings, load_settings
from tests.cache.test_read_cache import redis_reachable
from tests.e2e.queries import CUSTOMER
from tests.support.gateways import fully_linked_crm_key
from tests.support.servers import ServerThread

SALES = {"X-Keylink-Principal": "ana", "X-Keylink-Roles": "sales"}
VIEWER = {"X-Keylink-Principal": "ana", "X-Keylink-Roles": "viewer"}


def start_gateway(
    upstreams: DemoUpstreams, linkmap_url: str, rate_limit: dict[str, Any]
) -> ServerThread:
    settings = load_settings(
        overrides={
            "linkmap": {"url": linkmap_url, "migrate_on_start": False},
            "cache": {"url": "memory://"},
            "rate_limit": rate_limit,
            "resilience": {"failure_threshold": 1_000_000},
            "systems": demo_systems(upstreams.urls),
        }
    )
    server = ServerThread(create_app(settings))
    server.start()
    return server


@pytest.fixture(scope="module")
def cached_gateway(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    server = start_gateway(live_upstreams, demo_linkmap_url, {"enabled": False})
    yield server.url
    server.stop()


@pytest.fixture
def crm_key(live_upstreams: DemoUpstreams) -> str:
    return fully_linked_crm_key(live_upstreams)


def ask(url: str, variables: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        json={"query": CUSTOMER, "variables": variables},
        headers=headers,
        timeout=30,
    )


def upstream_total(stats: dict[str, httpx.Client]) -> int:
    return sum(client.get("/_stats").json()["total"] for client in stats.values())


def test_a_repeated_query_is_replayed_without_upstream_calls(
    cached_gateway: str, crm_key: str, upstream_stats: dict[str, httpx.Client]
) -> None:
    variables = {"system": "crm", "key": crm_key}
    first = ask(cached_gateway, variables, {**SALES, "Cache-Control": "no-cache"})
    assert first.headers["x-keylink-cache"] == "miss" and "errors" not in first.json()
    for client in upstream_stats.values():
        client.post("/_stats/reset").raise_for_status()
    again = ask(cached_gateway, variables, SALES)
    assert again.headers["x-keylink-cache"] == "hit"
    assert again.content == first.content
    assert upstream_total(upstream_stats) == 0
    # another principal's roles never see that answer: a viewer gets FORBIDDEN fields
    viewer = ask(cached_gateway, variables, VIEWER)
    assert viewer.headers["x-keylink-cache"] == "miss"
    assert "FORBIDDEN" in viewer.text


def test_answers_with_errors_are_not_kept(
    cached_gateway: str,
    crm_key: str,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    # a customer this gateway has not read yet, so its read cache holds nothing
    unread = fully_linked_crm_key(live_upstreams, 7)
    assert unread != crm_key
    variables = {"system": "crm", "key": unread}
    headers = {"X-Keylink-Principal": f"p-{uuid.uuid4().hex}", "X-Keylink-Roles": "sales"}
    live_upstreams.knobs["timesheet"].update(fault="503")
    broken = ask(cached_gateway, variables, headers)
    assert broken.json().get("errors")
    live_upstreams.knobs["timesheet"].reset()
    healed = ask(cached_gateway, variables, headers)
    assert healed.headers["x-keylink-cache"] == "miss"
    assert "errors" not in healed.json()


def test_a_mutation_ends_every_cached_answer_before_it_returns(
    cached_gateway: str, crm_key: str
) -> None:
    variables = {"system": "crm", "key": crm_key}
    ask(cached_gateway, variables, SALES)
    assert ask(cached_gateway, variables, SALES).headers["x-keylink-cache"] == "hit"
    # any mutation (here one refused for bad input) starts a new generation
    mutation = (
        'mutation { removeOrderLine(input: {order: {system: "erp", key: "nope"}, '
        'line: "1", version: 1}) { __typename } }'
    )
    httpx.post(
        f"{cached_gateway}/graphql",
        json={"query": mutation},
        headers={**SALES, "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert ask(cached_gateway, variables, SALES).headers["x-keylink-cache"] == "miss"


def test_replayed_answers_count_against_the_rate_limit(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, crm_key: str
) -> None:
    server = start_gateway(live_upstreams, demo_linkmap_url, {"enabled": True, "per_minute": 3})
    try:
        variables = {"system": "crm", "key": crm_key}
        statuses = [ask(server.url, variables, SALES) for _ in range(4)]
    finally:
        server.stop()
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[2].headers["x-keylink-cache"] == "hit"
    assert int(statuses[3].headers["retry-after"]) >= 1


def test_ttl_is_the_shortest_freshness_configured() -> None:
    from sources.config import SystemConfigBase

    class Config(SystemConfigBase):
        pass

    systems = {
        "erp": Config(kind="erp", adapter="x", operation_ttl={"invoices": 7}),
        "crm": Config(kind="crm", adapter="x", ttl=60),
    }
    assert response_ttl(CacheSettings(), systems) == 7
    assert response_ttl(CacheSettings(response_ttl=2), systems) == 2
    assert response_ttl(CacheSettings(url="none"), systems) == 0
    uncached = {"erp": Config(kind="erp", adapter="x", ttl=0)}
    assert response_ttl(CacheSettings(), uncached) == 0


async def test_memory_store_expires_and_stays_within_its_budget() -> None:
    now = [0.0]
    store = MemoryResponseStore(max_bytes=1600, clock=lambda: now[0])
    for i in range(20):
        await store.put(f"k{i}", 0, CachedResponse(b"application/json", b"x" * 100), ttl=10)
    assert await store.get("k0") is None  # the oldest went to stay within 1600 bytes
    assert await store.get("k19") == CachedResponse(b"application/json", b"x" * 100)
    now[0] = 11.0
    assert await store.get("k19") is None  # expired


@pytest.mark.redis
async def test_redis_store_is_shared_and_a_bump_reaches_every_replica() -> None:
    if not redis_reachable():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis unreachable and CI=true")
        pytest.skip("Redis on 127.0.0.1:6379 unreachable")
    prefix = f"keylink-test:{uuid.uuid4().hex}:"
    first = RedisResponseStore("redis://127.0.0.1:6379/0", prefix=prefix)
    second = RedisResponseStore("redis://127.0.0.1:6379/0", prefix=prefix)
    try:
        response = CachedResponse(b"application/json", b'{"data":{"a":1}}\n2nd line')
        await first.put("q", await first.generation(), response, ttl=30)
        assert await second.get("q") == response
        await second.bump()
        assert await first.get("q") is None
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/json; charset=utf-16"])
def test_a_request_that_is_no_well_formed_graphql_post_is_never_answered_from_the_cache(
    cached_gateway: str, crm_key: str, content_type: str | None
) -> None:
    variables = {"system": "crm", "key": crm_key}
    ask(cached_gateway, variables, SALES)
    assert ask(cached_gateway, variables, SALES).headers["x-keylink-cache"] == "hit"
    headers = {**SALES, **({"content-type": content_type} if content_type else {})}
    response = httpx.post(
        f"{cached_gateway}/graphql",
        content=json.dumps({"query": CUSTOMER, "variables": variables}).encode(),
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 415, response.text
    assert "x-keylink-cache" not in response.headers


def test_get_queries_are_cached_and_replayed_only_in_the_media_type_asked_for(
    cached_gateway: str, crm_key: str
) -> None:
    principal = {"X-Keylink-Principal": f"p-{uuid.uuid4().hex}", "X-Keylink-Roles": "sales"}
    params = {"query": CUSTOMER, "variables": json.dumps({"system": "crm", "key": crm_key})}

    def get(accept: str) -> httpx.Response:
        headers = {**principal, "accept": accept}
        return httpx.get(f"{cached_gateway}/graphql", params=params, headers=headers, timeout=30)

    first = get("application/json")
    assert first.status_code == 200 and "errors" not in first.json(), first.text
    assert first.headers["x-keylink-cache"] == "miss"
    again = get("application/json")
    assert again.headers["x-keylink-cache"] == "hit" and again.content == first.content
    other = get("application/graphql-response+json")
    assert other.headers["x-keylink-cache"] == "miss"
    assert other.headers["content-type"] == "application/graphql-response+json"
    replayed = get("application/graphql-response+json")
    assert replayed.headers["x-keylink-cache"] == "hit"
    assert replayed.headers["content-type"] == "application/graphql-response+json"
    assert get("application/json").headers["content-type"] == "application/json"


def test_variables_nested_deeper_than_a_cache_key_holds_are_answered_uncached(
    cached_gateway: str,
) -> None:
    # orjson encodes at most 254 levels; such a request is answered, just not cached
    variables = '{"v": ' + "[" * 300 + "]" * 300 + "}"
    body = '{"query": "{ __typename }", "variables": ' + variables + "}"
    for _ in range(2):
        response = httpx.post(
            f"{cached_gateway}/graphql",
            content=body.encode(),
            headers={**SALES, "content-type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"__typename": "Query"}
        assert "x-keylink-cache" not in response.headers


def test_an_explain_answer_is_never_replayed_nor_kept(
    cached_gateway: str, crm_key: str, upstream_stats: dict[str, httpx.Client]
) -> None:
    """Explain tells how this very answer was made: with the response cache on, asking
    for it runs the query, and the answer is not stored for the next caller."""
    variables = {"system": "crm", "key": crm_key}
    analyst = {"X-Keylink-Principal": "eva", "X-Keylink-Roles": "analyst"}
    plain = ask(cached_gateway, variables, analyst)  # now cached for eva
    assert "explain" not in plain.json().get("extensions", {})
    explained = ask(cached_gateway, variables, {**analyst, "X-Keylink-Explain": "true"})
    assert "calls" in explained.json()["extensions"]["explain"]  # not the cached answer
    again = ask(cached_gateway, variables, analyst)
    assert "explain" not in again.json().get("extensions", {})  # the explain answer not kept
    assert again.json()["data"] == plain.json()["data"]
