"""The link file (CSV) as a user writes it: header, encodings, per-line problems."""

from __future__ import annotations

import io

import pytest

from linkmap import Entity, InvalidInput
from linkmap.bulk import (
    ImportRow,
    LinkFileError,
    RowProblem,
    entity_cells,
    header_cells,
    read_links_csv,
)

SYSTEMS = ["erp", "crm", "timesheet"]


def read(data: bytes | str, systems: list[str] = SYSTEMS) -> list[ImportRow | RowProblem]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(read_links_csv(io.BytesIO(raw), systems))


def test_rows_with_their_line_numbers_and_several_keys_per_cell() -> None:
    rows = read(
        "kind,erp,crm,timesheet\r\n"
        "customer,10023,A-1043,ACME\r\n"
        "\r\n"
        'project,P-1|P-2,,"T,1"\r\n'
        'order,"SO-\n9",OPP-1,\n'
        "supplier,S-7,,\n"
    )
    assert rows == [
        ImportRow(2, "customer", {"erp": ("10023",), "crm": ("A-1043",), "timesheet": ("ACME",)}),
        ImportRow(4, "project", {"erp": ("P-1", "P-2"), "timesheet": ("T,1",)}),
        RowProblem(5, "erp: key 'SO-\\n9' holds a control character"),
        ImportRow(7, "supplier", {"erp": ("S-7",)}),
    ]


def test_columns_in_any_order_and_not_every_system() -> None:
    assert read("crm,kind\nA,customer\n") == [ImportRow(2, "customer", {"crm": ("A",)})]


def test_a_utf8_bom_is_accepted() -> None:
    data = "\ufeffkind,erp,crm\ncustomer,Müller-1,\n".encode()
    assert read(data) == [ImportRow(2, "customer", {"erp": ("Müller-1",)})]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_refused_clearly(encoding: str) -> None:
    data = "kind,erp\ncustomer,1\n".encode(encoding)  # -le/-be: no BOM, only NUL bytes
    with pytest.raises(LinkFileError, match=r"UTF-(16|32)-encoded.*save it as UTF-8"):
        read(data)


def test_latin1_is_refused_with_its_line() -> None:
    data = "kind,erp\ncustomer,1\ncustomer,Müller\n".encode("latin-1")
    with pytest.raises(LinkFileError, match=r"^line 3: not valid UTF-8 \(byte 0xfc") as info:
        read(data)
    assert info.value.line == 3


def test_an_unknown_system_in_the_header_is_refused_with_the_valid_names() -> None:
    with pytest.raises(LinkFileError) as info:
        read("kind,erp,CRM,ts\ncustomer,1,2,3\n")
    message = str(info.value)
    assert "unknown system 'CRM' in the header; configured systems: erp, crm, timesheet" in message
    assert "unknown system 'ts'" in message and message.startswith("line 1: ")


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("erp,crm", "needs exactly one 'kind' column"),
        ("kind,erp,kind", "needs exactly one 'kind' column"),
        ("kind,erp,erp", "column 'erp' appears twice"),
        ("", "needs exactly one 'kind' column"),
    ],
)
def test_bad_headers(header: str, why: str) -> None:
    with pytest.raises(LinkFileError, match=why):
        read(header + "\ncustomer,1\n")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(LinkFileError, match="empty; expected a header like kind,erp,crm"):
        read(b"")


def test_bad_rows_are_reported_per_line_and_reading_goes_on() -> None:
    long = "9" * 256
    rows = read(
        "kind,erp,crm\n"
        "custmer,1,\n"
        f"customer,{long},\n"
        "customer,a\x00b,\n"
        "customer,1,2,3\n"
        "customer,,\n"
        "customer,1||2,\n"
        "customer,1|,\n"
        ",1,\n"
        "customer,ok,\n"
    )
    assert rows == [
        RowProblem(2, "unknown kind 'custmer'; expected one of customer, supplier, project, order"),
        RowProblem(3, f"erp: key is longer than 255 characters: {long[:40]!r}..."),
        RowProblem(4, "erp: key 'a\\x00b' holds a control character"),
        RowProblem(5, "4 cells, but the header has 3"),
        RowProblem(6, "no key: a row needs a key in at least one system"),
        RowProblem(7, "erp: an empty key (a stray '|')"),
        RowProblem(8, "erp: an empty key (a stray '|')"),
        RowProblem(9, "unknown kind ''; expected one of customer, supplier, project, order"),
        ImportRow(10, "customer", {"erp": ("ok",)}),
    ]


def test_broken_quoting_stops_the_file_with_its_line() -> None:
    with pytest.raises(LinkFileError, match=r"^line 3: not valid CSV"):
        read('kind,erp\ncustomer,1\ncustomer,"2"x\n')


def test_the_file_is_read_as_the_rows_are_consumed() -> None:
    body = b"".join(b"customer,%d\n" % i for i in range(100_000))
    stream = io.BytesIO(b"kind,erp\n" + body)
    rows = read_links_csv(stream, SYSTEMS)
    assert next(rows) == ImportRow(2, "customer", {"erp": ("0",)})
    assert stream.tell() < 100  # one line read, not the file


def test_an_entity_as_a_row_and_back() -> None:
    entity = Entity(7, "customer", {"crm": ("A",), "erp": ("1", "2"), "other": ("x",)})
    assert header_cells(SYSTEMS) == ["kind", "erp", "crm", "timesheet"]
    assert entity_cells(entity, SYSTEMS) == ["customer", "1|2", "A", ""]
    with pytest.raises(InvalidInput, match=r"key erp:'a\|b' holds '\|'"):
        entity_cells(Entity(8, "customer", {"erp": ("a|b",)}), SYSTEMS)
