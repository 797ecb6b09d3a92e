"""``sourceStatus``: the per-system states of ``extensions.sources`` as a field, resolved
after every other root field of the request, so that a client behind a federation router
(which drops a subgraph's top-level extensions) still learns which systems failed or were
served stale."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_systems
from gateway.settings import load_settings
from linkmap.records import Entity
from tests.conftest import graphql
from tests.federation.links import linked_in
from tests.support.servers import ServerThread

STATUS = "sourceStatus { stale systems { system state readAt code ageSeconds notes } }"

STATUS_FIRST = f"""
query($key: String!) {{
  {STATUS}
  customer(system: "crm", key: $key) {{
    account {{ name }}
    erp {{ name }}
    financialOverview {{ unbilledHours }}
  }}
  later: customersByKey(system: "crm", keys: [$key]) {{ erp {{ creditLimit {{ amount }} }} }}
}}
"""
"""``sourceStatus`` first in the document: it must still see what the fields after it read."""


def as_extensions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``sourceStatus.systems`` in the shape of ``extensions.sources`` (times left out)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in status["systems"]:
        item: dict[str, Any] = {"state": entry["state"].lower()}
        if entry["code"] is not None:
            item["code"] = entry["code"]
        if entry["notes"]:
            item["notes"] = entry["notes"]
        found[entry["system"]] = item
    return found


def without_times(sources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``extensions.sources`` without ``readAt`` and ``ageSeconds``."""
    return {
        name: {k: v for k, v in entry.items() if k not in ("readAt", "ageSeconds")}
        for name, entry in sources.items()
    }


@pytest.fixture
def customer_key(demo_entities: dict[str, list[Entity]]) -> str:
    """The CRM key of a customer linked in all three demo systems."""
    return linked_in(demo_entities, "customer", {"erp", "crm", "timesheet"})[0].keys["crm"][0]


async def test_source_status_is_resolved_after_every_other_root_field(
    gateway: httpx.AsyncClient, customer_key: str
) -> None:
    body = await graphql(gateway, STATUS_FIRST, {"key": customer_key})

    assert "errors" not in body, body["errors"]
    assert list(body["data"]) == ["sourceStatus", "customer", "later"]  # the query's order
    status = body["data"]["sourceStatus"]
    assert [s["system"] for s in status["systems"]] == ["crm", "erp", "timesheet"]
    assert {s["state"] for s in status["systems"]} == {"OK"}
    assert status["stale"] is False
    assert as_extensions(status) == without_times(body["extensions"]["sources"])


async def test_source_status_is_empty_when_nothing_else_was_read(
    gateway: httpx.AsyncClient,
) -> None:
    body = await graphql(gateway, f"{{ {STATUS} }}")
    assert body["data"]["sourceStatus"] == {"stale": False, "systems": []}


async def test_source_status_reports_a_failing_system_as_extensions_sources_does(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
    customer_key: str,
) -> None:
    live_upstreams.knobs["erp"].update(fault="503")  # reset by upstream_stats

    body = await graphql(gateway, STATUS_FIRST, {"key": customer_key})

    assert body["data"]["customer"]["erp"] is None
    assert body["data"]["customer"]["account"] is not None
    systems = {s["system"]: s for s in body["data"]["sourceStatus"]["systems"]}
    assert systems["erp"]["state"] == "ERROR"
    assert systems["erp"]["code"] == "SOURCE_UNAVAILABLE"
    assert systems["crm"]["state"] == "OK" and systems["crm"]["code"] is None
    assert as_extensions(body["data"]["sourceStatus"]) == without_times(
        body["extensions"]["sources"]
    )
    # the failed field's own error names its system and code
    erp_errors = [e for e in body["errors"] if e["path"][-1] == "erp"]
    assert erp_errors and {e["extensions"]["system"] for e in erp_errors} == {"erp"}
    assert {e["extensions"]["code"] for e in erp_errors} == {"SOURCE_UNAVAILABLE"}


@pytest.fixture
def caching_gateway(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """A gateway whose reads stay fresh for 1 s and may stand in for 60 s more."""
    settings = load_settings(
        overrides={
            "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
            "cache": {"url": "memory://", "ttl": 1, "master_data_ttl": 1, "max_stale": 60},
            "rate_limit": {"enabled": False},
            "resilience": {"failure_threshold": 1_000_000},
            "systems": demo_systems(live_upstreams.urls),
        }
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()
    live_upstreams.knobs["erp"].reset()


async def test_source_status_says_when_a_system_is_served_stale(
    caching_gateway: str, live_upstreams: DemoUpstreams, customer_key: str
) -> None:
    async with httpx.AsyncClient(base_url=caching_gateway, timeout=30) as client:
        fresh = await graphql(client, STATUS_FIRST, {"key": customer_key})
        assert fresh["data"]["sourceStatus"]["stale"] is False
        await asyncio.sleep(1.2)  # past the 1 s freshness
        live_upstreams.knobs["erp"].update(fault="503")
        later = await graphql(client, STATUS_FIRST, {"key": customer_key})

    assert "errors" not in later, later["errors"]
    assert later["data"]["customer"] == fresh["data"]["customer"]
    status = later["data"]["sourceStatus"]
    assert status["stale"] is True
    erp = next(s for s in status["systems"] if s["system"] == "erp")
    assert erp["state"] == "STALE" and erp["code"] == "SOURCE_UNAVAILABLE"
    assert erp["ageSeconds"] >= 1.2
    assert erp["readAt"] < later["extensions"]["sources"]["crm"]["readAt"]
    assert as_extensions(status) == without_times(later["extensions"]["sources"])
