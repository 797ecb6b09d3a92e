"""Raw rows out of an exported file, one at a time: CSV streamed from disk, Excel sheets
row by row.

``read_rows`` yields the header once and then each data row with where it starts (the
CSV line or the sheet row, 1-based) and its cells: text for CSV, Excel's own values
(numbers, dates, booleans, text; ``""`` for an empty cell) for a workbook. Blank rows are
skipped. A file that cannot be opened or is not of its declared format raises
``FileUnreadable``; a single bad row never does (its cells are read as they are).
``header_row`` counts non-blank records in a CSV file and sheet rows in a workbook.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sources.files.spec import FileTable

csv.field_size_limit(16 * 1024 * 1024)


class FileUnreadable(Exception):
    """The file cannot be read at all: missing, not a CSV or workbook, no such sheet, or
    its header lacks a declared column."""


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as the file has it: where it starts and its cells."""

    line: int
    cells: list[Any]


def read_rows(path: Path, table: FileTable) -> Iterator[RawRow]:
    """The header row, then every non-blank data row of ``path`` as ``table`` declares
    it is written."""
    if table.file_format == "xlsx":
        return _xlsx_rows(path, table)
    return _csv_rows(path, table)


def _csv_rows(path: Path, table: FileTable) -> Iterator[RawRow]:
    try:
        # surrogateescape: a byte the encoding cannot read stays in its cell, so that one
        # cell is reported (``sources.files.table``), not the whole file
        handle = path.open(encoding=table.codec, errors="surrogateescape", newline="")
    except OSError as exc:
        raise FileUnreadable(f"cannot open {path.name}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle, delimiter=table.delimiter, quotechar=table.quotechar)
        record, start = 0, 1
        try:
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not cells or all(not c.strip() for c in cells):
                    continue
                record += 1
                if record < table.header_row:
                    continue
                yield RawRow(line, cells)
        except csv.Error as exc:
            raise FileUnreadable(f"{path.name}, line {reader.line_num}: {exc}") from None


def _xlsx_rows(path: Path, table: FileTable) -> Iterator[RawRow]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except OSError as exc:
        raise FileUnreadable(f"cannot open {path.name}: {exc.strerror}") from None
    except (CalamineError, ValueError) as exc:
        raise FileUnreadable(f"{path.name} is not a readable workbook ({exc})") from None
    try:
        assert table.sheet is not None
        if table.sheet not in workbook.sheet_names:
            raise FileUnreadable(
                f"{path.name} has no sheet {table.sheet!r} (it has {workbook.sheet_names})"
            )
        try:
            sheet = workbook.get_sheet_by_name(table.sheet)
        except (CalamineError, ValueError) as exc:
            raise FileUnreadable(f"{path.name}, sheet {table.sheet}: {exc}") from None
        first_row, first_column = sheet.start or (0, 0)
        padding = [""] * first_column  # cells keep their sheet position (column letters)
        for offset, cells in enumerate(sheet.iter_rows()):
            row = first_row + 1 + offset
            if row < table.header_row or all(_blank(c) for c in cells):
                continue
            yield RawRow(row, padding + list(cells))
    finally:
        workbook.close()


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
