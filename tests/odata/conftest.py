"""SAP CAP (demo/sap) for the OData adapter's own tests: one server per session holding the
contract's facts (tests/support/contract_odata.py), which tests change only on lines of
orders they make themselves or read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from tests.support.contract import Seeded
from tests.support.contract_odata import CapServer, contract_seed


@pytest.fixture(scope="session")
def cap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CapServer, Seeded]]:
    """SAP CAP serving the facts on loopback, and what was made."""
    tables, seeded = contract_seed(date.today())
    server = CapServer(tmp_path_factory.mktemp("odata"), tables)
    server.start()
    try:
        yield server, seeded
    finally:
        server.stop()
