"""Row writers for CSV, JSONL and Parquet, a page at a time into any byte sink.

Each writer gets the column names and a sink with a ``write(bytes)`` method (an open
binary file, or :class:`ChunkSink` for an HTTP stream), writes one page of rows per
:meth:`RowWriter.write_page` call straight through, and keeps no rows: memory stays flat
however many pages follow.

- **CSV** (stdlib ``csv``): UTF-8, a header row, ``\\r\\n`` line ends; an empty cell is null.
  A text cell a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return) is written with a leading ``'`` (OWASP, CSV
  injection); numbers, negative amounts included, are written as they are.
- **JSONL** (orjson): one JSON object per row, keys in column order, lists kept as lists.
- **Parquet** (pyarrow ``ParquetWriter``): one row group per page. Column types come from
  the first page: all booleans -> ``bool``, all integers -> ``int64``, numbers -> ``double``,
  anything else (text, lists, mixed, or only nulls) -> ``string``. Money amounts arrive
  from the gateway as exact decimal strings and stay **strings** (no float, no fixed
  scale: currencies differ in their decimals); cast them in the reader, e.g. duckdb
  ``CAST(amount AS DECIMAL(18, 2))``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from gateway.export.errors import ExportError
from gateway.export.flatten import Cell, text

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "parquet")

MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl",
    "parquet": "application/vnd.apache.parquet",
}
"""The ``Content-Type`` of each format."""


class ByteSink(Protocol):
    """Where a writer puts its bytes."""

    def write(self, data: bytes, /) -> Any:
        """Append ``data``."""


class RowWriter(Protocol):
    """Writes pages of flat rows (cells in column order) in one format."""

    def write_page(self, rows: Sequence[Sequence[Cell]]) -> None:
        """Write ``rows`` through to the sink."""

    def close(self) -> None:
        """Finish the file (Parquet's footer); the sink itself stays open."""


class ChunkSink:
    """A sink that hands its bytes over in chunks: :meth:`take` returns what was written
    since the last call (for a streamed response). Also what pyarrow needs of a file."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes | memoryview, /) -> int:
        """Append ``data``; returns its length."""
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        """Bytes written so far."""
        return self._position

    def flush(self) -> None:
        """Nothing to flush: :meth:`take` hands the bytes over."""

    def close(self) -> None:
        """Mark closed (the chunks stay takeable)."""
        self.closed = True

    def take(self) -> bytes:
        """The bytes written since the previous call."""
        chunk = b"".join(self._chunks)
        self._chunks.clear()
        return chunk


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP, CSV injection)."""
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralised(cell: str | None) -> str | None:
    """``cell`` as a spreadsheet will show it and never run it: text that starts like a
    formula gets a leading ``'``; numbers (``-12.50``) stay as they are."""
    if cell and cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


class CsvWriter:
    """CSV with a header row; nested cells as text (see :func:`gateway.export.flatten.text`);
    no cell is written that a spreadsheet would run as a formula."""

    def __init__(self, sink: ByteSink, columns: Sequence[str]) -> None:
        self._sink = sink
        self._write_rows([list(columns)])

    def _write_rows(self, rows: Sequence[Sequence[str | None]]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(
            [neutralised(cell) for cell in row] for row in rows
        )
        self._sink.write(buffer.getvalue().encode("utf-8"))

    def write_page(self, rows: Sequence[Sequence[Cell]]) -> None:
        """Write ``rows`` as CSV lines."""
        if rows:
            self._write_rows([[text(cell) for cell in row] for row in rows])

    def close(self) -> None:
        """Nothing left to write."""


class JsonlWriter:
    """One JSON object per line, keys in column order."""

    def __init__(self, sink: ByteSink, columns: Sequence[str]) -> None:
        self._sink = sink
        self._columns = list(columns)

    def write_page(self, rows: Sequence[Sequence[Cell]]) -> None:
        """Write ``rows`` as JSON lines."""
        if rows:
            self._sink.write(
                b"".join(
                    orjson.dumps(dict(zip(self._columns, row, strict=True))) + b"\n" for row in rows
                )
            )

    def close(self) -> None:
        """Nothing left to write."""


class ParquetWriter:
    """Parquet, one row group per page; the schema comes from the first page."""

    def __init__(self, sink: ByteSink, columns: Sequence[str]) -> None:
        self._sink = sink
        self._columns = list(columns)
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None

    def write_page(self, rows: Sequence[Sequence[Cell]]) -> None:
        """Write ``rows`` as one row group."""
        if not rows:
            return
        if self._writer is None:
            self._schema = pa.schema(
                [(name, _infer([row[i] for row in rows])) for i, name in enumerate(self._columns)]
            )
            self._writer = pq.ParquetWriter(self._sink, self._schema)
        assert self._schema is not None
        arrays = [
            _array([row[i] for row in rows], self._schema.field(i))
            for i in range(len(self._columns))
        ]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        """Write the footer (an empty, all-string file when no row came)."""
        if self._writer is None:
            self._schema = pa.schema([(name, pa.string()) for name in self._columns])
            self._writer = pq.ParquetWriter(self._sink, self._schema)
        self._writer.close()


def _infer(values: Sequence[Cell]) -> pa.DataType:
    """The Arrow type of a column from its first page's cells."""
    present = [v for v in values if v is not None]
    if not present:
        return pa.string()
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def _array(values: Sequence[Cell], field: pa.Field) -> pa.Array:
    """The cells of one column as an array of the column's type."""
    if pa.types.is_string(field.type):
        return pa.array([text(v) for v in values], type=pa.string())
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
        raise ExportError(
            f"column {field.name!r} was {field.type} on the first page but later holds "
            "other values; select it so that its type does not change",
            code="BAD_INPUT",
        ) from exc


def open_writer(format: Format, sink: ByteSink, columns: Sequence[str]) -> RowWriter:
    """The writer for ``format`` (one of :data:`FORMATS`)."""
    writers: dict[Format, type[CsvWriter | JsonlWriter | ParquetWriter]] = {
        "csv": CsvWriter,
        "jsonl": JsonlWriter,
        "parquet": ParquetWriter,
    }
    if format not in writers:
        raise ExportError(f"unknown format {format!r}; use csv, jsonl or parquet", "BAD_INPUT")
    return writers[format](sink, columns)
