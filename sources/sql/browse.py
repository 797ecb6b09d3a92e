"""Browsing a database (``sources.base.BrowsesRecords``): a SELECT per page, keyset by key.

A SQL spec's optional ``browse:`` section gives, per kind (``customer``, ``supplier``,
``project``, ``order``), a SELECT in key order that takes the bind parameters ``:after``
(the last key of the previous page; NULL for the first page), ``:limit`` and, optionally,
``:search`` (``%text%`` in lower case; NULL for no search), and a field map onto
``sources.records.Candidate``::

    browse:
      customer:
        select: |
          SELECT c.no AS number, c.name AS name, c.vat AS vat, c.zip AS zip
          FROM customer c
          WHERE (:after IS NULL OR c.no > :after)
            AND (:search IS NULL OR lower(c.name) LIKE :search OR c.no LIKE :search)
          ORDER BY c.no LIMIT :limit
        fields: {key: number, name: name, vat: vat, postcode: zip}

Values are only ever bound, never formatted into the text. The search is checked again on
the records (ignoring case and diacritics), so a page may hold fewer records than asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import BindParameter, Integer, String, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sources.base import BROWSE_KINDS, BrowsePage, Candidate
from sources.browse import check_first, decode_position, encode_position, matches_search
from sources.errors import SourceUnavailable, Unsupported
from sources.sql.engine import statement_deadline
from sources.sql.failures import database_error
from sources.translate import FieldMap, TranslationError, build_record, parse_field_source


class SqlHandle(Protocol):
    """What browsing uses of ``sources.sql.source.SqlSource``: its name, engine, the
    semaphore bounding its concurrent statements and its statement timeout."""

    name: str
    engine: AsyncEngine
    _fan_out: asyncio.Semaphore

    @property
    def timeout(self) -> float:
        """Seconds a statement may run."""
        ...


BROWSE_PARAMS = frozenset({"after", "limit"})
"""The bind parameters every browse SELECT takes (``search`` is optional)."""


class SqlBrowse(BaseModel):
    """One kind's browse SELECT (``:after``, ``:limit``, optional ``:search``), the type
    of its key column and its field map onto ``Candidate``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    select: str
    key_type: Literal["str", "int"] = "str"
    fields: FieldMap

    @field_validator("fields", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "fields" not in value:
            return {"fields": {name: parse_field_source(raw) for name, raw in value.items()}}
        return value

    @field_validator("select")
    @classmethod
    def _a_select_with_position(cls, value: str) -> str:
        first = value.lstrip().split(None, 1)[0].upper() if value.strip() else ""
        if first not in ("SELECT", "WITH"):
            raise ValueError("browse select must be a SELECT (or WITH ... SELECT) statement")
        params = set(text(value).compile().params)
        if not params >= BROWSE_PARAMS or not params <= BROWSE_PARAMS | {"search"}:
            raise ValueError(
                "browse select must take :after and :limit (and optionally :search); "
                f"found {sorted(params) or 'none'}"
            )
        return value

    def statement(self) -> TextClause:
        """The SELECT with its parameters typed."""
        key_type = Integer() if self.key_type == "int" else String()
        binds: list[BindParameter[Any]] = [
            bindparam("after", type_=key_type),
            bindparam("limit", type_=Integer()),
        ]
        if "search" in text(self.select).compile().params:
            binds.append(bindparam("search", type_=String()))
        return text(self.select).bindparams(*binds)

    def takes_search(self) -> bool:
        """Whether the SELECT filters by ``:search`` itself."""
        return "search" in text(self.select).compile().params


def check_browse(browse: Mapping[str, SqlBrowse]) -> None:
    """``ValueError`` for a kind that cannot be browsed or a field map that does not fit
    ``Candidate``."""
    for kind, spec in browse.items():
        if kind not in BROWSE_KINDS:
            raise ValueError(f"browse: unknown kind {kind!r}; valid kinds: {list(BROWSE_KINDS)}")
        names = set(spec.fields.fields)
        if not {"key", "name"} <= names:
            raise ValueError(f"browse {kind}: fields key and name must be mapped")
        unknown = names - set(Candidate.__dataclass_fields__)
        if unknown:
            raise ValueError(f"browse {kind}: unknown fields {sorted(unknown)}")


async def sql_browse(
    source: SqlHandle,
    browse: Mapping[str, SqlBrowse],
    kind: str,
    search: str | None,
    after: str | None,
    first: int,
) -> BrowsePage:
    """One page (at most ``first`` records, in key order) of ``kind`` after ``after``;
    ``Unsupported`` when the spec has no browse SELECT for ``kind``."""
    check_first(first)
    spec = browse.get(kind)
    if spec is None:
        raise Unsupported(source.name, f"the SQL spec has no browse select for {kind}")
    position = decode_position(source.name, after)
    last: Any = None if position is None else position.get("after")
    if last is not None and spec.key_type == "int":
        last = int(last)
    wanted = search.strip() if search and search.strip() else None
    params: dict[str, Any] = {"after": last, "limit": first}
    if spec.takes_search():
        params["search"] = None if wanted is None else f"%{wanted.lower()}%"
    rows = await _select(source, kind, spec.statement(), params)
    candidates: list[Candidate] = []
    for row in rows:
        try:
            candidate = build_record(Candidate, row, spec.fields)
        except TranslationError as exc:
            raise SourceUnavailable(source.name, f"browse {kind}: {exc}") from None
        candidates.append(candidate)
    next_token = None
    if len(rows) >= first:
        raw_key = rows[-1][spec.fields.fields["key"].path or "key"]
        next_token = encode_position({"after": raw_key})
    kept = tuple(c for c in candidates if matches_search(c, wanted))
    return BrowsePage(kept, next_token)


async def _select(
    source: SqlHandle, kind: str, statement: TextClause, params: dict[str, Any]
) -> list[dict[str, Any]]:
    async with source._fan_out:
        try:
            async with asyncio.timeout(source.timeout * 2 + 1):
                connection = await source.engine.connect()
                try:
                    async with statement_deadline(connection, source.timeout):
                        result = await connection.execute(statement, params)
                        columns = list(result.keys())
                        return [dict(zip(columns, row, strict=True)) for row in result.all()]
                finally:
                    await connection.close()
        except Exception as exc:  # every database failure leaves as a typed error
            raise database_error(source.name, f"browse {kind}", exc) from None


__all__ = ["BROWSE_PARAMS", "SqlBrowse", "SqlHandle", "check_browse", "sql_browse"]
