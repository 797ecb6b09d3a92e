"""How many upstream requests one REST system has in flight: concurrent reads are not
queued behind each other (the system's bound is its connection pool and the gateway's
bulkhead), while one read split into many batches sends at most max_concurrent_batches
at once. Concurrency is observed with an instrumented upstream (httpx's MockTransport):
the demo upstreams do not report it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from sources.rest import RestConfig, RestSource

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "erp.yaml"


class Upstream:
    """Answers every request with an empty page after a short wait; counts concurrency."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.requests = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.requests += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.02)
        self.in_flight -= 1
        empty = {"items": [], "page": 1, "per_page": 500, "total": 0, "next_page": None}
        return httpx.Response(200, json=empty)


def erp(upstream: Upstream, max_concurrent_batches: int = 8) -> RestSource:
    config = RestConfig(
        kind="erp",
        adapter="rest",
        url="http://127.0.0.1:1",
        spec=SPEC,
        max_concurrent_batches=max_concurrent_batches,
    )
    return RestSource("erp", config, httpx.MockTransport(upstream))


async def test_concurrent_reads_are_not_queued_behind_each_other() -> None:
    upstream = Upstream()
    source = erp(upstream, max_concurrent_batches=2)
    await asyncio.gather(*(source.customers([f"C{i}"]) for i in range(20)))
    await source.aclose()
    assert upstream.requests == 20
    assert upstream.most == 20


async def test_one_read_sends_at_most_max_concurrent_batches_at_once() -> None:
    upstream = Upstream()
    source = erp(upstream, max_concurrent_batches=3)
    await source.customers([f"C{i}" for i in range(1000)])  # 10 batches of 100 keys
    await source.aclose()
    assert upstream.requests == 10
    assert upstream.most == 3
