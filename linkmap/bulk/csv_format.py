"""The link file format shared by ``keylink links import`` and ``keylink links export``.

A CSV file, UTF-8 with or without a byte-order mark, comma-separated, quoted as Excel and
Python's :mod:`csv` do. The header names the column ``kind`` and one column per configured
system, in any order (``kind,erp,crm,timesheet``); each further line is one entity: its
kind (``customer``, ``supplier``, ``project`` or ``order``) and its key in each system, an
empty cell for none. Several keys of one system go in one cell separated by
:data:`SEPARATOR` (``10023|10024``). Blank lines are ignored. Keys are taken exactly as
written (no trimming); a key cannot contain :data:`SEPARATOR` or a control character.

:func:`read_links_csv` streams a file: it holds one line at a time, never the whole file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Final

from linkmap import validate
from linkmap.errors import InvalidInput
from linkmap.models import KEY_MAX, KINDS
from linkmap.records import Entity

from .rows import ImportRow, RowProblem

SEPARATOR: Final = "|"
"""Separates several keys of one system in one cell."""

KIND_COLUMN: Final = "kind"
"""The header of the column holding each row's entity kind."""

NAME_SUFFIX: Final = ":name"
"""A header ``<system>:name`` holds record names in that system instead of keys (e.g. a
spreadsheet kept by hand); the importer's name matcher finds their keys."""

MAX_LINE_BYTES: Final = 1 << 20
"""Longest line accepted (1 MiB): a longer one is not a link file."""

_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f]")
"""The characters :func:`linkmap.validate.has_control_characters` refuses, found in one
regex pass (the import's hot path)."""
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_OTHER_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_SAVE_AS_UTF8: Final = "save it as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)')"


class LinkFileError(InvalidInput):
    """The file as a whole cannot be read as a link file (encoding, header, broken CSV
    quoting, an over-long line); ``line`` is where it went wrong, if known. Nothing is
    imported from such a file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


def _decoded_lines(stream: BinaryIO) -> Iterator[str]:
    """Yield the lines of ``stream`` decoded as UTF-8 (a leading BOM dropped), refusing
    other encodings with a clear error naming the line."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1:
            for bom, name in _OTHER_BOMS:
                if raw.startswith(bom):
                    raise LinkFileError(f"the file is {name}-encoded; {_SAVE_AS_UTF8}")
            if raw.startswith(_UTF8_BOM):
                raw = raw[len(_UTF8_BOM) :]
            elif b"\x00" in raw:
                raise LinkFileError(f"the file looks UTF-16-encoded (NUL bytes); {_SAVE_AS_UTF8}")
        if len(raw) > MAX_LINE_BYTES:
            raise LinkFileError(f"longer than {MAX_LINE_BYTES} bytes", number)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            raise LinkFileError(
                f"not valid UTF-8 (byte 0x{byte:02x} at byte {exc.start + 1}); "
                f"only UTF-8 is accepted: {_SAVE_AS_UTF8}",
                number,
            ) from None


def check_header(header: Sequence[str], systems: Sequence[str]) -> list[str]:
    """Check the header against the configured ``systems`` (``kind`` once, then system
    names or ``<system>:name``); return it as given, or raise :class:`LinkFileError`
    naming the configured systems."""
    names = ", ".join(systems) or "none (the configuration has no systems:)"
    expected = f"expected {KIND_COLUMN!r} and configured systems ({names})"
    problems: list[str] = []
    if header.count(KIND_COLUMN) != 1:
        problems.append(f"the header needs exactly one {KIND_COLUMN!r} column; {expected}")
    seen: set[str] = set()
    for name in header:
        if name == KIND_COLUMN:
            continue
        system = name.removesuffix(NAME_SUFFIX)
        if name in seen:
            problems.append(f"column {name!r} appears twice in the header")
        elif system not in systems:
            problems.append(f"unknown system {system!r} in the header; configured systems: {names}")
        seen.add(name)
    if problems:
        raise LinkFileError("; ".join(problems), 1)
    return list(header)


def row_of_cells(line: int, cells: Sequence[str], columns: Sequence[str]) -> ImportRow | RowProblem:
    """The entity row of the ``cells`` of line ``line`` under the header ``columns`` (as
    checked by :func:`check_header`), or the problem with it; shared by every format."""
    if len(cells) != len(columns):
        return RowProblem(line, f"{len(cells)} cells, but the header has {len(columns)}")
    keys: dict[str, tuple[str, ...]] = {}
    names: dict[str, tuple[str, ...]] = {}
    kind = ""
    for column, cell in zip(columns, cells, strict=True):
        if column == KIND_COLUMN:
            kind = cell
            continue
        if cell == "":
            continue
        if column.endswith(NAME_SUFFIX):
            names[column.removesuffix(NAME_SUFFIX)] = (cell,)
            continue
        values: list[str] = []
        for value in cell.split(SEPARATOR):
            if value == "":
                return RowProblem(line, f"{column}: an empty key (a stray {SEPARATOR!r})")
            if len(value) > KEY_MAX or _CONTROL.search(value):
                try:
                    validate.key(value)  # raises with the link map's own words
                except InvalidInput as exc:
                    return RowProblem(line, f"{column}: {exc}")
            values.append(value)
        keys[column] = tuple(dict.fromkeys(values))
    if kind not in KINDS:
        return RowProblem(line, f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not keys and not names:
        return RowProblem(line, "no key: a row needs a key in at least one system")
    return ImportRow(line, kind, keys, names)


def read_links_csv(stream: BinaryIO, systems: Sequence[str]) -> Iterator[ImportRow | RowProblem]:
    """Yield each entity row of the link file ``stream`` (binary, read line by line) as an
    :class:`ImportRow`, or a :class:`RowProblem` saying why it is malformed, in file order.

    The header must name ``kind`` and only systems among ``systems``. Raises
    :class:`LinkFileError` (possibly after some rows have been yielded) when the file
    cannot be read on: not UTF-8, a bad header, broken quoting, an over-long line.
    """
    reader = csv.reader(_decoded_lines(stream), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise LinkFileError(
                f"the file is empty; expected a header like kind,{','.join(systems)}"
            )
        columns = check_header(header, systems)
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                return
            if all(cell == "" for cell in cells):
                continue  # a blank line, or one of empty cells
            yield row_of_cells(line, cells, columns)
    except csv.Error as exc:
        raise LinkFileError(f"not valid CSV: {exc}", reader.line_num) from None


def header_cells(systems: Sequence[str]) -> list[str]:
    """The header of a link file for ``systems``."""
    return [KIND_COLUMN, *systems]


def entity_cells(entity: Entity, systems: Sequence[str]) -> list[str]:
    """``entity`` as a link file row under :func:`header_cells` of ``systems``. Raises
    :class:`InvalidInput` if one of its keys holds :data:`SEPARATOR` (the file could not
    carry it)."""
    cells = [entity.kind]
    for system in systems:
        keys = entity.keys_in(system)
        for key in keys:
            if SEPARATOR in key:
                raise InvalidInput(
                    f"{entity.kind} {entity.id}: key {system}:{key!r} holds {SEPARATOR!r}, "
                    "which the link file uses between keys"
                )
        cells.append(SEPARATOR.join(keys))
    return cells
