"""A loader reads what its system declares (issue 17): the batched read, its shape (one
record or a list per key) and its arguments come from the source's own declaration
(``sources.operations``), found once at start-up; a read no system declares fails when the
loader is asked for, before any request reaches an upstream. Over the demo upstreams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems
from gateway.runtime import Runtime, build_runtime
from gateway.settings import load_settings
from resolvers.context import Systems
from sources.errors import SourceUnavailable
from sources.operations import (
    ReadArgumentsError,
    ReadDeclarationError,
    ReadTable,
    UnknownReadOperation,
    one_per_key,
)
from sources.records import Customer
from sources.rest import RestConfig, RestSource
from tests.resilience.fakes import ScriptedSource, wrap

SPECS = Path(__file__).resolve().parents[2] / "demo" / "specs"


@pytest.fixture
async def runtime(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> AsyncIterator[Runtime]:
    settings = load_settings(
        overrides={
            "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "systems": demo_systems(live_upstreams.urls),
        }
    )
    built = await build_runtime(settings)
    try:
        yield built
    finally:
        await built.aclose()


def requests_to(stats: httpx.Client, prefix: str) -> int:
    """Requests the demo upstream counted on paths starting with ``prefix``."""
    counted: dict[str, int] = stats.get("/_stats").json()["requests"]
    return sum(n for path, n in counted.items() if path.startswith(prefix))


def total_requests(stats: dict[str, httpx.Client]) -> int:
    return sum(client.get("/_stats").json()["total"] for client in stats.values())


async def test_a_loader_answers_in_the_shape_its_system_declares(
    runtime: Runtime, live_upstreams: DemoUpstreams, upstream_stats: dict[str, httpx.Client]
) -> None:
    known = next(iter(live_upstreams.dataset.customers))
    loaders = runtime.request_context().loaders
    customers = loaders.source("erp", "customers")  # one record per key, as declared
    orders = loaders.source("erp", "orders", None)  # a list per key, as declared
    found, missing, no_orders = await asyncio.gather(
        customers.load(known), customers.load("NO-SUCH-CUSTOMER"), orders.load("NO-SUCH")
    )
    assert isinstance(found, Customer) and found.key == known
    assert missing is None
    assert no_orders == []
    # both customer keys went in one batched upstream call
    assert requests_to(upstream_stats["erp"], "/customers") == 1


async def test_a_read_the_system_does_not_declare_fails_at_lookup_not_upstream(
    runtime: Runtime, upstream_stats: dict[str, httpx.Client]
) -> None:
    loaders = runtime.request_context().loaders
    # ``search`` is a public async method of the REST adapter, but no batched read: a name
    # found by getattr would have been called with the keys and failed mid-request
    for operation in ("search", "customer", "read"):
        with pytest.raises(UnknownReadOperation) as caught:
            loaders.source("erp", operation)
        assert caught.value.operation == operation
        assert "customers" in caught.value.known  # the error names what is declared
        assert "'erp' declares no batched read" in str(caught.value)
    with pytest.raises(UnknownReadOperation):
        loaders.source("sap", "customers")  # no such system
    assert total_requests(upstream_stats) == 0


async def test_arguments_or_a_shape_the_read_does_not_take_fail_at_lookup(
    runtime: Runtime, upstream_stats: dict[str, httpx.Client]
) -> None:
    loaders = runtime.request_context().loaders
    with pytest.raises(ReadArgumentsError, match=r"erp\.invoices takes \['query'\]"):
        loaders.source("erp", "invoices")  # the invoice query is missing
    with pytest.raises(ReadArgumentsError, match=r"erp\.customers takes \[\]"):
        loaders.source("erp", "customers", "extra")
    with pytest.raises(ReadArgumentsError, match="answers one record per key"):
        loaders.source("erp", "customers", many=True)
    with pytest.raises(ReadArgumentsError, match="answers a list per key"):
        loaders.source("erp", "contacts", many=False)
    assert total_requests(upstream_stats) == 0


async def test_a_loader_reads_through_the_systems_resilience(
    runtime: Runtime,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    live_upstreams.knobs["erp"].update(fault="503", fault_rate=1.0, paths=["/customers"])
    known = next(iter(live_upstreams.dataset.customers))
    loader = runtime.request_context().loaders.source("erp", "customers")
    with pytest.raises(SourceUnavailable):
        await loader.load(known)
    # the declared read is the guarded one: a read answered 503 is retried once (R3)
    assert requests_to(upstream_stats["erp"], "/customers") == 2
    erp = runtime.systems.sources["erp"]
    assert erp.health()["retries"] == 1  # type: ignore[attr-defined]


def test_a_system_without_declared_reads_is_refused_when_the_systems_are_built() -> None:
    with pytest.raises(ReadDeclarationError, match="declares no batched reads"):
        Systems(sources={"erp": wrap(ScriptedSource())})


async def test_a_system_lacking_a_read_its_kind_needs_is_refused_when_built() -> None:
    class CustomersOnly(RestSource):
        batched_reads = ReadTable(one_per_key(RestSource.customers))

    config = RestConfig(
        kind="erp", adapter="rest", url="http://127.0.0.1:9", spec=SPECS / "erp.yaml"
    )
    source = CustomersOnly("erp", config)
    try:
        with pytest.raises(ReadDeclarationError, match="'invoices'") as caught:
            Systems(sources={"erp": source})
        assert "customers" not in str(caught.value)
    finally:
        await source.aclose()
