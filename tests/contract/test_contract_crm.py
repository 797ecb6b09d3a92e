"""The CRM part of the shared contract (tests/support/contract_crm.py) against every
adapter that serves kind crm with the facts seeded: the REST adapter over the demo CRM and
over a real BottleCRM (tests/bottlecrm/: set up by demo/bottlecrm/setup.sh, seeded through
its REST API). The SQL and file adapters also register kind crm, but no fixture of the
suite holds CRM tables for them, and their reads (sources/declarative.py) offer no
opportunities or tasks: they are not run here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bottlecrm.facts import seed_facts
from tests.bottlecrm.server import SPEC, BottleCrm, bottlecrm_adapter, gateway_system
from tests.support.contract_crm import (
    CRM_CHECK_READS,
    CRM_CHECKS,
    DEMO_SPEC,
    CrmSeeded,
    CrmSystem,
    check_account_fields_through_graphql,
    check_unsupported_crm_reads_say_so,
    demo_crm_adapter,
    demo_crm_app,
    demo_gateway_system,
)
from tests.support.servers import ServerThread

CRMS = ("demo-crm", "demo-crm-basic", "bottlecrm", "bottlecrm-paged")
"""``demo-crm-basic``: the demo CRM read with a spec that maps no opportunities or tasks
(it declares so); ``bottlecrm-paged``: BottleCRM read in pages of 2 records, so every
read walks the wrapped, limit/offset-paged lists over several pages."""


def _spec_variant(spec: Path, folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of ``spec`` in ``folder`` with ``change`` applied to its parsed YAML."""
    raw = yaml.safe_load(spec.read_text(encoding="utf-8"))
    change(raw)
    path = folder / spec.name
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _without_deals_and_tasks(raw: dict[str, Any]) -> None:
    del raw["operations"]["opportunities"], raw["operations"]["tasks"]


def _in_pages_of_two(raw: dict[str, Any]) -> None:
    for operation in raw["operations"].values():
        operation["pagination"]["page_size"] = 2


@pytest.fixture(scope="session")
def bottlecrm_facts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BottleCrm, CrmSeeded]]:
    """A BottleCRM (its own database cloned from the template) holding the facts."""
    server = BottleCrm(tmp_path_factory.mktemp("contract-bottlecrm"))
    try:
        server.start()
        yield server, seed_facts(server, date.today())
    finally:
        server.stop()


@pytest.fixture(params=CRMS)
async def crm_system(request: pytest.FixtureRequest) -> AsyncIterator[CrmSystem]:
    """One CRM adapter over its system seeded with the facts."""
    tmp_path: Path = request.getfixturevalue("tmp_path")
    demo: ServerThread | None = None
    if request.param.startswith("demo-crm"):
        spec = DEMO_SPEC
        unsupported: frozenset[str] = frozenset()
        if request.param == "demo-crm-basic":
            spec = _spec_variant(DEMO_SPEC, tmp_path, _without_deals_and_tasks)
            unsupported = frozenset({"opportunities", "tasks"})
        adapter, seeded = demo_crm_adapter(date.today(), spec)
        app, _ = demo_crm_app(date.today())
        demo = ServerThread(app)
        demo.start()
        demo_url = demo.url
        made = CrmSystem(
            name="demo-crm",
            adapter=adapter,
            seeded=seeded,
            unsupported_reads=unsupported,
            gateway_system=lambda: demo_gateway_system(demo_url, spec),
        )
    else:
        server, seeded = request.getfixturevalue("bottlecrm_facts")
        spec = SPEC
        if request.param == "bottlecrm-paged":
            spec = _spec_variant(SPEC, tmp_path, _in_pages_of_two)
        made = CrmSystem(
            name="bottlecrm",
            adapter=bottlecrm_adapter(server, spec=spec),
            seeded=seeded,
            gateway_system=lambda: {**gateway_system(server.url), "spec": str(spec)},
        )
    yield made
    await made.adapter.aclose()
    if demo is not None:
        demo.stop()


@pytest.mark.parametrize("check", list(CRM_CHECKS))
async def test_crm_contract(crm_system: CrmSystem, check: str) -> None:
    lacking = CRM_CHECK_READS.get(check, frozenset()) & crm_system.unsupported_reads
    if lacking:
        pytest.skip(f"{crm_system.name} declares it cannot read {sorted(lacking)}")
    await CRM_CHECKS[check](crm_system)


async def test_what_a_crm_cannot_read_it_declares(crm_system: CrmSystem) -> None:
    await check_unsupported_crm_reads_say_so(crm_system)


async def test_an_account_through_graphql(crm_system: CrmSystem) -> None:
    await check_account_fields_through_graphql(crm_system)
