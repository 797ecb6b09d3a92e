"""Rows keyed by a name (``match_by_name``, for the importer): found through the system's
own records read live, refused with a reason when no record or several have that name."""

from __future__ import annotations

from pathlib import Path

from resolvers.onboarding.names import match_by_name, match_names
from sources.records import Candidate
from tests.onboarding.generate import generate
from tests.onboarding.upstreams import ERP_SPEC, serve


def test_names_as_people_write_them() -> None:
    records = [
        Candidate("10001", "Fjellheim Elektro AS"),
        Candidate("10002", "Sørvik Bygg ASA"),
        Candidate("10003", "Consulting AS"),
        Candidate("10004", "Consulting AB"),
    ]
    found = match_names(
        ["fjellheim elektro", "Sorvik Bygg", "Consulting", "Nowhere Shipping Ltd"], records
    )
    assert found["fjellheim elektro"].key == "10001"
    assert found["Sorvik Bygg"].key == "10002"
    assert found["Consulting"].key is None
    assert set(found["Consulting"].alternatives) == {"10003", "10004"}
    assert found["Consulting"].reason == "several records have this name"
    assert found["Nowhere Shipping Ltd"].key is None
    assert found["Nowhere Shipping Ltd"].reason == "no record has this name"


async def test_names_found_in_a_live_system(tmp_path: Path) -> None:
    data = generate(pairs=200, decoys=0, seed=4)
    erp = await serve(tmp_path, "erp", "erp", "customer", ERP_SPEC, data.erp)
    source = erp.source()
    try:
        wanted = [c for c in data.erp if c.name.split()[-1] in ("AS", "AB", "GmbH")][:20]
        found = await match_by_name(source, "customer", [c.name.upper() for c in wanted])
    finally:
        await source.aclose()
    assert {found[c.name.upper()].key for c in wanted} == {c.key for c in wanted}
