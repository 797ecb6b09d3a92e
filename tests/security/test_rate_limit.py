"""S6: rate limits per principal, counted in GraphQL operations (root fields)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from gateway.export.endpoint import export_router
from gateway.http.ratelimit import MemoryRateLimiter, RedisRateLimiter, operation_cost
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from tests.cache.test_read_cache import redis_reachable
from tests.export.connection_app import ITEMS
from tests.export.connection_app import build_schema as build_items_schema
from tests.support.gateways import demo_gateway
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


def test_root_fields_inside_inline_fragments_and_fragment_spreads_count() -> None:
    inline = (
        '{ ... on Query { a: customer(system: "erp", key: "1") { id } '
        'b: customer(system: "erp", key: "2") { id } } '
        '... { c: customer(system: "erp", key: "3") { id } } }'
    )
    assert operation_cost(inline, None) == 3
    spread = (
        "query Q { ...Two ...Two x: __typename } "
        'fragment Two on Query { a: customer(system: "erp", key: "1") { id } '
        'b: customer(system: "erp", key: "2") { id } ...Nested } '
        'fragment Nested on Query { c: customer(system: "erp", key: "3") { id } ...Two }'
    )
    assert operation_cost(spread, "Q") == 3  # each response key once; the cycle ends
    same_field_twice = (
        '{ customer(system: "erp", key: "1") { id } '
        '... { customer(system: "erp", key: "1") { name } } }'
    )
    assert operation_cost(same_field_twice, None) == 1  # merged: resolved once


def test_a_request_pays_for_root_fields_hidden_in_fragments(limited_gateway: str) -> None:
    hidden = {
        "query": "{ ... on Query { "
        + " ".join(f'f{i}: customer(system: "erp", key: "h{i}") {{ id }}' for i in range(3))
        + " } }"
    }
    headers = {"X-Keylink-Principal": "fragment-test"}
    with httpx.Client(base_url=limited_gateway, timeout=10) as client:
        assert client.post("/graphql", json=hidden, headers=headers).status_code == 200
        refused = client.post("/graphql", json=hidden, headers=headers)  # 3 + 3 > 5
    assert refused.status_code == 429


def aliased_lookups(request: int, count: int = 20) -> dict[str, str]:
    """A query of ``count`` root fields (customers nobody linked: no upstream call)."""
    fields = " ".join(
        f'c{i}: customer(system: "erp", key: "none-{request}-{i}") {{ id }}' for i in range(count)
    )
    return {"query": "{ " + fields + " }"}


def test_one_integration_key_serving_a_sales_team_gets_about_1200_operations_a_minute(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    # the defaults, not a test setting: 1,000 operations at once (a burst) are served
    with (
        demo_gateway(live_upstreams, demo_linkmap_url, rate_limit={"enabled": True}) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        headers = {"X-Keylink-Principal": "crm-integration"}
        statuses = [
            client.post("/graphql", json=aliased_lookups(n), headers=headers).status_code
            for n in range(50)
        ]
    assert statuses == [200] * 50


@pytest.fixture(scope="module")
async def crm_keys(demo_linkmap_url: str) -> dict[str, Any]:
    engine = create_engine(demo_linkmap_url)
    store = ApiKeyStore(engine)
    try:
        delegating, delegating_key = await store.create("crm-acting", ["analyst"], actor="test")
        _, other_key = await store.create("script", ["analyst"], actor="test")
    finally:
        await engine.dispose()
    return {"id": delegating.id, "crm": delegating_key, "other": other_key}


def test_each_acting_user_has_their_own_limit_under_the_crm_key(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, crm_keys: dict[str, Any]
) -> None:
    query = {"query": '{ customer(system: "erp", key: "nope") { id } }'}
    with (
        demo_gateway(
            live_upstreams,
            demo_linkmap_url,
            rate_limit={
                "enabled": True,
                "per_user_per_minute": 3,
                "acting_user_keys": [crm_keys["id"]],
            },
            extra={"auth": {"mode": "enforce"}},
        ) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):

        def ask(user: str | None, key: str = crm_keys["crm"]) -> httpx.Response:
            headers = {"X-API-Key": key}
            if user is not None:
                headers["X-Keylink-Acting-User"] = user
            return client.post("/graphql", json=query, headers=headers)

        assert [ask("ana").status_code for _ in range(3)] == [200] * 3
        refused = ask("ana")
        assert refused.status_code == 429
        extensions = refused.json()["errors"][0]["extensions"]
        assert (extensions["code"], extensions["limit"]) == ("RATE_LIMITED", "user")
        assert ask("bob").status_code == 200  # a colleague is not held back
        assert ask(None).status_code == 200  # nor the key itself
        # only a key listed in rate_limit.acting_user_keys may name an acting user
        forbidden = ask("ana", crm_keys["other"])
        assert forbidden.status_code == 403
        assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


ITEMS_BY_50 = ITEMS.replace("query Items($first: Int!,", "query Items($first: Int = 50,")


def export_items(url: str, headers: dict[str, str]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        f"{url}/items/export?format=jsonl",
        json={"query": ITEMS_BY_50},
        headers=headers,
        timeout=30,
    )
    return response, time.monotonic() - started


@pytest.fixture
def items_gateway(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """The gateway with its default rate limits, plus ``/items/export`` over a
    10,000-row connection (the same export router, a test-owned schema)."""
    settings = demo_settings(
        live_upstreams.urls, demo_linkmap_url, cache_url="none", rate_limit={"enabled": True}
    )
    app = create_app(settings)
    app.include_router(export_router(build_items_schema(10_000), 30), prefix="/items")
    server = ServerThread(app)
    server.start()
    yield server.url
    server.stop()


def test_a_10k_row_export_is_not_stalled_by_the_per_minute_limit(items_gateway: str) -> None:
    # 200 pages of 50 rows: charged by its 10,000 rows (about 100 operations), not per page
    headers = {"X-Keylink-Principal": "crm-integration", "X-Keylink-Roles": "analyst"}
    response, seconds = export_items(items_gateway, headers)
    assert response.status_code == 200, response.text
    assert len(response.text.splitlines()) == 10_000
    assert seconds < 15


def test_a_10k_row_export_fits_one_acting_users_minute(items_gateway: str) -> None:
    headers = {
        "X-Keylink-Principal": "crm-integration",
        "X-Keylink-Roles": "analyst",
        "X-Keylink-Acting-User": "ana",
    }
    response, seconds = export_items(items_gateway, headers)
    assert response.status_code == 200, response.text
    assert len(response.text.splitlines()) == 10_000
    assert seconds < 15


def test_a_rate_limited_request_answers_in_graphql_shape_with_its_retry_delay(
    limited_gateway: str,
) -> None:
    query = {"query": '{ customer(system: "erp", key: "nope") { id } }'}
    headers = {"X-Keylink-Principal": "shape-test"}
    with httpx.Client(base_url=limited_gateway, timeout=10) as client:
        for _ in range(5):
            client.post("/graphql", json=query, headers=headers)
        refused = client.post("/graphql", json=query, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/json")
    body = refused.json()
    assert set(body) == {"errors"}  # a request error: no data entry
    [error] = body["errors"]
    assert error["message"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(refused.headers["Retry-After"]) >= 1


def test_a_rate_limited_replay_from_the_response_cache_answers_in_graphql_shape(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    query = {"query": '{ customer(system: "erp", key: "nope") { id } }'}
    with (
        demo_gateway(
            live_upstreams,
            demo_linkmap_url,
            cache_url="memory://",
            rate_limit={"enabled": True, "per_minute": 2},
        ) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        headers = {"X-Keylink-Principal": "replay-test"}
        answers = [client.post("/graphql", json=query, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["x-keylink-cache"] == "hit"
    [error] = answers[2].json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(answers[2].headers["Retry-After"])


@pytest.fixture(scope="module")
def router(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[tuple[Any, str, str]]:
    """Apollo Gateway (the JavaScript router) over a supergraph of a gateway allowing two
    operations a minute: the composer, the supergraph SDL and the gateway's URL."""
    from tests.conftest import repo_root
    from tests.federation.composition import install_composer

    composer = install_composer(repo_root() / ".cache" / "federation")
    with demo_gateway(
        live_upstreams,
        demo_linkmap_url,
        rate_limit={"enabled": True, "per_minute": 2, "failed_logins_per_minute": 1},
    ) as url:
        sdl = httpx.post(
            f"{url}/graphql",
            json={"query": "{ _service { sdl } }"},
            headers={"X-Keylink-Principal": "composition"},
            timeout=30,
        ).json()["data"]["_service"]["sdl"]
        composed = composer.compose({"keylink": sdl}, urls={"keylink": f"{url}/graphql"})
        assert composed.errors == [] and composed.supergraph_sdl is not None
        yield composer, composed.supergraph_sdl, url


def test_through_a_federation_router_a_rate_limited_request_keeps_its_code_and_delay(
    router: tuple[Any, str, str],
) -> None:
    composer, supergraph, _ = router
    operation = {"query": '{ customer(system: "erp", key: "nope") { id } }', "variables": {}}
    results = composer.execute(
        supergraph, [operation] * 3, {"X-Keylink-Principal": "router", "X-Keylink-Roles": "sales"}
    )
    assert [r["errors"] for r in results[:2]] == [[], []]
    [error] = results[2]["errors"]
    # Apollo Gateway keeps a non-2xx subgraph answer under extensions.response (Apollo
    # Router and Cosmo pass its errors on as they are): either way it is Keylink's own
    # GraphQL error, not "Unexpected error."
    passed_on = error["extensions"]["response"]
    assert passed_on["status"] == 429
    [keylink_error] = passed_on["body"]["errors"]
    assert keylink_error["extensions"]["code"] == "RATE_LIMITED"
    assert keylink_error["extensions"]["retryAfter"] >= 1


@pytest.mark.parametrize("page_size", [10, 50, 100])
async def test_an_export_is_charged_by_its_rows_not_its_pages(page_size: int) -> None:
    from gateway.auth.principal import Principal
    from gateway.http.ratelimit import ExportMeter, RateLimits, RateLimitSettings

    clock = Clock()
    limits = RateLimits(
        RateLimitSettings(), MemoryRateLimiter(1200, clock), MemoryRateLimiter(120, clock)
    )
    meter = ExportMeter(limits, Principal("crm", frozenset({"analyst"})), max_wait=60)
    rows = 0
    meter.rows_done = lambda: rows
    for _ in range(10_000 // page_size):
        assert (await meter.before_page()).allowed
        rows += page_size
    assert 99 <= meter.charged <= 100  # one operation per 100 rows, whatever the page size
