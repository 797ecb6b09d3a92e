"""Every adapter under the contract, seeded with the same business facts
(tests/support/contract.py): the REST adapter over the demo ERP, and the Tryton adapter
over a real trytond. A new adapter adds a branch to ``system`` (and its facts fixture)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.support import contract_demo, contract_tryton
from tests.support.contract import System, TransportWrapper
from tests.support.contract_demo import DemoFacts
from tests.support.contract_tryton import FactsTryton
from tests.support.tryton import PASSWORD_ENV, SALES_DESK_MODULES

ADAPTERS = ("demo-rest", "tryton", "tryton-base")
"""``tryton-base``: the same Tryton read as if it had none of the sales desk's optional
modules (``ignore_modules``), so what a Tryton without them cannot do is held to saying so."""


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
            unsupported_reads=contract_demo.UNSUPPORTED_READS,
            unsupported_figures=contract_demo.UNSUPPORTED_FIGURES,
            gateway_system=demo.gateway_system,
        )
    elif request.param == "tryton":
        tryton: FactsTryton = request.getfixturevalue("facts_tryton")
        # with sale_discount, purchase, account_credit_limit and project_invoice active
        # Tryton declares no gap; a line's delivery date is its sale's shipping date
        # (sources/tryton/writes.py); hours are read from it as a timesheet as well
        made = System(
            name="tryton",
            adapter=tryton.adapter(),
            seeded=tryton.seeded,
            make_adapter=tryton.adapter,
            is_write=contract_tryton.is_write,
            gateway_system=tryton.gateway_system,
        )
    else:
        base: FactsTryton = request.getfixturevalue("facts_tryton")

        def without(wrap: TransportWrapper | None = None) -> Any:
            return base.adapter(wrap, SALES_DESK_MODULES)

        made = System(
            name="tryton",
            adapter=without(),
            seeded=base.seeded,
            make_adapter=without,
            is_write=contract_tryton.is_write,
            # without sale_discount Tryton takes no line discounts: refused with BAD_INPUT
            unsupported=frozenset({"line_discount"}),
            # purchases and project invoices need Tryton modules it has not activated
            unsupported_reads=frozenset(
                {"purchase_orders", "purchase_order_lines", "project_invoices"}
            ),
            # without account_credit_limit Tryton keeps no credit figures (said in a note);
            # without project_invoice no billing flags (every hour unbilled, said so)
            unsupported_figures=frozenset({"credit_limit", "credit_used"}),
            gateway_system=lambda: base.gateway_system(SALES_DESK_MODULES),
        )
    yield made
    await made.adapter.aclose()
