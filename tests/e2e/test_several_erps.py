"""A customer of two legal entities, each with its own ERP and currency (issue 19).

Two demo ERP apps with different datasets run on loopback (the session's, and a second one
generated from another seed), behind one gateway as systems ``erp`` and ``erp2``; the link
map ties one customer of each into one entity. The customer's invoices and orders come from
both, each tagged with its system; the overview's figures are per currency (summed over the
systems within a currency only) and per system (``bySystem``), and no total is ever summed
across currencies. ``erp2`` translates its ``cancelled`` invoices to UNKNOWN in config, so
the answer must list them, count them in no figure and say so in its notes. Expected
figures come from the upstreams' raw JSON (``expected.py``), not from Keylink's code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from demo.records import DemoDataset
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings, demo_systems
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from tests.conftest import graphql
from tests.e2e.expected import fetch_all, overview_of
from tests.support.servers import ServerThread

MONEY = "{ amount currency }"
FIGURES = f"""
  openBalance {MONEY} overdueAmount {MONEY} overdueCount
  revenueYearToDate {MONEY} revenueSamePeriodLastYear {MONEY} openOrdersValue {MONEY}
  creditLimit {MONEY} creditAvailable {MONEY}
"""
QUERY = f"""
query($key: String!) {{
  customer(system: "erp", key: $key) {{
    keys {{ system key }}
    erps {{ system key currency }}
    invoices {{ system key status statusRaw total {MONEY} }}
    unknownInvoices: invoices(status: UNKNOWN) {{ system key }}
    orders {{ system key status }}
    financialOverview {{
      asOf
      {FIGURES}
      bySystem {{ system {FIGURES} }}
    }}
  }}
}}
"""
MONEY_FIELDS = (
    "openBalance",
    "overdueAmount",
    "revenueYearToDate",
    "revenueSamePeriodLastYear",
    "openOrdersValue",
)


def _currencies(data: DemoDataset, customer: str, status: str | None = None) -> set[str]:
    return {
        data.invoices[i].currency
        for i in data.invoices_by_customer.get(customer, [])
        if status is None or data.invoices[i].status == status
    }


def pick_customers(first: DemoDataset, second: DemoDataset) -> tuple[str, str]:
    """A customer of the first ERP with open invoices, all its business in its own
    currency (so that its credit available is a figure), and one of the second ERP keeping
    its books in another currency, with open and cancelled invoices."""
    for a, customer_a in first.customers.items():
        orders = {first.orders[o].currency for o in first.orders_by_customer.get(a, [])}
        if not _currencies(first, a, "open") or _currencies(first, a) | orders != {
            customer_a.currency
        }:
            continue
        for b, customer_b in second.customers.items():
            if (
                customer_b.currency != customer_a.currency
                and _currencies(second, b, "open")
                and _currencies(second, b, "cancelled")
            ):
                return a, b
    raise AssertionError("the demo datasets have no such pair of customers")


@pytest.fixture(scope="module")
def second_erp() -> Iterator[DemoUpstreams]:
    """A second demo ERP (another legal entity: other data) on its own loopback port."""
    upstreams = DemoUpstreams(seed=7)
    upstreams.start("erp")
    yield upstreams
    upstreams.stop()


@pytest.fixture(scope="module")
def pair(live_upstreams: DemoUpstreams, second_erp: DemoUpstreams) -> tuple[str, str]:
    return pick_customers(live_upstreams.dataset, second_erp.dataset)


@pytest.fixture(scope="module")
async def two_erp_linkmap(pair: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('two-erps') / 'links.db'}"
    await upgrade_async(url)
    store = LinkStore.from_url(url)
    try:
        await store.bulk_import(
            [("customer", {"erp": [pair[0]], "erp2": [pair[1]]})], actor="tests"
        )
    finally:
        await store.close()
    return url


@pytest.fixture(scope="module")
def two_erp_gateway(
    live_upstreams: DemoUpstreams, second_erp: DemoUpstreams, two_erp_linkmap: str
) -> Iterator[str]:
    systems = demo_systems(live_upstreams.urls)
    systems["erp2"] = {
        **systems["erp"],
        "url": second_erp.urls["erp"],
        "translations": {"invoice_status": {"cancelled": "UNKNOWN"}},
    }
    settings = demo_settings(
        live_upstreams.urls,
        two_erp_linkmap,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={"systems": systems},
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


def raw(url: str, key: str) -> dict[str, Any]:
    """The customer, its invoices and its orders as the ERP at ``url`` serves them."""
    with httpx.Client(base_url=url, timeout=10) as http:
        return {
            "customer": http.get(f"/customers/{key}").json(),
            "invoices": fetch_all(http, "/invoices", customer=key),
            "orders": fetch_all(http, "/orders", customer=key),
        }


def amounts(money_list: list[dict[str, str]]) -> dict[str, Decimal]:
    """A wire list of amounts as {currency: amount}; each currency at most once."""
    found = {m["currency"]: Decimal(m["amount"]) for m in money_list}
    assert len(found) == len(money_list), money_list
    return found


def added(*totals: dict[str, Decimal]) -> dict[str, Decimal]:
    """Per-currency totals summed currency by currency."""
    result: dict[str, Decimal] = {}
    for total in totals:
        for currency, amount in total.items():
            result[currency] = result.get(currency, Decimal(0)) + amount
    return result


@pytest.fixture(scope="module")
async def answer(two_erp_gateway: str, pair: tuple[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=two_erp_gateway, timeout=60) as client:
        body = await graphql(client, QUERY, {"key": pair[0]})
    assert "errors" not in body, body["errors"]
    return body


async def test_both_erps_invoices_and_orders_are_listed_each_with_its_system(
    answer: dict[str, Any],
    pair: tuple[str, str],
    live_upstreams: DemoUpstreams,
    second_erp: DemoUpstreams,
) -> None:
    first, second = raw(live_upstreams.urls["erp"], pair[0]), raw(second_erp.urls["erp"], pair[1])
    customer = answer["data"]["customer"]
    assert {(k["system"], k["key"]) for k in customer["keys"]} == {
        ("erp", pair[0]),
        ("erp2", pair[1]),
    }
    assert {(i["system"], i["key"]) for i in customer["invoices"]} == {
        ("erp", i["number"]) for i in first["invoices"]
    } | {("erp2", i["number"]) for i in second["invoices"]}
    assert {(o["system"], o["key"]) for o in customer["orders"]} == {
        ("erp", o["number"]) for o in first["orders"]
    } | {("erp2", o["number"]) for o in second["orders"]}
    assert customer["erps"] == [
        {"system": "erp", "key": pair[0], "currency": first["customer"]["currency"]},
        {"system": "erp2", "key": pair[1], "currency": second["customer"]["currency"]},
    ]
    currencies = {i["total"]["currency"] for i in customer["invoices"]}
    assert len(currencies) > 1  # two legal entities, two currencies at least


async def test_figures_are_per_currency_and_per_system_never_summed_across_currencies(
    answer: dict[str, Any],
    pair: tuple[str, str],
    live_upstreams: DemoUpstreams,
    second_erp: DemoUpstreams,
) -> None:
    overview = answer["data"]["customer"]["financialOverview"]
    today = date.fromisoformat(overview["asOf"])
    first, second = raw(live_upstreams.urls["erp"], pair[0]), raw(second_erp.urls["erp"], pair[1])
    want = {
        system: overview_of(data["customer"], data["invoices"], data["orders"], [], today)
        for system, data in (("erp", first), ("erp2", second))
    }
    by_system = {entry["system"]: entry for entry in overview["bySystem"]}
    assert list(by_system) == ["erp", "erp2"]
    for system, figures in by_system.items():
        for field in MONEY_FIELDS:
            assert amounts(figures[field]) == amounts(want[system][field]), (system, field)
        assert figures["overdueCount"] == want[system]["overdueCount"]
        assert figures["creditLimit"] == want[system]["creditLimit"]
        # a credit limit is one legal entity's: only that ERP's exposure is charged to it
        assert figures["creditAvailable"] == want[system]["creditAvailable"]
    # the overview: each currency's total is that currency's amounts in both systems
    for field in MONEY_FIELDS:
        assert amounts(overview[field]) == added(
            amounts(want["erp"][field]), amounts(want["erp2"][field])
        ), field
    assert overview["overdueCount"] == want["erp"]["overdueCount"] + want["erp2"]["overdueCount"]
    assert overview["creditLimit"] == want["erp"]["creditLimit"]
    assert overview["creditAvailable"] == want["erp"]["creditAvailable"]
    assert overview["creditAvailable"] is not None  # erp2's exposure is not charged to it
    # the two systems' own balances are in different currencies: never one sum of both
    base = {first["customer"]["currency"], second["customer"]["currency"]}
    assert len(base) == 2


async def test_invoices_in_a_state_the_table_does_not_know_are_listed_counted_nowhere_and_noted(
    answer: dict[str, Any], pair: tuple[str, str], second_erp: DemoUpstreams
) -> None:
    second = raw(second_erp.urls["erp"], pair[1])
    cancelled = {i["number"] for i in second["invoices"] if i["status"] == "cancelled"}
    assert cancelled
    listed = {
        i["key"]: (i["status"], i["statusRaw"])
        for i in answer["data"]["customer"]["invoices"]
        if i["system"] == "erp2"
    }
    assert {k for k, (status, _) in listed.items() if status == "UNKNOWN"} == cancelled
    assert all(listed[k] == ("UNKNOWN", "cancelled") for k in cancelled)
    unknown = answer["data"]["customer"]["unknownInvoices"]
    assert sorted((i["system"], i["key"]) for i in unknown) == sorted(
        ("erp2", key) for key in cancelled
    )
    count = len(cancelled)
    notes = answer["extensions"]["sources"]["erp2"]["notes"]
    assert notes == [
        f"{count} invoice{'' if count == 1 else 's'} had a state Keylink does not know "
        "('cancelled'): listed as UNKNOWN, counted in no figure, so figures may be incomplete"
    ]
    assert answer["extensions"]["sources"]["erp"].get("notes", []) == []
