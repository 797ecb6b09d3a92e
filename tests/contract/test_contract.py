"""The shared contract (../shared/FIGURES.md): every check of tests/support/contract.py on
every adapter of conftest.ADAPTERS, each over its own system seeded with the same business
facts. An adapter is done when it passes all of them."""

from __future__ import annotations

import pytest

from tests.support.contract import CHECKS, System


@pytest.mark.parametrize("check", list(CHECKS))
async def test_contract(system: System, check: str) -> None:
    await CHECKS[check](system.adapter, system)
