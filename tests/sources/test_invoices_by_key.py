"""Invoices by their number through the REST adapter (``invoices_by_key``,
``sources.base.InvoicesByKey``), against the demo ERP over loopback HTTP: one request per
batch of numbers (the demo ERP's ``GET /invoices?ids=``), never one per number; the same
invoices the customer's invoice list holds; an unknown number absent; a spec without the
read answering ``Unsupported`` (NOT_SUPPORTED)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from demo.runner import DemoUpstreams
from sources.errors import Unsupported
from sources.records import InvoiceQuery
from sources.rest import RestConfig, RestSource

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "erp.yaml"


def rest_erp(url: str, spec: Path = SPEC) -> RestSource:
    return RestSource("erp", RestConfig(kind="erp", adapter="rest", url=url, spec=spec))


@pytest.fixture
async def erp(live_upstreams: DemoUpstreams) -> AsyncIterator[RestSource]:
    source = rest_erp(live_upstreams.urls["erp"])
    yield source
    await source.aclose()


async def test_invoices_by_number_one_request_per_batch(
    erp: RestSource, live_upstreams: DemoUpstreams, upstream_stats: dict[str, httpx.Client]
) -> None:
    numbers = list(live_upstreams.dataset.invoices)[:150]  # two batches: 100 + 50
    found = await erp.invoices_by_key([*numbers, "INV-999999", numbers[0]])
    assert sorted(found) == sorted(numbers)
    assert upstream_stats["erp"].get("/_stats").json()["requests"] == {"/invoices": 2}
    customers = sorted({live_upstreams.dataset.invoices[n].customer for n in numbers[:20]})
    listed = await erp.invoices(customers, InvoiceQuery())
    by_number = {i.key: i for invoices in listed.values() for i in invoices}
    assert {n: by_number[n] for n in numbers[:20]} == {n: found[n] for n in numbers[:20]}
    assert all(found[n].number == n for n in numbers)


async def test_a_spec_without_the_read_says_it_is_not_supported(
    live_upstreams: DemoUpstreams, tmp_path: Path, upstream_stats: dict[str, httpx.Client]
) -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    del spec["operations"]["invoices_by_key"]
    path = tmp_path / "erp.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    source = rest_erp(live_upstreams.urls["erp"], path)
    try:
        assert not source.read_operations()["invoices_by_key"].many
        with pytest.raises(Unsupported):
            await source.invoices_by_key(["INV-200001"])
    finally:
        await source.aclose()
    assert upstream_stats["erp"].get("/_stats").json()["total"] == 0
