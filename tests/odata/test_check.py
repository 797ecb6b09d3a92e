"""The OData source holds its spec to the live service's $metadata (``keylink check`` and
start-up), is built from config through the registry, and the shipped example loads."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from gateway.settings import load_settings
from sources.odata import OdataConfig, OdataSource
from sources.registry import Reach, build_source, load_adapters
from tests.conftest import repo_root
from tests.support.contract import Seeded
from tests.support.contract_odata import PASSWORD, PASSWORD_ENV, SPEC, CapServer, odata_adapter

SHOP_SPEC = Path(__file__).with_name("shop-spec.yaml")


async def test_a_spec_that_fits_the_service_has_no_problem(cap: tuple[CapServer, Seeded]) -> None:
    server, _ = cap
    for url, spec in ((server.url, SPEC), (server.root + "/shop/odata", SHOP_SPEC)):
        adapter = odata_adapter(url, spec=spec)
        try:
            assert await adapter.check_system() == []
        finally:
            await adapter.aclose()


async def test_what_metadata_lacks_is_reported_per_operation(
    cap: tuple[CapServer, Seeded], tmp_path: Path
) -> None:
    server, _ = cap
    raw = yaml.safe_load(SPEC.read_text())
    raw["operations"]["customers"]["entity_set"] = "A_BusinessPartnerX"
    raw["operations"]["orders"]["fields"]["number"] = "PurchaseOrderByCustomer"
    raw["operations"]["order_lines"]["expand"] = "to_Items"
    raw["writes"]["preview_change"] = "API_SALES_ORDER_SRV.Simulate"
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(raw))
    adapter = odata_adapter(server.url, spec=wrong)
    try:
        problems = {(p.operation, p.problem) for p in await adapter.check_system()}
    finally:
        await adapter.aclose()
    assert problems == {
        ("customers", "the service has no entity set A_BusinessPartnerX"),
        ("orders", "A_SalesOrder has no property PurchaseOrderByCustomer"),
        # sales_orders shares the orders' field map (a YAML anchor in the spec)
        ("sales_orders", "A_SalesOrder has no property PurchaseOrderByCustomer"),
        ("order_lines", "A_SalesOrder has no navigation to_Items"),
        ("writes", "A_SalesOrderItem has no bound action API_SALES_ORDER_SRV.Simulate"),
    }


async def test_a_service_out_of_reach_is_reported_unreachable(
    cap: tuple[CapServer, Seeded],
) -> None:
    server, _ = cap
    adapter = odata_adapter(server.root + "/no/such/service")
    try:
        problems = await adapter.check_system()
    finally:
        await adapter.aclose()
    assert len(problems) == 1 and not problems[0].reachable


def test_the_registry_builds_it_from_config() -> None:
    os.environ.setdefault(PASSWORD_ENV, PASSWORD)
    assert "odata" in load_adapters()
    config = OdataConfig.model_validate(
        {
            "kind": "erp",
            "adapter": "odata",
            "url": "http://127.0.0.1:9/service",
            "spec": str(SPEC),
            "auth": {"type": "basic", "username": "u", "password_env": PASSWORD_ENV},
        }
    )
    source = build_source("sap", config, Reach())
    assert isinstance(source, OdataSource)
    assert source.write_operations == {"add_order_line", "change_order_line", "remove_order_line"}


def test_the_example_config_loads() -> None:
    os.environ.setdefault("SAP_PASSWORD", "from-the-environment")
    settings = load_settings(repo_root() / "examples" / "odata-sap.yaml")
    erp = settings.systems["erp"]
    assert isinstance(erp, OdataConfig)
    assert erp.spec.resolve() == SPEC.resolve()
    assert erp.translations.order_status["C"] == "INVOICED"
    assert erp.translations.invoice_status["G2/B"] == "OPEN"
