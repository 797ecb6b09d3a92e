"""Stale-if-error: a failed system's fields are served from the cache, marked stale."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_systems
from gateway.settings import load_settings
from tests.conftest import graphql
from tests.e2e.queries import CUSTOMER
from tests.support.servers import ServerThread


def gateway_with(upstreams: DemoUpstreams, linkmap_url: str, max_stale: int) -> ServerThread:
    settings = load_settings(
        overrides={
            "linkmap": {"url": linkmap_url, "migrate_on_start": False},
            "cache": {"url": "memory://", "ttl": 1, "master_data_ttl": 1, "max_stale": max_stale},
            "rate_limit": {"enabled": False},
            "resilience": {"failure_threshold": 1_000_000},
            "systems": demo_systems(upstreams.urls),
        }
    )
    server = ServerThread(create_app(settings))
    server.start()
    return server


@pytest.fixture
def crm_key(live_upstreams: DemoUpstreams) -> Iterator[str]:
    yield next(
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
    )
    live_upstreams.knobs["erp"].reset()


@pytest.mark.parametrize("max_stale", [60, 0])
async def test_failed_erp_is_served_stale_within_max_age(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, crm_key: str, max_stale: int
) -> None:
    server = gateway_with(live_upstreams, demo_linkmap_url, max_stale)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            variables = {"system": "crm", "key": crm_key}
            fresh = await graphql(client, CUSTOMER, variables)
            assert "errors" not in fresh
            await asyncio.sleep(1.2)  # past the 1 s freshness
            live_upstreams.knobs["erp"].update(fault="503")
            later = await graphql(client, CUSTOMER, variables)
    finally:
        server.stop()
    erp = later["extensions"]["sources"]["erp"]
    if max_stale:
        assert "errors" not in later, (later.get("errors"), later["extensions"])
        assert later["data"] == fresh["data"]
        assert later["extensions"]["stale"] is True
        assert erp["state"] == "stale" and erp["code"] == "SOURCE_UNAVAILABLE"
        assert erp["ageSeconds"] >= 1.2
        assert later["extensions"]["sources"]["crm"]["state"] == "ok"
    else:
        assert erp["state"] == "error" and erp["code"] == "SOURCE_UNAVAILABLE"
        customer = later["data"]["customer"]
        assert customer["erp"] is None
        assert customer["account"] == fresh["data"]["customer"]["account"]
        overview = customer["financialOverview"]
        hours = ("hoursThisMonth", "unbilledHours")
        assert {k: overview[k] for k in hours} == {
            k: fresh["data"]["customer"]["financialOverview"][k] for k in hours
        }
        assert {k for k, v in overview.items() if v is None} == set(overview) - {*hours, "asOf"}
        assert {(e["extensions"]["code"], e["extensions"]["system"]) for e in later["errors"]} == {
            ("SOURCE_UNAVAILABLE", "erp")
        }
        assert later["extensions"]["sources"]["crm"]["state"] == "ok"
