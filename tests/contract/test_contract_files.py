"""The shared contract (tests/support/contract.py) for the file source, over the same
business facts as the other adapters written as CSV exports and as an Excel workbook
(tests/support/contract_files.py).

The file source only reads: the checks that edit order lines are skipped with that reason,
and the one that feeds an adapter garbage through its HTTP transport does not apply (a
file source has none; malformed rows are held in tests/sources/files/test_malformed.py).
Every other check, present and future, runs on both file types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.support import contract_files
from tests.support.contract import CHECKS, NotOffered, Seeded, System
from tests.support.contract_gateway import check_unsupported_reads_say_so

READ_ONLY = "the file source only reads exported files: it declares no writes"
DOES_NOT_APPLY = {
    "locked_order": READ_ONLY,
    "missing_record": READ_ONLY,
    "version_conflict": READ_ONLY,
    "declared_gaps": READ_ONLY,
    "write_not_retried": READ_ONLY,
    "garbage_upstream": "a file source has no HTTP transport to feed garbage through "
    "(malformed rows: tests/sources/files/test_malformed.py)",
}
FILE_KINDS = ("csv", "xlsx")


@pytest.fixture(scope="session")
def contract_files_today() -> date:
    """The day the facts are made for (one per session)."""
    return date.today()


@pytest.fixture(scope="session", params=FILE_KINDS)
def file_facts(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    contract_files_today: date,
) -> tuple[str, Path, Seeded]:
    """The facts written as files of each kind in turn: (kind, spec, what was made)."""
    kind: contract_files.FileKind = request.param
    folder = tmp_path_factory.mktemp(f"contract-files-{kind}")
    spec, seeded = contract_files.write_facts(folder, contract_files_today, kind)
    return kind, spec, seeded


@pytest.fixture
async def files_system(file_facts: tuple[str, Path, Seeded]) -> AsyncIterator[System]:
    """The file source over the facts in one file kind."""
    kind, spec, seeded = file_facts

    def make_adapter(_wrap: Any = None) -> Any:
        return contract_files.file_adapter(spec, f"files-{kind}")

    made = System(
        name=f"files-{kind}",
        adapter=make_adapter(),
        seeded=seeded,
        make_adapter=make_adapter,
        is_write=contract_files.is_write,
        unsupported_reads=contract_files.UNSUPPORTED_READS,
        unsupported_figures=contract_files.UNSUPPORTED_FIGURES,
        gateway_system=lambda: contract_files.gateway_system(spec),
    )
    yield made
    await made.adapter.aclose()


def _checks() -> Iterator[Any]:
    for name in CHECKS:
        if name in DOES_NOT_APPLY:
            yield pytest.param(name, marks=pytest.mark.skip(reason=DOES_NOT_APPLY[name]))
        else:
            yield name


@pytest.mark.parametrize("check", list(_checks()))
async def test_contract_files(files_system: System, check: str) -> None:
    try:
        await CHECKS[check](files_system.adapter, files_system)
    except NotOffered as reason:
        pytest.skip(str(reason))


async def test_what_the_file_source_cannot_read_says_so_through_graphql(
    files_system: System,
) -> None:
    await check_unsupported_reads_say_so(files_system.adapter, files_system)
