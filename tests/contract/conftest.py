"""Every adapter under the contract, seeded with the same business facts
(tests/support/contract.py): the REST adapter over the demo ERP, and the Tryton adapter
over a real trytond. A new adapter adds a branch to ``system`` (and its facts fixture)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support import contract_demo, contract_tryton
from tests.support.contract import System
from tests.support.contract_demo import DemoFacts
from tests.support.contract_tryton import FactsTryton
from tests.support.tryton import PASSWORD_ENV

ADAPTERS = ("demo-rest", "tryton")


@pytest.fixture(scope="session")
def facts_tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FactsTryton]:
    """trytond over a private copy of the seed holding the contract's facts."""
    server = FactsTryton(tmp_path_factory.mktemp("contract-tryton"))
    server.start()
    os.environ[PASSWORD_ENV] = server.password
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo_facts() -> Iterator[DemoFacts]:
    """The demo ERP serving the contract's facts (in-process; on loopback once a gateway
    needs it)."""
    facts = DemoFacts()
    yield facts
    facts.stop()


@pytest.fixture(params=ADAPTERS)
async def system(request: pytest.FixtureRequest) -> AsyncIterator[System]:
    """One adapter over its system seeded with the facts."""
    if request.param == "demo-rest":
        demo: DemoFacts = request.getfixturevalue("demo_facts")
        made = System(
            name="demo-rest",
            adapter=demo.adapter(),
            seeded=demo.seeded,
            make_adapter=demo.adapter,
            is_write=contract_demo.is_write,
            gateway_system=demo.gateway_system,
        )
    else:
        tryton: FactsTryton = request.getfixturevalue("facts_tryton")
        made = System(
            name="tryton",
            adapter=tryton.adapter(),
            seeded=tryton.seeded,
            make_adapter=tryton.adapter,
            is_write=contract_tryton.is_write,
            # Tryton (without sale_discount) takes no line discounts and computes a line's
            # shipping date itself: the adapter refuses both with BAD_INPUT.
            unsupported=frozenset({"line_discount", "delivery_date"}),
            # purchases and project invoices need Tryton modules Keylink does not activate
            unsupported_reads=frozenset({"purchase_orders", "project_invoices"}),
            gateway_system=tryton.gateway_system,
        )
    yield made
    await made.adapter.aclose()
