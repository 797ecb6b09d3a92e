"""R1: no request outlives the whole-request deadline."""

from __future__ import annotations

import time

import httpx

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_systems
from gateway.settings import load_settings
from tests.e2e.queries import CUSTOMER
from tests.support.servers import ServerThread


def test_a_slow_chain_is_cut_at_the_deadline(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    settings = load_settings(
        overrides={
            "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "request_deadline": 1.0,
            "systems": demo_systems(live_upstreams.urls),
        }
    )
    key = next(
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and "crm" in link.keys
    )
    server = ServerThread(create_app(settings))
    server.start()
    live_upstreams.knobs["crm"].update(latency_ms=2500)  # under the 3 s system timeout
    try:
        started = time.monotonic()
        response = httpx.post(
            f"{server.url}/graphql",
            json={"query": CUSTOMER, "variables": {"system": "crm", "key": key}},
            timeout=10,
        )
        elapsed = time.monotonic() - started
    finally:
        live_upstreams.knobs["crm"].reset()
        server.stop()
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"]["code"] == "DEADLINE_EXCEEDED"
    assert elapsed < 2.0
