"""A state the translation table does not know is UNKNOWN with its raw value: never
dropped, never guessed (FIGURES.md, Orders). Here the demo ERP's spec is configured
without its ``quoted`` state, as an admin might forget a code of a new ERP release."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings, demo_systems
from tests.conftest import graphql, repo_root
from tests.support.servers import ServerThread

QUERY = """
query($key: String!) {
  customer(system: "erp", key: $key) {
    orders { key status statusRaw total { amount currency } }
    financialOverview { openOrdersValue { amount currency } }
  }
}
"""


@pytest.fixture(scope="module")
def forgetful_gateway(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A gateway whose ERP spec does not translate the ERP's ``quoted`` state."""
    spec = (repo_root() / "demo" / "specs" / "erp.yaml").read_text()
    assert spec.count("quoted: QUOTED, ") == 1 and spec.count("QUOTED: quoted, ") == 1
    forgetful = spec.replace("quoted: QUOTED, ", "").replace("QUOTED: quoted, ", "")
    path = Path(tmp_path_factory.mktemp("spec")) / "erp.yaml"
    path.write_text(forgetful)
    systems = demo_systems(live_upstreams.urls)
    systems["erp"] = {**systems["erp"], "spec": str(path)}
    settings = demo_settings(
        live_upstreams.urls,
        demo_linkmap_url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={"systems": systems},
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


async def test_an_untranslated_order_state_is_unknown_kept_and_said_to_be_left_out(
    forgetful_gateway: str, live_upstreams: DemoUpstreams
) -> None:
    data = live_upstreams.dataset
    quoted = [o for o in data.orders.values() if o.status == "quoted"]
    assert quoted, "the demo data has no quoted order"
    customer = quoted[0].customer
    async with httpx.AsyncClient(base_url=forgetful_gateway, timeout=30) as client:
        body = await graphql(client, QUERY, {"key": customer})
    assert "errors" not in body, body["errors"]
    orders = {o["key"]: o for o in body["data"]["customer"]["orders"]}
    mine = [o for o in data.orders.values() if o.customer == customer]
    assert set(orders) == {o.number for o in mine}  # none dropped
    for order in mine:
        if order.status == "quoted":
            assert (orders[order.number]["status"], orders[order.number]["statusRaw"]) == (
                "UNKNOWN",
                "quoted",
            )
    # never guessed: the unknown orders are not in the open value, and the answer says so
    open_states = {"draft", "confirmed", "processing"}
    want: dict[str, Decimal] = {}
    for order in mine:
        if order.status in open_states:
            want[order.currency] = want.get(order.currency, Decimal(0)) + order.total
    got = {
        m["currency"]: Decimal(m["amount"])
        for m in body["data"]["customer"]["financialOverview"]["openOrdersValue"]
    }
    assert got == want
    notes = body["extensions"]["sources"]["erp"]["notes"]
    assert notes == ["order state 'quoted' unknown: left out of openOrdersValue"]
