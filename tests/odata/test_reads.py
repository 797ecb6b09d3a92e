"""Reads through the OData source against SAP CAP: one request per batch of keys (counted
on the wire), the service's own pages followed, decimals exact, a second differently
named service read through a second spec with the same answers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sources.odata.wire import decode, key_filter
from sources.records import InvoiceQuery, OrderStatus
from tests.support.contract import MISSING, Seeded
from tests.support.contract_odata import SPEC, CapServer, odata_adapter

SHOP_SPEC = Path(__file__).with_name("shop-spec.yaml")


class Counting(httpx.AsyncBaseTransport):
    """Passes every request on and keeps its URL (to count the requests a read sends)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _counted(url: str, spec: Path = SPEC) -> tuple[Any, Counting]:
    seen: list[Counting] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        seen.append(Counting(inner))
        return seen[-1]

    return odata_adapter(url, wrap, spec), seen[0]


def _spec_with(tmp_path: Path, base: Path, **changes: Any) -> Path:
    raw = yaml.safe_load(base.read_text())
    raw.update(changes)
    path = tmp_path / base.name
    path.write_text(yaml.safe_dump(raw))
    return path


def _order_keys(seeded: Seeded) -> list[str]:
    return [o.key for o in seeded.orders.values()] + [o.key for o in seeded.same_day]


@pytest.mark.parametrize("style", ["in", "or"])
async def test_one_request_per_batch_of_keys(
    cap: tuple[CapServer, Seeded], tmp_path: Path, style: str
) -> None:
    server, seeded = cap
    keys = [*_order_keys(seeded), MISSING]
    spec = _spec_with(tmp_path, SPEC, batch_size=4, key_filter=style)
    adapter, wire = _counted(server.url, spec)
    try:
        found = await adapter.sales_orders(keys)
    finally:
        await adapter.aclose()
    assert set(found) == set(keys) - {MISSING}
    assert len(wire.urls) == 4, [str(u) for u in wire.urls]  # 16 keys in batches of 4
    word = " in (" if style == "in" else " eq "
    assert all(word in u.params["$filter"] for u in wire.urls)
    assert all("$skiptoken" not in str(u) for u in wire.urls)


async def test_pages_of_the_service_are_followed(cap: tuple[CapServer, Seeded]) -> None:
    server, seeded = cap
    adapter, wire = _counted(server.url)
    try:
        orders = await adapter.orders([seeded.customer], None)
    finally:
        await adapter.aclose()
    keys = [o.key for o in orders[seeded.customer]]
    assert set(keys) >= set(_order_keys(seeded))
    assert len(keys) == len(set(keys)) == 18  # the facts' orders, pages of 7
    assert len(wire.urls) == 3
    assert "$skiptoken" not in str(wire.urls[0])
    assert all("skiptoken" in str(u) for u in wire.urls[1:])
    assert wire.urls[0].params["$select"].split(",")[0] == "SalesOrder"  # only mapped properties


async def test_lines_come_expanded_under_their_orders(cap: tuple[CapServer, Seeded]) -> None:
    server, seeded = cap
    adapter, wire = _counted(server.url)
    try:
        keys = _order_keys(seeded)
        lines = await adapter.order_lines(keys)
    finally:
        await adapter.aclose()
    assert len(wire.urls) == 3  # 15 orders in one batch, over the service's pages of 7
    assert all(u.params["$expand"].startswith("to_Item(") for u in wire.urls)
    assert all(len(lines[k]) >= 1 for k in keys)
    assert all(line.order_key == k for k in keys for line in lines[k])
    assert all(line.version.startswith('W/"') for k in keys for line in lines[k])  # ETags


def test_numbers_are_read_as_decimals_never_through_float() -> None:
    body = decode(b'{"value": [{"a": 0.1, "b": 0.14, "c": 1e-2, "d": 12345678901234567.89}]}')
    item = body["value"][0]
    assert item == {
        "a": Decimal("0.1"),
        "b": Decimal("0.14"),
        "c": Decimal("0.01"),
        "d": Decimal("12345678901234567.89"),
    }
    assert all(type(v) is Decimal for v in item.values())


def test_key_filters_quote_and_skip_what_cannot_match() -> None:
    assert key_filter("K", ["a'b", "c"], "string", "in") == "K in ('a''b','c')"
    assert key_filter("K", ["1", "x", "2"], "int", "or") == "K eq 1 or K eq 2"
    assert key_filter("K", ["x"], "int", "in") is None


async def test_amounts_are_the_services_to_the_cent(cap: tuple[CapServer, Seeded]) -> None:
    server, seeded = cap
    adapter = odata_adapter(server.url)
    try:
        invoices = await adapter.invoices([seeded.customer], InvoiceQuery())
        orders = await adapter.sales_orders([o.key for o in seeded.orders.values()])
    finally:
        await adapter.aclose()
    by_key = {i.key: i for i in invoices[seeded.customer]}
    for fact in seeded.invoices.values():
        got = by_key[fact.key]
        assert (got.total.amount, got.amount_due.amount) == (fact.total, fact.amount_due)
        assert type(got.total.amount) is Decimal and got.total.currency == "EUR"
    for fact in seeded.orders.values():
        assert orders[fact.key].total.amount == fact.total


async def test_a_second_service_named_its_own_way_reads_the_same(
    cap: tuple[CapServer, Seeded],
) -> None:
    server, seeded = cap
    sap = odata_adapter(server.url)
    shop, wire = _counted(server.root + "/shop/odata", SHOP_SPEC)
    try:
        customer = seeded.customer
        sap_orders = await sap.orders([customer], None)
        shop_orders = await shop.orders([customer], None)
        # 18 orders at the Webshop's 3 a page: six full pages, and the empty one CAP links
        # after a full page
        assert len(wire.urls) == 7
        assert {o.key: (o.total, o.status) for o in shop_orders[customer]} == {
            o.key: (o.total, o.status) for o in sap_orders[customer]
        }
        assert {o.status for o in shop_orders[customer]} >= {
            OrderStatus.DRAFT,
            OrderStatus.INVOICED,
        }
        sap_invoices = await sap.invoices([customer], InvoiceQuery())
        shop_invoices = await shop.invoices([customer], InvoiceQuery())
        assert sorted(map(repr, shop_invoices[customer])) == sorted(
            map(repr, sap_invoices[customer])
        )
        keys = _order_keys(seeded)
        sap_lines = await sap.order_lines(keys)
        shop_lines = await shop.order_lines(keys)
        assert shop_lines == sap_lines  # ETags included: the same entities underneath
        assert (await shop.customers([customer]))[customer].name == (
            await sap.customers([customer])
        )[customer].name
    finally:
        await sap.aclose()
        await shop.aclose()
