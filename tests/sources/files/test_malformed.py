"""A malformed row of an export (a bad number, a bad date, the wrong number of fields, no
key, a byte its encoding cannot read, a bad cell in a workbook) is named with its file,
line and column in the answer's notes and in one log line per file version; it is left
out and every other row is served."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from demo.files.xlsx import write_xlsx
from sources.records import EntryQuery
from tests.sources.files.conftest import file_source, notes_of, write_csv

HEADER = [
    "entry_id",
    "date",
    "client_id",
    "project_id",
    "employee",
    "hours",
    "billable",
    "invoiced",
    "description",
]


def _good(n: int) -> list[str]:
    return [f"E-{n}", "02.12.2026", "TS-C-1", "TS-P-10", "Kari", "1,5", "ja", "nei", "ok"]


def _broken_export(exports: Path) -> Path:
    rows = [
        HEADER,
        _good(1),  # line 2
        ["E-2", "02.12.2026", "TS-C-1", "TS-P-10", "Kari", "7,x", "ja", "nei", "bad hours"],
        ["E-3", "32.12.2026", "TS-C-1", "TS-P-10", "Kari", "2", "ja", "nei", "bad date"],
        ["E-4", "02.12.2026", "TS-C-1", "TS-P-10", "Kari", "2"],  # line 5: too few fields
        ["", "02.12.2026", "TS-C-1", "TS-P-10", "Kari", "2", "ja", "nei", "no key"],
        _good(7),  # line 7
        ["E-8", "02.12.2026", "TS-C-1", "TS-P-10", "Kari", "2", "kanskje", "nei", "maybe"],
        _good(9),  # line 9
    ]
    folder = exports / "timesheet" / "entries"
    return write_csv(folder / "entries-2026-12-06.csv", rows, bom=True)


async def test_malformed_rows_are_named_and_the_others_served(exports: Path) -> None:
    _broken_export(exports)
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    found = await timesheet.time_entries(["TS-C-1"], EntryQuery())
    assert [e.key for e in found["TS-C-1"]] == ["E-1", "E-7", "E-9"]
    assert all(e.hours == Decimal("1.5") for e in found["TS-C-1"])
    notes = "\n".join(notes_of(found))
    name = "entries-2026-12-06.csv"
    assert f"{name}, line 3, column 6 (hours): not a number;" in notes
    assert f"{name}, line 4, column 2 (date): not a date in the format %d.%m.%Y;" in notes
    assert f"{name}, line 5, column 7: 6 fields where the header has 9;" in notes
    assert f"{name}, line 6, column 1 (entry_id): the key is missing;" in notes
    assert f"{name}, line 8, column 7 (billable): not a yes/no value;" in notes
    assert str(exports) not in notes  # the file's name only, never where it lies
    # nor the values: a row may be another customer's (the server's log has them)
    assert "7,x" not in notes and "kanskje" not in notes
    # the other reads of the same file say the same
    by_project = await timesheet.project_time_entries(["TS-P-10"], EntryQuery())
    assert len(by_project["TS-P-10"]) == 3
    assert notes_of(by_project) == notes_of(found)


async def test_a_byte_the_encoding_cannot_read_spoils_only_its_row(exports: Path) -> None:
    path = _broken_export(exports)
    path.write_bytes(path.read_bytes() + b"E-10;02.12.2026;TS-C-1;TS-P-10;B\xf8lgen;1;ja;nei;x\r\n")
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    found = await timesheet.time_entries(["TS-C-1"], EntryQuery())
    assert [e.key for e in found["TS-C-1"]] == ["E-1", "E-7", "E-9"]
    assert any("line 10, column 5 (employee): not valid utf-8 text" in n for n in notes_of(found))


async def test_a_bad_cell_in_a_workbook_names_its_row_and_column_letter(exports: Path) -> None:
    header = ["Customer", "Name", "Currency", "Credit limit", "Country", "VAT id", "Payment days"]
    write_xlsx(
        exports / "erp.xlsx",
        {
            "Customers": [
                header,
                ["K-1", "One", "EUR", Decimal(10), "AT", None, 30],
                ["K-2", "Two", "EUR", "ten thousand", "AT", None, 30],
                ["K-3", "Three", "EUR", None, "AT", None, Decimal("14.5")],
                ["K-4", "Four", "EUR", None, "AT", None, date(2026, 1, 1)],
                ["K-5", "Five", "CHF", Decimal("1234.5"), "CH", None, 10],
            ]
        },
    )
    erp = file_source(exports / "erp.yaml")
    found = await erp.customers(["K-1", "K-2", "K-3", "K-4", "K-5"])
    assert set(found) == {"K-1", "K-5"}
    notes = notes_of(found)
    assert "erp.xlsx, line 3, column D (Credit limit): not a number;" in notes[0]
    assert "erp.xlsx, line 4, column G (Payment days): not a whole number" in notes[1]
    assert "erp.xlsx, line 5, column G (Payment days): not a number" in notes[2]


async def test_malformed_rows_are_logged_once_per_file_version(
    exports: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _broken_export(exports)
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    with caplog.at_level(logging.WARNING, logger="sources.files"):
        for _ in range(3):
            await timesheet.time_entries(["TS-C-1"], EntryQuery())
            await timesheet.project_time_entries(["TS-P-10"], EntryQuery())
        logged = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
        assert len(logged) == 1
        assert "5 malformed row(s) left out, 3 read" in logged[0]
        assert (
            "line 3, column 6 (hours): not a number; the row is left out (value '7,x')"
            in (logged[0])
        )
        path.write_bytes(path.read_bytes() + b"E-10;1.1.2026;TS-C-1;;K;1;ja;nei;x\r\n")
        await timesheet.time_entries(["TS-C-1"], EntryQuery())
        logged = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
        assert len(logged) == 2 and "4 read" in logged[1]


async def test_a_clean_export_has_no_notes(exports: Path) -> None:
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    found = await timesheet.time_entries(["TS-C-1"], EntryQuery())
    assert found["TS-C-1"] and notes_of(found) == ()


async def test_a_repeated_key_serves_the_first_row_and_says_so(exports: Path) -> None:
    rows = [
        ["client_id", "client_name"],
        ["TS-C-1", "Nordlys AS"],
        ["TS-C-2", "Fjordtech GmbH"],
        ["TS-C-1", "Nordlys (old name)"],
    ]
    write_csv(exports / "timesheet" / "clients.csv", rows, bom=True)
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    found = await timesheet.clients(["TS-C-1", "TS-C-2"])
    assert found["TS-C-1"].name == "Nordlys AS" and found["TS-C-2"].name == "Fjordtech GmbH"
    assert notes_of(found) == (
        "clients.csv, line 4: clients: its client_id is already on an earlier row; "
        "the row is left out",
    )
