"""The shared contract (tests/support/contract.py) for the OData source over SAP CAP
(demo/sap), seeded with the same business facts as the other adapters
(tests/support/contract_odata.py). Every check, present and future, runs; the service
pages at 7 entities, so the customer's 15 orders come over three pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import pytest

from tests.support import contract_odata
from tests.support.contract import CHECKS, NotOffered, Seeded, System
from tests.support.contract_gateway import check_unsupported_reads_say_so
from tests.support.contract_odata import CapServer

UNSUPPORTED_READS = frozenset(
    {
        "projects",
        "customer_projects",
        "project_invoices",
        "suppliers",
        "purchase_orders",
        "purchase_order_lines",
        "payables",
        "invoices_by_key",
    }
)
"""What the SAP-style spec maps no entity set for (the model has no projects or purchasing;
the OData source declares no purchase lines), or no read for (billing documents by their
number)."""
UNSUPPORTED_FIGURES = frozenset({"credit_used", "line_unit", "project_hours"})
"""The model keeps no credit exposure, no unit on sales order items (only a product's base
unit), and no timesheets."""


@pytest.fixture(scope="session")
def contract_cap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CapServer, Seeded]]:
    """SAP CAP serving the facts (made for today) on loopback."""
    tables, seeded = contract_odata.contract_seed(date.today())
    server = CapServer(tmp_path_factory.mktemp("contract-odata"), tables)
    server.start()
    try:
        yield server, seeded
    finally:
        server.stop()


@pytest.fixture
async def odata_system(contract_cap: tuple[CapServer, Seeded]) -> AsyncIterator[System]:
    """The OData source over the facts."""
    server, seeded = contract_cap

    def make_adapter(wrap: Any = None) -> Any:
        return contract_odata.odata_adapter(server.url, wrap)

    made = System(
        name="odata-sap",
        adapter=make_adapter(),
        seeded=seeded,
        make_adapter=make_adapter,
        is_write=contract_odata.is_write,
        unsupported_reads=UNSUPPORTED_READS,
        unsupported_figures=UNSUPPORTED_FIGURES,
        gateway_system=lambda: contract_odata.gateway_system(server.url),
    )
    yield made
    await made.adapter.aclose()


@pytest.mark.parametrize("check", list(CHECKS))
async def test_contract_odata(odata_system: System, check: str) -> None:
    try:
        await CHECKS[check](odata_system.adapter, odata_system)
    except NotOffered as reason:
        pytest.skip(str(reason))


async def test_what_the_odata_source_cannot_read_says_so_through_graphql(
    odata_system: System,
) -> None:
    await check_unsupported_reads_say_so(odata_system.adapter, odata_system)
