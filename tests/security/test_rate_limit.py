"""S6: rate limits per principal, counted in GraphQL operations (root fields)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from gateway.ratelimit import MemoryRateLimiter, RedisRateLimiter, operation_cost
from tests.cache.test_read_cache import redis_reachable
from tests.support.servers import ServerThread


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_bucket_refills_over_a_minute() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(100, clock)
    for _ in range(100):
        assert (await limiter.take("ana", 1)).allowed
    refused = await limiter.take("ana", 1)
    assert not refused.allowed and refused.retry_after == pytest.approx(0.6)
    assert (await limiter.take("bob", 1)).allowed  # buckets are per principal
    assert not (await limiter.peek("ana")).allowed
    clock.now += 0.6
    assert (await limiter.peek("ana")).allowed
    assert (await limiter.peek("ana")).allowed  # peeking spends nothing
    assert (await limiter.take("ana", 1)).allowed


def test_cost_counts_root_fields_and_aliases() -> None:
    assert operation_cost('{ a: customer(system: "erp", key: "1") { id } }', None) == 1
    aliased = (
        "{ "
        + " ".join(f'a{i}: customer(system: "erp", key: "{i}") {{ id }}' for i in range(7))
        + " }"
    )
    assert operation_cost(aliased, None) == 7
    two_ops = 'query A { x: customer(system: "e", key: "1") { id } } query B { __typename }'
    assert operation_cost(two_ops, "A") == 1
    assert operation_cost("{ not valid", None) == 1


@pytest.mark.redis
async def test_redis_buckets_are_shared_between_processes() -> None:
    if not redis_reachable():
        import os

        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis unreachable and CI=true")
        pytest.skip("Redis on 127.0.0.1:6379 unreachable")
    principal = f"p-{uuid.uuid4().hex}"
    first = RedisRateLimiter("redis://127.0.0.1:6379/0", 10)
    second = RedisRateLimiter("redis://127.0.0.1:6379/0", 10)
    try:
        assert (await first.take(principal, 6)).allowed
        assert (await second.take(principal, 4)).allowed
        refused = await first.take(principal, 1)
        assert not refused.allowed and 0 < refused.retry_after <= 6.1
        peeked = await second.peek(principal)  # peeking spends nothing and sees the share
        assert not peeked.allowed and 0 < peeked.retry_after <= 6.1
        assert (await second.peek(f"p-{uuid.uuid4().hex}")).allowed
    finally:
        await first.aclose()
        await second.aclose()


@pytest.fixture
def limited_gateway(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    settings = demo_settings(
        live_upstreams.urls, demo_linkmap_url, cache_url="none", rate_limit={"per_minute": 5}
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


def test_sixth_operation_in_a_minute_is_refused_with_retry_after(limited_gateway: str) -> None:
    query = {"query": '{ customer(system: "erp", key: "nope") { id } }'}
    aliased = {
        "query": '{ a: __typename b: customer(system: "erp", key: "x") { id } '
        'c: customer(system: "erp", key: "y") { id } }'
    }
    with httpx.Client(base_url=limited_gateway, timeout=10) as client:
        headers = {"X-Keylink-Principal": "rate-test"}
        assert client.post("/graphql", json=aliased, headers=headers).status_code == 200  # 2
        for _ in range(3):
            assert client.post("/graphql", json=query, headers=headers).status_code == 200
        refused = client.post("/graphql", json=query, headers=headers)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        other = client.post("/graphql", json=query, headers={"X-Keylink-Principal": "other"})
        assert other.status_code == 200
