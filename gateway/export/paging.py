"""Runs an export's document page by page and yields flat rows, one page at a time.

The runner knows nothing of HTTP or of the schema: it calls an :class:`Executor` (a
GraphQL call over HTTP for the CLI, the schema in-process for the gateway's endpoint)
and holds one page at a time, so memory stays flat however long the export.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.export.errors import BadExportDocument, ExportError, ExportQueryFailed
from gateway.export.flatten import Cell, RowShape
from gateway.export.plan import ExportPlan

MAX_PAGES = 1_000_000
"""A runaway guard: no export fetches more pages than this."""


class Executor(Protocol):
    """Runs one GraphQL operation and returns the response object (``data``/``errors``)."""

    async def __call__(
        self, document: str, variables: Mapping[str, Any], operation_name: str | None
    ) -> Mapping[str, Any]:
        """The GraphQL response for ``document`` with ``variables``."""


@dataclass
class Page:
    """One page of flat rows (cells in :attr:`ExportRun.columns` order)."""

    number: int
    rows: list[list[Cell]]
    total: int | None = None
    """The connection's ``totalCount`` when the document selects it."""


@dataclass
class ExportRun:
    """An export in progress: iterate :meth:`pages`; :attr:`columns` is fixed once the
    first page is out. With ``allow_partial``, pages whose response has both data and
    errors are kept (the failed fields empty) and the errors collected in
    :attr:`errors`; otherwise the first error ends the export with
    :class:`ExportQueryFailed`."""

    plan: ExportPlan
    execute: Executor
    variables: Mapping[str, Any] = field(default_factory=dict)
    allow_partial: bool = False
    errors: list[Mapping[str, Any]] = field(default_factory=list)
    rows_done: int = 0

    def __post_init__(self) -> None:
        self._shape = RowShape(self.plan.fields)

    @property
    def columns(self) -> list[str]:
        """The column names (final after the first page)."""
        return self._shape.columns

    async def pages(self) -> AsyncIterator[Page]:
        """Each page's rows, fetching the next page only when this one was taken."""
        variables = dict(self.variables)
        seen: set[str] = set()
        for number in range(1, MAX_PAGES + 1):
            response = await self.execute(self.plan.document, variables, self.plan.operation_name)
            data = self._data(response, number)
            raw, total, cursor = self._rows(data)
            self._shape.settle(raw)
            rows = [self._shape.flatten(row) for row in raw]
            self.rows_done += len(rows)
            yield Page(number, rows, total)
            if cursor is None:
                return
            if cursor in seen:
                raise ExportError(f"page {number}: the connection returned a cursor again")
            seen.add(cursor)
            assert self.plan.paging is not None
            variables[self.plan.paging.after_variable] = cursor
        raise ExportError(f"the export stopped after {MAX_PAGES} pages")

    def _data(self, response: Mapping[str, Any], number: int) -> Mapping[str, Any]:
        errors = response.get("errors") or []
        data = response.get("data")
        if errors and (data is None or not self.allow_partial):
            raise ExportQueryFailed(errors, number)
        if not isinstance(data, Mapping):
            raise ExportError(f"page {number}: the response holds no data")
        self.errors.extend(errors)
        return data

    def _rows(
        self, data: Mapping[str, Any]
    ) -> tuple[list[Mapping[str, Any]], int | None, str | None]:
        """The page's result rows, the total count, and the next cursor (``None``: done)."""
        paging = self.plan.paging
        if paging is None:
            found = _walk(data, self.plan.rows_at)
            return _objects(found if isinstance(found, list) else [found]), None, None
        connection = _walk(data, paging.path)
        if connection is None:
            return [], None, None
        edges = connection.get(paging.rows_key) or []
        if paging.node_key is not None:
            edges = [e.get(paging.node_key) for e in edges if isinstance(e, Mapping)]
        total = connection.get(paging.total_count_key) if paging.total_count_key else None
        info = connection.get(paging.page_info_key) or {}
        cursor = info.get(paging.end_cursor_key)
        more = bool(info.get(paging.has_next_key)) and isinstance(cursor, str)
        if info.get(paging.has_next_key) and not isinstance(cursor, str):
            raise ExportError("the connection has a next page but gave no endCursor")
        return (
            _objects(edges),
            total if isinstance(total, int) else None,
            cursor if more else None,
        )


def _walk(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = data
    for key in path:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise BadExportDocument(f"{'.'.join(path)}: the connection must not sit inside a list")
        value = value.get(key)
    return value


def _objects(values: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The rows among ``values``: null entries are left out."""
    return [v for v in values if isinstance(v, Mapping)]
