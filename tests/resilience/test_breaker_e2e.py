"""R5 and O1 over real HTTP: a down system's circuit opens, its fields fail fast, it closes
by itself when the system returns, and /metrics shows the state."""

from __future__ import annotations

import time

import httpx

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from tests.support.servers import ServerThread

HOURS = (
    'query($k: String!) { customer(system: "crm", key: $k) { account { name } hours { total } } }'
)


def circuit(client: httpx.Client, system: str) -> int:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'keylink_circuit_open{{system="{system}"}}'):
            return int(line.rsplit(" ", 1)[1])
    raise AssertionError("no circuit metric")


def test_circuit_opens_fails_fast_and_closes_by_itself(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    key = next(
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and {"crm", "timesheet"} <= set(link.keys)
    )
    settings = demo_settings(
        live_upstreams.urls,
        demo_linkmap_url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={"resilience": {"failure_threshold": 3, "open_seconds": 1.0}},
    )
    server = ServerThread(create_app(settings))
    server.start()
    client = httpx.Client(base_url=server.url, timeout=10)
    payload = {"query": HOURS, "variables": {"k": key}}
    try:
        assert circuit(client, "timesheet") == 0
        live_upstreams.stop("timesheet")
        for _ in range(3):
            body = client.post("/graphql", json=payload).json()
            assert body["errors"][0]["extensions"]["system"] == "timesheet"
        assert circuit(client, "timesheet") == 1
        started = time.monotonic()
        body = client.post("/graphql", json=payload).json()
        elapsed = time.monotonic() - started
        assert body["data"]["customer"]["account"]["name"]
        extensions = body["errors"][0]["extensions"]
        assert {k: extensions[k] for k in ("code", "system")} == {
            "code": "SOURCE_UNAVAILABLE",
            "system": "timesheet",
        }
        # the breaker says when it lets a probe through again (open 1 s here)
        assert 0 < extensions["retryAfter"] <= 1.0
        assert "circuit open" in body["errors"][0]["message"]
        assert elapsed < 0.5
        live_upstreams.start("timesheet")
        time.sleep(1.1)
        body = client.post("/graphql", json=payload).json()
        assert "errors" not in body, body
        assert circuit(client, "timesheet") == 0
    finally:
        live_upstreams.start("timesheet")
        client.close()
        server.stop()
