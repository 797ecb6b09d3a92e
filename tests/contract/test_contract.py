"""The shared contract (../shared/FIGURES.md): every check of tests/support/contract.py on
every adapter of conftest.ADAPTERS, each over its own system seeded with the same business
facts. An adapter is done when it passes all of them; a check of something optional (a
pushdown) that the adapter does not offer is skipped with the reason, per adapter."""

from __future__ import annotations

import pytest

from tests.support.contract import CHECKS, NotOffered, System
from tests.support.contract_gateway import check_unsupported_reads_say_so


@pytest.mark.parametrize("check", list(CHECKS))
async def test_contract(system: System, check: str) -> None:
    try:
        await CHECKS[check](system.adapter, system)
    except NotOffered as reason:
        pytest.skip(str(reason))


async def test_what_the_adapter_cannot_read_says_so_through_graphql(system: System) -> None:
    await check_unsupported_reads_say_so(system.adapter, system)
