"""The file spec: which exported files a system's reads come from, and how to read them.

A spec names ``tables`` (one exported file each, or a watched folder of them) and maps
read ``operations`` onto them. A table says where its file is, how it is written (CSV
dialect, encoding, decimal and thousands separators, date format, or the Excel sheet), the
columns it declares with their types, and the column that names each row; an operation
says which table it reads, which column its batch keys are looked up in (by default the
column the field map reads the grouping field from) and its field map onto Keylink's
records (``sources.translate``: paths are column names, translation tables as elsewhere)::

    tables:
      invoices:
        folder: exports            # the newest file matching the pattern is the current one
        pattern: "invoices-*.csv"
        delimiter: ";"
        decimal_separator: ","
        thousands_separator: "."
        date_format: "%d.%m.%Y"
        key: inv_no
        columns: {inv_no: text, cust_no: text, inv_dt: date, gross: decimal, stat: integer}
    operations:
      invoices:
        table: invoices            # keyed by cust_no: the column customer_key is read from
        fields:
          key: inv_no
          customer_key: cust_no
          status: {path: stat, map: {10: DRAFT, 20: OPEN}}
          ...

Several operations may read one table (orders by customer and by number): the file is
then parsed once per version for all of them.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sources.rest.spec import CATALOGUE, OperationShape
from sources.spec_files import load_spec_file
from sources.translate import FieldMap, FieldSource, parse_field_source

ColumnType = Literal["text", "decimal", "integer", "date", "bool"]
"""The types a declared column's values are read as."""

FileFormat = Literal["csv", "xlsx"]

DEFAULT_TRUE = ("true", "yes", "y", "1", "x")
DEFAULT_FALSE = ("false", "no", "n", "0")


class FileTable(BaseModel):
    """One exported file (or a watched folder of them) and how its rows are written.

    Exactly one of ``file`` (a path) and ``folder`` + ``pattern`` (the newest matching
    file is the current export, or the last by name with ``newest_by: name``) is given.
    ``format`` defaults from the file's suffix.
    ``encoding`` ``utf-8`` reads a file with or without a byte-order mark; any other
    codec Python knows may be declared. ``header_row`` is the 1-based record (CSV) or
    sheet row (Excel) holding the column names; rows before it are skipped.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path | None = None
    folder: Path | None = None
    pattern: str | None = None
    format: FileFormat | None = None
    sheet: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal["", ".", ",", " ", "'"] = ""
    date_format: str = "%Y-%m-%d"
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    header_row: int = Field(default=1, ge=1, le=1000)
    newest_by: Literal["modified", "name"] = Field(
        default="modified",
        description="a watched folder's current export: the last modified, or the last by "
        "name (dated names such as orders-2026-12-05.csv)",
    )
    key: str = Field(description="the column naming each row; a row without it is malformed")
    columns: dict[str, ColumnType]

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}") from exc
        return value

    @field_validator("delimiter", "quotechar")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n":
            raise ValueError("must be one character, not a line break")
        return value

    @field_validator("date_format")
    @classmethod
    def _a_date_format(cls, value: str) -> str:
        sample = datetime(2026, 12, 31).strftime(value)
        try:
            datetime.strptime(sample, value)
        except ValueError as exc:
            raise ValueError(f"date_format {value!r} does not read back its own dates") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FileTable:
        if (self.file is None) == (self.folder is None):
            raise ValueError("give either 'file' or 'folder' (with 'pattern'), not both")
        if self.folder is not None and not self.pattern:
            raise ValueError("a watched 'folder' needs a 'pattern' (e.g. 'orders-*.csv')")
        if self.file is not None and self.pattern is not None:
            raise ValueError("'pattern' goes with 'folder', not with 'file'")
        if self.key not in self.columns:
            raise ValueError(f"key column {self.key!r} is not among the declared columns")
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("decimal and thousands separators must differ")
        if self.file_format == "xlsx" and self.sheet is None:
            raise ValueError("an Excel table names its 'sheet'")
        return self

    @property
    def file_format(self) -> FileFormat:
        """``format``, else read from the file name's (or pattern's) suffix."""
        if self.format is not None:
            return self.format
        name = str(self.file if self.file is not None else self.pattern).lower()
        return "xlsx" if name.endswith((".xlsx", ".xlsm")) else "csv"

    @property
    def codec(self) -> str:
        """The codec files are decoded with (UTF-8 accepting a byte-order mark)."""
        name = codecs.lookup(self.encoding).name
        return "utf-8-sig" if name == "utf-8" else name


class FileOperation(BaseModel):
    """One read operation: the table it reads, the column its keys are looked up in, and
    the field map from that table's columns onto the operation's record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    key: str | None = None
    fields: FieldMap

    @field_validator("fields", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "fields" not in value:
            return {"fields": {name: _field(raw) for name, raw in value.items()}}
        return value

    def columns(self) -> frozenset[str]:
        """Every column the field map reads."""
        found: set[str] = set()
        for source in self.fields.fields.values():
            found.update(_columns_of(source))
        return frozenset(found)


def _field(raw: Any) -> FieldSource:
    """A field source, with a translation table's codes read as text (YAML gives an
    export's numeric codes, ``10: DRAFT``, as integers)."""
    if isinstance(raw, Mapping) and isinstance(raw.get("map"), Mapping):
        raw = {**raw, "map": {str(code): state for code, state in raw["map"].items()}}
    return parse_field_source(raw)


def _columns_of(source: FieldSource) -> set[str]:
    found = {name for name in (source.path, source.amount) if name is not None}
    if isinstance(source.currency, str):
        found.add(source.currency)
    elif isinstance(source.currency, FieldSource):
        found.update(_columns_of(source.currency))
    return found


class FileSpec(BaseModel):
    """A whole system's file description: its tables and the operations reading them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tables: dict[str, FileTable]
    operations: dict[str, FileOperation]

    @model_validator(mode="after")
    def _fits(self) -> FileSpec:
        for name, operation in self.operations.items():
            shape = CATALOGUE.get(name)
            if shape is None or shape.search:
                keyed = sorted(n for n, s in CATALOGUE.items() if not s.search)
                raise ValueError(f"unknown operation {name!r}; known: {keyed}")
            table = self.tables.get(operation.table)
            if table is None:
                raise ValueError(f"{name}: no table {operation.table!r} in 'tables'")
            _check_fields(name, operation, shape)
            undeclared = sorted((operation.columns() | {self.key_of(name)}) - set(table.columns))
            if undeclared:
                raise ValueError(
                    f"{name}: columns {undeclared} are not declared in table {operation.table!r}"
                )
        return self

    def key_of(self, name: str) -> str:
        """The column operation ``name`` looks its keys up in: its ``key``, else the column
        its field map reads the record's grouping field (``key``, ``customer_key``...) from."""
        operation = self.operations[name]
        if operation.key is not None:
            return operation.key
        source = operation.fields.fields.get(CATALOGUE[name].group_by)
        if source is None or source.path is None:
            raise ValueError(f"{name}: give 'key' (the column its keys are looked up in)")
        return source.path

    @classmethod
    def from_file(cls, path: Path) -> FileSpec:
        """Read and validate a spec file; ``ValueError`` names the file and the problem."""
        return load_spec_file(cls, path, "file spec")


def _check_fields(name: str, operation: FileOperation, shape: OperationShape) -> None:
    shape.check_fields(name, operation.fields.fields)
    dotted = sorted(c for c in operation.columns() if "." in c)
    if dotted:
        raise ValueError(f"{name}: a column name has no dots here (found {dotted})")
