"""The SQL spec: which read operations a database serves, and the SELECT behind each.

Each operation of ``sources.rest.spec.CATALOGUE`` that takes keys may be given a SELECT
whose batch of keys is the expanding bind parameter ``:keys`` (``... WHERE c.no IN :keys``),
and a field map from the SELECT's column labels to the record's fields, in the same forms
as the REST spec (``sources.translate``), status translation tables included::

    batch_size: 500
    operations:
      customers:
        select: |
          SELECT k.kdnr AS no, k.name1 AS name, k.waehrung AS currency FROM kunde k
          WHERE k.kdnr IN :keys
        fields: {key: no, name: name, currency: currency}

Keys are only ever bound, never formatted into the text: a statement with any other bind
parameter, or that does not start with SELECT or WITH, is refused when the spec is read.

An optional ``writes:`` section (``sources.sql.write_spec``) gives the statements behind
order-line edits; it needs the ``sales_orders`` and ``order_lines_by_key`` reads (an edit
answers with the line and order as they read), whose version field must come from the
declared version column (or from ``row_hash`` when versions are row hashes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Integer, String, TextClause, bindparam, text

from sources.rest.spec import CATALOGUE, OperationShape
from sources.spec_files import load_spec_file
from sources.sql.browse import SqlBrowse, check_browse
from sources.sql.write_spec import ROW_HASH, SqlWrites
from sources.translate import FieldMap, FieldSource, parse_field_source

LINE_READS = ("order_lines", "order_lines_by_key")
"""The reads that return order lines (their version follows the writes' version rule)."""

KEYS_PARAM = "keys"
"""The name of the one bind parameter a SELECT takes: the batch of keys, expanded."""

_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)


class SqlOperation(BaseModel):
    """One read operation: its SELECT (keys bound as ``:keys``), batch size, key type and
    field map. ``key_type: int`` binds keys as integers (for integer key columns); a key
    that is not an integer then cannot exist and is answered as not found."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    select: str
    batch_size: int | None = Field(default=None, ge=1, le=10_000)
    key_type: Literal["str", "int"] = "str"
    fields: FieldMap

    @field_validator("fields", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "fields" not in value:
            return {"fields": {name: _field(raw) for name, raw in value.items()}}
        return value

    @field_validator("select")
    @classmethod
    def _a_select_with_keys(cls, value: str) -> str:
        body = _LEADING_COMMENTS.sub("", value)
        first = body.split(None, 1)[0].upper() if body.strip() else ""
        if first not in ("SELECT", "WITH"):
            raise ValueError("select must be a SELECT (or WITH ... SELECT) statement")
        params = set(text(value).compile().params)
        if params != {KEYS_PARAM}:
            raise ValueError(
                f"select must take exactly one bind parameter, :{KEYS_PARAM} (the batch of "
                f"keys, as in 'WHERE x IN :{KEYS_PARAM}'); found {sorted(params) or 'none'}"
            )
        return value

    def statement(self) -> TextClause:
        """The SELECT with ``:keys`` bound as an expanding IN parameter of the key type."""
        key_type = Integer() if self.key_type == "int" else String()
        return text(self.select).bindparams(bindparam(KEYS_PARAM, expanding=True, type_=key_type))

    def coded_columns(self) -> frozenset[str]:
        """The columns read through a translation table (their codes are compared as text)."""
        return frozenset(
            source.path
            for source in self.fields.fields.values()
            if source.map is not None and source.path is not None
        )

    def columns(self) -> frozenset[str]:
        """Every column label the field map reads from a row."""
        found: set[str] = set()
        for source in self.fields.fields.values():
            found.update(_columns_of(source))
        return frozenset(found)


def _field(raw: Any) -> FieldSource:
    """A field source, with a translation table's codes read as text (YAML gives the
    numeric codes of a legacy system, ``10: DRAFT``, as integers)."""
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


class SqlSpec(BaseModel):
    """A whole database's SQL description: default batch size and the operations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: int = Field(default=500, ge=1, le=10_000)
    operations: dict[str, SqlOperation]
    writes: SqlWrites | None = None
    browse: dict[str, SqlBrowse] = Field(default_factory=dict)
    """Per kind, the SELECT that lists linkable records a page at a time
    (``sources.sql.browse``)."""

    @model_validator(mode="after")
    def _fits_catalogue(self) -> SqlSpec:
        for name, operation in self.operations.items():
            shape = CATALOGUE.get(name)
            if shape is None or shape.search:
                keyed = sorted(n for n, s in CATALOGUE.items() if not s.search)
                raise ValueError(f"unknown operation {name!r}; known: {keyed}")
            _check_fields(name, operation, shape)
        if self.writes is not None:
            _check_writes(self.writes, self.operations)
        check_browse(self.browse)
        return self

    def hashed_columns(self, operation: str) -> tuple[str, ...]:
        """The columns whose hash is ``operation``'s ``row_hash`` (empty: none computed)."""
        if self.writes is None or operation not in LINE_READS:
            return ()
        return self.writes.hashed_columns

    def batch_size_of(self, operation: SqlOperation) -> int:
        """How many keys one SELECT of ``operation`` binds at most."""
        return operation.batch_size or self.batch_size

    @classmethod
    def from_file(cls, path: Path) -> SqlSpec:
        """Read and validate a spec file; ``ValueError`` names the file and the problem."""
        return load_spec_file(cls, path, "SQL spec")


def _check_fields(name: str, operation: SqlOperation, shape: OperationShape) -> None:
    shape.check_fields(name, operation.fields.fields)
    dotted = sorted(c for c in operation.columns() if "." in c)
    if dotted:
        raise ValueError(f"{name}: a column label has no dots (found {dotted}); use AS")


def _check_writes(writes: SqlWrites, operations: Mapping[str, SqlOperation]) -> None:
    for needed in ("sales_orders", "order_lines_by_key"):
        if needed not in operations:
            raise ValueError(f"writes need the {needed} read (an edit answers with it)")
    wanted = writes.version_column or ROW_HASH
    for name in LINE_READS:
        operation = operations.get(name)
        if operation is None:
            continue
        source = operation.fields.fields.get("version")
        if source is None or source.path != wanted:
            raise ValueError(
                f"{name}: with writes, version must be read from {wanted!r} "
                f"(the writes' version {'column' if writes.version_column else 'row hash'})"
            )
