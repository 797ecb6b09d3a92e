"""Upstream quotas respected: an upstream's 429/503 with ``Retry-After`` throttles the
system until then (no retry storm, stale or SOURCE_UNAVAILABLE meanwhile), and a configured
request quota (a token bucket, shared through Redis where configured) is never exceeded.

Calls are counted at the upstream: the demo ERP on loopback HTTP (``demo.knobs`` counters).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_systems
from gateway.quotas import build_quota
from gateway.settings import load_settings
from sources.config import QuotaConfig
from sources.errors import SourceUnavailable, retry_after_seconds
from sources.resilience.guards import Bulkhead, CircuitBreaker, Quota, RetryBudget, Throttle
from sources.resilience.source import ResilientSource
from sources.rest import RestConfig, RestSource
from tests.conftest import graphql
from tests.e2e.queries import CUSTOMER
from tests.resilience.fakes import FakeClock, FakeSleep, ScriptedSource
from tests.support.servers import ServerThread

SPECS = Path(__file__).resolve().parents[2] / "demo" / "specs"


def guarded(inner: Any, *, quota: Quota | None = None) -> ResilientSource:
    return ResilientSource(
        inner,
        breaker=CircuitBreaker(inner.name, failure_threshold=1_000_000),
        bulkhead=Bulkhead(100, max_waiting=1_000, wait_seconds=10),
        budget=RetryBudget(),
        quota=quota,
    )


def demo_erp(upstreams: DemoUpstreams) -> RestSource:
    config = RestConfig(
        kind="erp", adapter="rest", url=upstreams.urls["erp"], spec=SPECS / "erp.yaml"
    )
    return RestSource("erp", config)


@pytest.fixture
def erp_knobs(live_upstreams: DemoUpstreams) -> Iterator[Any]:
    knobs = live_upstreams.knobs["erp"]
    knobs.reset()
    yield knobs
    knobs.reset()


# -- units ------------------------------------------------------------------------------


def test_retry_after_header_values() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 0.5 ") == 0.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_throttle_holds_the_longest_and_is_capped() -> None:
    clock = FakeClock()
    throttle = Throttle(max_seconds=60, clock=clock)
    assert throttle.remaining() == 0.0
    throttle.hold(5)
    throttle.hold(1)  # a shorter hold never shortens it
    assert throttle.remaining() == 5.0
    clock.advance(5)
    assert throttle.remaining() == 0.0
    throttle.hold(86_400)
    assert throttle.remaining() == 60.0


async def test_an_answer_with_retry_after_throttles_and_is_not_retried() -> None:
    refusal = SourceUnavailable("erp", "503", retryable=True, retry_after=2.0)
    inner = ScriptedSource(script=[refusal, {}])
    source = ResilientSource(
        inner,
        breaker=CircuitBreaker("erp"),
        bulkhead=Bulkhead(10),
        budget=RetryBudget(),
        sleep=FakeSleep(),
    )
    with pytest.raises(SourceUnavailable) as first:
        await source.customers(["C1"])
    assert first.value is refusal
    assert len(inner.calls) == 1  # a 503 with Retry-After is not retried at once
    with pytest.raises(SourceUnavailable) as second:
        await source.customers(["C1"])
    assert len(inner.calls) == 1  # throttled: no call
    assert second.value.retry_after is not None and 1.5 < second.value.retry_after <= 2.0
    assert "retry in 2 s" in second.value.message


async def test_answers_with_retry_after_do_not_open_the_breaker() -> None:
    clock = FakeClock()
    refusal = SourceUnavailable("erp", "429", retry_after=1.0)
    inner = ScriptedSource(script=[refusal])
    source = ResilientSource(
        inner,
        breaker=CircuitBreaker("erp", failure_threshold=2),
        bulkhead=Bulkhead(10),
        budget=RetryBudget(),
        throttle=Throttle(clock=clock),
        sleep=FakeSleep(),
    )
    for _ in range(5):
        clock.advance(1.0)  # each time, the throttle has just run out
        with pytest.raises(SourceUnavailable):
            await source.customers(["C1"])
    assert len(inner.calls) == 5
    assert source.breaker.state == "closed"  # the throttle, not the breaker, holds it off


def test_quota_config() -> None:
    assert QuotaConfig(per_second=5).capacity == 5
    assert QuotaConfig(per_second=0.5).capacity == 1
    assert QuotaConfig(per_second=5, burst=2).capacity == 2
    with pytest.raises(ValueError):
        QuotaConfig(per_second=0)


# -- over loopback HTTP, counted at the upstream ----------------------------------------


async def test_429_with_retry_after_gets_no_call_until_then(
    live_upstreams: DemoUpstreams, erp_knobs: Any
) -> None:
    source = guarded(demo_erp(live_upstreams))
    try:
        erp_knobs.update(fault="429", retry_after=2)
        started = time.monotonic()
        with pytest.raises(SourceUnavailable) as first:
            await source.customers(["10001"])
        assert first.value.retry_after == 2.0
        assert erp_keys_called(erp_knobs) == 1
        erp_knobs.update(fault=None)  # healthy again, but it asked for 2 s of quiet
        refusals = []
        while time.monotonic() - started < 1.9:
            t0 = time.monotonic()
            with pytest.raises(SourceUnavailable) as refused:
                await source.customers(["10001"])
            assert time.monotonic() - t0 < 0.05  # answered at once, no waiting
            refusals.append(refused.value)
            await asyncio.sleep(0.05)
        assert erp_keys_called(erp_knobs) == 1
        assert len(refusals) > 10
        assert all(r.retry_after is not None and r.retry_after > 0 for r in refusals)
        await asyncio.sleep(max(0.0, started + 2.05 - time.monotonic()))
        assert await source.customers(["10001"]) is not None
        assert erp_keys_called(erp_knobs) == 2
    finally:
        await source.aclose()


def erp_keys_called(knobs: Any) -> int:
    return int(knobs.stats().total)


@pytest.fixture
def crm_key(live_upstreams: DemoUpstreams) -> str:
    return next(
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
    )


async def test_gateway_keeps_answering_while_throttled(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, erp_knobs: Any, crm_key: str
) -> None:
    settings = load_settings(
        overrides={
            "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
            "cache": {"url": "memory://", "ttl": 1, "master_data_ttl": 1, "max_stale": 60},
            "rate_limit": {"enabled": False},
            "systems": demo_systems(live_upstreams.urls),
        }
    )
    server = ServerThread(create_app(settings))
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            variables = {"system": "crm", "key": crm_key}
            fresh = await graphql(client, CUSTOMER, variables)
            assert "errors" not in fresh
            await asyncio.sleep(1.1)  # past the 1 s freshness
            erp_knobs.update(fault="429", retry_after=2)
            erp_knobs.reset_stats()
            started = time.monotonic()
            answers = [await graphql(client, CUSTOMER, variables)]
            after_first = erp_keys_called(erp_knobs)
            assert after_first >= 1
            erp_knobs.update(fault=None)
            while time.monotonic() - started < 1.8:
                answers.append(await graphql(client, CUSTOMER, variables))
                await asyncio.sleep(0.1)
            assert erp_keys_called(erp_knobs) == after_first  # nothing while throttled
            for answer in answers:
                assert "errors" not in answer, answer.get("errors")
                assert answer["data"] == fresh["data"]
                assert answer["extensions"]["sources"]["erp"]["state"] == "stale"
            # a customer never read before: nothing stale to show, so SOURCE_UNAVAILABLE
            # with the retry time in its message
            other = [
                link.keys["crm"][0]
                for link in demo_links(live_upstreams.dataset)
                if link.kind == "customer" and {"erp", "crm"} <= set(link.keys)
            ][5]
            fresh_miss = await graphql(client, CUSTOMER, {"system": "crm", "key": other})
            erp_errors = [e for e in fresh_miss["errors"] if e["extensions"].get("system") == "erp"]
            assert erp_errors and all(
                e["extensions"]["code"] == "SOURCE_UNAVAILABLE" and "retry in" in e["message"]
                for e in erp_errors
            )
            # and as data a client can act on
            assert all(0 < e["extensions"]["retryAfter"] <= 2 for e in erp_errors), erp_errors
            assert erp_keys_called(erp_knobs) == after_first
            await asyncio.sleep(max(0.0, started + 2.1 - time.monotonic()))
            recovered = await graphql(client, CUSTOMER, {"system": "crm", "key": other})
            assert "errors" not in recovered, recovered.get("errors")
            assert erp_keys_called(erp_knobs) > after_first
    finally:
        server.stop()


async def hammer(
    sources: list[ResilientSource], clients: int, seconds: float, knobs: Any
) -> tuple[list[tuple[float, int]], int, list[SourceUnavailable]]:
    """``clients`` concurrent callers (spread over ``sources``) for ``seconds``; returns
    the upstream's count sampled over time, the calls answered and the refusals."""
    samples: list[tuple[float, int]] = []
    refusals: list[SourceUnavailable] = []
    answered = 0
    stop = time.monotonic() + seconds

    async def client(index: int) -> None:
        nonlocal answered
        source = sources[index % len(sources)]
        while time.monotonic() < stop:
            try:
                await source.customers([f"Q{index}"])
                answered += 1
            except SourceUnavailable as error:
                refusals.append(error)
                await asyncio.sleep(min(error.retry_after or 0.1, 0.2))

    async def sampler() -> None:
        while time.monotonic() < stop + 3.5:
            samples.append((time.monotonic(), erp_keys_called(knobs)))
            await asyncio.sleep(0.05)

    sampling = asyncio.create_task(sampler())
    await asyncio.gather(*(client(i) for i in range(clients)))
    sampling.cancel()
    samples.append((time.monotonic(), erp_keys_called(knobs)))
    return samples, answered, refusals


def assert_within_bucket(samples: list[tuple[float, int]], rate: float, burst: int) -> None:
    """Between any two samples, the upstream saw at most burst + rate × elapsed requests
    (plus 1 for a request whose token was taken just before the earlier sample)."""
    for i, (t0, c0) in enumerate(samples):
        for t1, c1 in samples[i + 1 :]:
            assert c1 - c0 <= burst + rate * (t1 - t0) + 1, (t1 - t0, c1 - c0)
    # and over every whole second: at most burst + rate requests
    for t0, c0 in samples:
        within = [c for t, c in samples if t0 <= t <= t0 + 1.0]
        assert max(within) - c0 <= burst + rate + 1


async def test_quota_is_never_exceeded_under_32_concurrent_clients(
    live_upstreams: DemoUpstreams, erp_knobs: Any
) -> None:
    quota = build_quota("erp", 5, 5, cache_url="none", max_wait=3.0)
    source = guarded(demo_erp(live_upstreams), quota=quota)
    try:
        erp_knobs.reset_stats()
        samples, answered, refusals = await hammer([source], 32, 2.5, erp_knobs)
    finally:
        await source.aclose()
    total = samples[-1][1]
    elapsed = samples[-1][0] - samples[0][0]
    assert total == answered  # every answer is one upstream call, no more
    assert total <= 5 + 5 * elapsed + 1
    assert total >= 10  # the quota is used, not starved
    assert_within_bucket(samples, 5, 5)
    assert all(r.retry_after and "quota" in r.message for r in refusals)


async def test_a_redis_quota_is_shared_by_replicas(
    live_upstreams: DemoUpstreams, erp_knobs: Any
) -> None:
    prefix = f"keylink:test-quota:{uuid.uuid4().hex}:"
    replicas = [
        guarded(
            demo_erp(live_upstreams),
            quota=build_quota(
                "erp", 5, 5, cache_url="redis://127.0.0.1:6379/0", max_wait=3.0, prefix=prefix
            ),
        )
        for _ in range(2)
    ]
    try:
        erp_knobs.reset_stats()
        samples, answered, _ = await hammer(replicas, 32, 2.5, erp_knobs)
    finally:
        for replica in replicas:
            await replica.aclose()
    total = samples[-1][1]
    elapsed = samples[-1][0] - samples[0][0]
    assert total == answered
    # one bucket for both replicas (two separate buckets would allow twice as much)
    assert total <= 5 + 5 * elapsed + 1
    assert_within_bucket(samples, 5, 5)


async def test_a_configured_quota_reaches_the_wrapper(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    from gateway.app import start_runtime

    systems = demo_systems(live_upstreams.urls)
    systems["erp"]["quota"] = {"per_second": 5, "burst": 3}
    settings = load_settings(
        overrides={
            "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "systems": systems,
        }
    )
    runtime = await start_runtime(settings)
    try:
        erp = runtime.systems.sources["erp"]
        assert isinstance(erp, ResilientSource) and erp.quota is not None
        assert erp.quota.limiter.capacity == 3
        assert erp.quota.max_wait == settings.systems["erp"].timeout
        crm = runtime.systems.sources["crm"]
        assert isinstance(crm, ResilientSource) and crm.quota is None
    finally:
        await runtime.aclose()
