"""The link file format as an Excel workbook (``.xlsx``): the first sheet holds what the CSV
link file holds (:mod:`linkmap.bulk.csv_format`), one cell per CSV cell, and a row's line
is its row number as Excel shows it.

Reading (python-calamine) takes cells as Excel stores them: text as written, a whole
number as its digits (``10023``, never ``10023.0``); a number with decimals, a date or a
boolean is not a key and makes the row invalid (format the column as text). Writing
(openpyxl, write-only: one row in memory at a time) stores every key as text, so keys
with leading zeros survive a round trip through Excel.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO, Final

from openpyxl import Workbook
from python_calamine import CalamineError, CalamineWorkbook

from .csv_format import KIND_COLUMN, LinkFileError, check_header, row_of_cells
from .rows import ImportRow, RowProblem

XLSX_MAGIC: Final = b"PK\x03\x04"
"""The first bytes of an ``.xlsx`` file (a zip archive)."""

SHEET_TITLE: Final = "links"
"""The title of the sheet :class:`XlsxLinkWriter` writes."""


def looks_like_xlsx(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a zip archive, as an ``.xlsx`` is."""
    return head.startswith(XLSX_MAGIC)


def _cell_text(value: Any) -> str | None:
    """The cell as key text, or None if it holds something no key is."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def read_links_xlsx(stream: BinaryIO, systems: Sequence[str]) -> Iterator[ImportRow | RowProblem]:
    """Yield each entity row of the first sheet of the workbook ``stream`` as an
    :class:`ImportRow`, or a :class:`RowProblem`, in sheet order; the same rules as
    :func:`linkmap.bulk.read_links_csv`. Raises :class:`LinkFileError` if the file is not
    a workbook or its header is wrong (nothing is imported from such a file)."""
    try:
        book = CalamineWorkbook.from_filelike(stream)
        if not book.sheet_names:
            raise LinkFileError("the workbook has no sheet")
        rows: Iterable[list[Any]] = book.get_sheet_by_index(0).iter_rows()
    except CalamineError as exc:
        raise LinkFileError(f"not a readable .xlsx workbook: {exc}") from None
    columns: list[str] | None = None
    for index, raw in enumerate(rows):
        line = index + 1
        values = list(raw)
        while values and values[-1] == "":
            values.pop()  # a sheet is as wide as its widest row
        if not values:
            continue
        cells = [_cell_text(value) for value in values]
        if columns is None:
            header = [cell if cell is not None else "" for cell in cells]
            columns = check_header(header, systems)
            continue
        if len(cells) < len(columns):
            cells += [""] * (len(columns) - len(cells))
        bad = next((i for i, cell in enumerate(cells) if cell is None), None)
        if bad is not None:
            column = columns[bad] if bad < len(columns) else f"column {bad + 1}"
            yield RowProblem(
                line,
                f"{column}: {values[bad]!r} is not a key (a number with decimals, a date or "
                "a boolean); format the column as text",
            )
            continue
        yield row_of_cells(line, [cell or "" for cell in cells], columns)
    if columns is None:
        raise LinkFileError(
            f"the sheet is empty; expected a header like {KIND_COLUMN},{','.join(systems)}"
        )


class XlsxLinkWriter:
    """Writes a link file workbook row by row (write-only: memory stays flat)."""

    def __init__(self) -> None:
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(SHEET_TITLE)

    def row(self, cells: Sequence[str]) -> None:
        """Append one row; every cell is stored as text."""
        self._sheet.append(list(cells))

    def save(self) -> bytes:
        """The finished workbook's bytes (the writer is spent afterwards)."""
        sink = io.BytesIO()
        self._book.save(sink)
        return sink.getvalue()
