"""Concurrent identical cold queries cost one upstream request per batch (single-flight)."""

from __future__ import annotations

import asyncio

import httpx

from demo.links import demo_links
from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.queries import CUSTOMER


def counts(stats: dict[str, httpx.Client]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for system, client in stats.items():
        for path, count in client.get("/_stats").json()["requests"].items():
            found[(system, path)] = count
        client.post("/_stats/reset").raise_for_status()
    return found


async def test_fifty_concurrent_identical_queries_share_upstream_calls(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    keys = [
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
    ]
    variables = {"system": "crm", "key": keys[5]}
    for knobs in live_upstreams.knobs.values():
        knobs.update(latency_ms=2000)  # keep the first calls in flight while the rest arrive
    one = await graphql(gateway, CUSTOMER, variables)  # the session gateway: cache off
    assert "errors" not in one
    single = counts(upstream_stats)
    bodies = await asyncio.gather(*(graphql(gateway, CUSTOMER, variables) for _ in range(50)))
    assert all(body["data"] == one["data"] for body in bodies)
    assert counts(upstream_stats) == single
