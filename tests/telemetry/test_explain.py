"""Explain on request: the calls ``extensions.explain`` lists are the calls the upstreams
themselves logged; only the roles allowed get it; requests never see each other's."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.queries import CUSTOMER
from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems
from sources.rest.spec import RestSpec
from tests.telemetry.support import EXPLAIN_ROLES, overview_variables, upstream_log

SALES = {"x-keylink-principal": "someone", "x-keylink-roles": "sales"}


def paths_of(upstreams: DemoUpstreams) -> dict[tuple[str, str], str]:
    """(system, operation) -> the path that operation reads, from the demo's own specs."""
    found = {}
    for system, config in demo_systems(upstreams.urls).items():
        spec = RestSpec.from_file(Path(config["spec"]))
        for name, operation in spec.operations.items():
            found[(system, name)] = "/" + operation.path.lstrip("/")
    return found


async def ask(
    gateway: httpx.AsyncClient,
    variables: dict[str, Any],
    headers: dict[str, str],
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"query": CUSTOMER, "variables": variables}
    if extensions is not None:
        body["extensions"] = extensions
    response = await gateway.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert "errors" not in answer, answer["errors"]
    return answer


async def test_explain_lists_the_calls_the_upstreams_logged(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    upstream_log(upstream_stats)
    answer = await ask(
        gateway,
        overview_variables(live_upstreams),
        {**EXPLAIN_ROLES, "X-Keylink-Explain": "true"},
    )
    log = upstream_log(upstream_stats)
    explain = answer["extensions"]["explain"]
    calls = explain["calls"]
    assert calls

    paths = paths_of(live_upstreams)
    listed: Counter[tuple[str, str]] = Counter()
    for call in calls:
        assert call["upstream"] is True and call["shared"] is False  # the cache is off
        assert call["cache"] == "miss" and call["cacheHits"] == 0
        assert call["batchSize"] == call["keys"] >= 1
        assert call["status"] == "ok" and call["attempts"] == 1 and call["retries"] == 0
        assert call["durationMs"] > 0
        listed[(call["system"], paths[(call["system"], call["operation"])])] += 1
    logged = Counter({(s, p): n for s, found in log.items() for p, n in found.items()})
    assert listed == logged

    assert explain["totalMs"] >= explain["upstreamMs"] > 0
    assert explain["gatewayMs"] == pytest.approx(
        explain["totalMs"] - explain["upstreamMs"], abs=0.01
    )
    assert explain["upstreamMs"] <= sum(c["durationMs"] for c in calls) + 0.01


async def test_explain_by_request_extension_and_refused_without_the_role(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams
) -> None:
    variables = overview_variables(live_upstreams, 4)
    allowed = await ask(gateway, variables, EXPLAIN_ROLES, {"explain": True})
    assert allowed["extensions"]["explain"]["calls"]

    refused = await ask(gateway, variables, {**SALES, "X-Keylink-Explain": "true"})
    assert refused["extensions"]["explain"] == {
        "refused": "explain needs one of the roles admin, analyst, operator"
    }
    assert refused["data"] == allowed["data"]

    plain = await ask(gateway, variables, EXPLAIN_ROLES)
    assert "explain" not in plain["extensions"]


async def test_concurrent_requests_see_only_their_own_calls(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams
) -> None:
    alone = await ask(
        gateway, overview_variables(live_upstreams, 5), {**EXPLAIN_ROLES, "X-Keylink-Explain": "1"}
    )
    expected = len(alone["extensions"]["explain"]["calls"])
    answers = await asyncio.gather(
        *(
            ask(
                gateway,
                overview_variables(live_upstreams, 5 + i),
                {**EXPLAIN_ROLES, "X-Keylink-Explain": "1"} if i % 2 == 0 else EXPLAIN_ROLES,
            )
            for i in range(6)
        )
    )
    for i, answer in enumerate(answers):
        if i % 2 == 0:
            assert len(answer["extensions"]["explain"]["calls"]) == expected
        else:
            assert "explain" not in answer["extensions"]
