"""The ``writes:`` section of a SQL spec: the statements behind order-line edits.

Each edit runs in one transaction (``sources.sql.writes``): the order is locked and its
state checked against ``editable_states``, the line's version checked, then the edit's
statements run in order; the first writes the line and must touch exactly one row (none:
the version was stale, a ``Conflict``), the others keep the order header in step (totals,
line count, the order's own version). Any failure rolls everything back::

    writes:
      editable_states: [10]                  # the orders' own state codes that allow edits
      version: {column: rev_no}              # or {hash: [qty, unit_price, ...]}
      lock_order: SELECT o.ord_stat AS state FROM ord_hdr o WHERE o.ord_no = :order
      lock_line: SELECT l.ord_no AS order_key FROM ord_line l WHERE l.line_id = :line
      new_line_key: SELECT COALESCE(MAX(l.line_id), 0) + 1 AS line_key FROM ord_line l
      price: SELECT p.price AS unit_price FROM item_price p ... WHERE p.item_no = :product
      add: [INSERT INTO ord_line (...) VALUES (:line, :order, ...), UPDATE ord_hdr ...]
      change: [UPDATE ord_line SET ... WHERE line_id = :line AND rev_no = :expected, ...]
      remove: [DELETE FROM ord_line WHERE line_id = :line AND rev_no = :expected, ...]

Values are only ever bound: each statement may use the bind parameters its place declares
(``PARAMETERS``) and no other; a statement that is not of its place's kind (a SELECT where
a SELECT is read, INSERT/UPDATE/DELETE where data is written) is refused when the spec is
read. The SELECTs are run with ``FOR UPDATE`` added on PostgreSQL and MariaDB/MySQL (on
SQLite the transaction itself is ``BEGIN IMMEDIATE``), so they must be plain row SELECTs
(no aggregate, no DISTINCT) except ``new_line_key`` and ``price``, which lock nothing.

Versions: ``{column: c}`` is an integer column the ``change`` and ``remove`` statements
increment and guard on (``WHERE ... AND c = :expected``); ``{hash: [columns]}`` is a hash
of those columns of the line, computed by Keylink (the line ops' field maps then read
``version`` from the column ``row_hash``), checked under the row lock before writing.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import text

ROW_HASH = "row_hash"
"""The column a line read's field map names for ``version`` when versions are row hashes."""

LINE_VALUES = frozenset(
    {
        "product",
        "quantity",
        "unit_price",
        "discount_percent",
        "amount",
        "delivery_date",
        "description",
    }
)
"""The line's values an add or change statement may bind (``amount`` as Keylink computes
it: quantity x unit price less the discount, to the cent)."""

PARAMETERS: dict[str, frozenset[str]] = {
    "lock_order": frozenset({"order"}),
    "lock_line": frozenset({"line"}),
    "new_line_key": frozenset({"order"}),
    "price": frozenset({"product", "order", "quantity"}),
    "add": frozenset({"order", "line", "idempotency_key"}) | LINE_VALUES,
    "change": frozenset({"order", "line", "expected", "idempotency_key"}) | LINE_VALUES,
    "remove": frozenset({"order", "line", "expected", "idempotency_key"}),
}
"""The bind parameters each place of the writes section may use, and no other."""

REQUIRED: dict[str, frozenset[str]] = {
    "lock_order": frozenset({"order"}),
    "lock_line": frozenset({"line"}),
    "price": frozenset({"product"}),
}

_LEADING = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_SELECTS = frozenset({"SELECT", "WITH"})
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})


def first_word(statement: str) -> str:
    """The statement's first keyword, upper case, past leading comments ("" if none)."""
    body = _LEADING.sub("", statement)
    return body.split(None, 1)[0].upper() if body.strip() else ""


def parameters_of(statement: str) -> frozenset[str]:
    """The names of the statement's bind parameters (``:name``)."""
    return frozenset(text(statement).compile().params)


def _check(place: str, statement: str, kinds: frozenset[str]) -> str:
    if first_word(statement) not in kinds:
        raise ValueError(f"{place} must be a {'/'.join(sorted(kinds))} statement")
    params = parameters_of(statement)
    allowed = PARAMETERS[place.split("[")[0]]
    unknown = params - allowed
    if unknown:
        raise ValueError(
            f"{place} binds {sorted(unknown)}, which it may not; it may bind only {sorted(allowed)}"
        )
    missing = REQUIRED.get(place, frozenset()) - params
    if missing:
        raise ValueError(f"{place} must bind {sorted(missing)}")
    return statement


class VersionColumn(BaseModel):
    """Versions are an integer column the write statements increment and guard on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)


class VersionHash(BaseModel):
    """Versions are a hash of these columns of the line (as its reads return them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hash: tuple[str, ...] = Field(min_length=1)


class SqlWrites(BaseModel):
    """A spec's order-line write statements (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    editable_states: frozenset[str] = Field(min_length=1)
    version: VersionColumn | VersionHash
    lock_order: str
    lock_line: str
    new_line_key: str | None = None
    price: str | None = None
    add: tuple[str, ...] = ()
    change: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @field_validator("editable_states", mode="before")
    @classmethod
    def _codes_as_text(cls, value: object) -> object:
        if isinstance(value, list | tuple | set | frozenset):
            return frozenset(str(code) for code in value)
        return value

    @field_validator("lock_order", "lock_line", "new_line_key", "price")
    @classmethod
    def _a_select(cls, value: str | None, info: ValidationInfo) -> str | None:
        place = info.field_name or "select"
        return None if value is None else _check(place, value, _SELECTS)

    @field_validator("add", "change", "remove")
    @classmethod
    def _writes(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        place = info.field_name or "write"
        for at, statement in enumerate(value):
            _check(f"{place}[{at}]", statement, _WRITES)
        return value

    @model_validator(mode="after")
    def _guarded(self) -> SqlWrites:
        if self.add and self.new_line_key is None:
            raise ValueError("add needs new_line_key (the SELECT giving the new line's key)")
        if self.add and "line" not in parameters_of(self.add[0]):
            raise ValueError("add[0] writes the line: it must bind :line (its new key)")
        column_versions = isinstance(self.version, VersionColumn)
        for place in ("change", "remove"):
            statements: tuple[str, ...] = getattr(self, place)
            if not statements:
                continue
            params = parameters_of(statements[0])
            if "line" not in params:
                raise ValueError(f"{place}[0] writes the line: it must bind :line")
            if column_versions and "expected" not in params:
                raise ValueError(
                    f"{place}[0] must guard on the version: 'WHERE ... AND "
                    f"{self.version_column} = :expected'"
                )
        if not column_versions:
            for place in ("change", "remove"):
                for statement in getattr(self, place):
                    if "expected" in parameters_of(statement):
                        raise ValueError(
                            f"{place}: versions are row hashes, which no column holds: "
                            "bind no :expected"
                        )
        return self

    @property
    def version_column(self) -> str | None:
        """The version column, or None when versions are row hashes."""
        return self.version.column if isinstance(self.version, VersionColumn) else None

    @property
    def hashed_columns(self) -> tuple[str, ...]:
        """The line columns hashed into its version (empty with a version column)."""
        return self.version.hash if isinstance(self.version, VersionHash) else ()

    def statements(self, edit: Literal["add", "change", "remove"]) -> tuple[str, ...]:
        """The statements of ``edit``, in order (empty: the spec does not offer it)."""
        found: tuple[str, ...] = getattr(self, edit)
        return found
