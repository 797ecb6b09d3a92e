"""Nested GraphQL results to flat rows with fixed columns.

Column rules (what an analyst gets in a spreadsheet):

- a scalar field is a column named by its response key; nested objects give dotted
  names (``financialOverview.overdueAmount.amount``);
- a list of scalars is one cell; CSV and Parquet join its items with ``"; "``, JSONL keeps
  the list;
- a list of objects (``keys { system key }``, money per currency) is one cell holding the
  list as JSON (``[{"system":"crm","key":"A-1"}]``); JSONL keeps it as a JSON array.
  One column per index was rejected: the number of columns would depend on the data, and
  a streamed file's header is written before the data is seen;
- a null object leaves its columns empty.

The columns come from the document (every selected field, even when null in every row)
and are fixed by the first page: an object field that holds a list anywhere on the
first page becomes one JSON column. Should a later page still show a list where the first
page only had objects or nulls, each of its columns gets the list of that field's values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.export.plan import Selected

Cell = str | int | float | bool | list[Any] | dict[str, Any] | None
"""One value of a flat row: a JSON scalar, or a list/object rendered per format."""

LIST_SEPARATOR = "; "


class JsonList(list[Any]):
    """The value of a list-of-objects column: always rendered as JSON (also when empty)."""


@dataclass
class _Column:
    key: str
    name: str
    children: list[_Column] | None
    as_json: bool = False


class RowShape:
    """The columns of an export and the flattening of each result row into them.

    Call :meth:`settle` with the first page's rows before :attr:`columns` is read.
    """

    def __init__(self, fields: Sequence[Selected]) -> None:
        self._tree = [_column(f, "") for f in fields]
        self._columns: list[str] | None = None

    def settle(self, rows: Sequence[Mapping[str, Any] | None]) -> None:
        """Fix the columns: object fields holding a list in ``rows`` become JSON columns."""
        if self._columns is None:
            _mark_lists(self._tree, [r for r in rows if isinstance(r, Mapping)])
            self._columns = list(_names(self._tree))

    @property
    def columns(self) -> list[str]:
        """The column names, in document order."""
        if self._columns is None:
            self._columns = list(_names(self._tree))
        return self._columns

    def flatten(self, row: Mapping[str, Any]) -> list[Cell]:
        """The cells of one result row, in :attr:`columns` order."""
        cells: list[Cell] = []
        _fill(self._tree, row, cells)
        return cells


def _column(field: Selected, prefix: str) -> _Column:
    name = prefix + field.key
    children = None if field.children is None else [_column(c, name + ".") for c in field.children]
    return _Column(field.key, name, children)


def _mark_lists(columns: list[_Column], values: list[Mapping[str, Any]]) -> None:
    for column in columns:
        if column.children is None:
            continue
        found = [v.get(column.key) for v in values]
        if any(isinstance(v, list) for v in found):
            column.as_json = True
        else:
            _mark_lists(column.children, [v for v in found if isinstance(v, Mapping)])


def _names(columns: list[_Column]) -> Iterable[str]:
    for column in columns:
        if column.children is None or column.as_json:
            yield column.name
        else:
            yield from _names(column.children)


def _fill(columns: list[_Column], value: Mapping[str, Any] | None, cells: list[Cell]) -> None:
    for column in columns:
        item = value.get(column.key) if value is not None else None
        if column.as_json:
            cells.append(JsonList(item) if isinstance(item, list) else item)
        elif column.children is None:
            cells.append(item)
        elif isinstance(item, list):
            for leaf in _leaves(column.children):
                cells.append([_project(element, leaf) for element in item])
        else:
            _fill(column.children, item if isinstance(item, Mapping) else None, cells)


def _leaves(columns: list[_Column], path: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    for column in columns:
        here = (*path, column.key)
        if column.children is None or column.as_json:
            yield here
        else:
            yield from _leaves(column.children, here)


def _project(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def text(cell: Cell) -> str | None:
    """``cell`` as text for CSV and Parquet string columns (``None`` stays ``None``):
    booleans ``true``/``false``, lists of scalars joined, anything nested as JSON."""
    if cell is None or isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int | float):
        return repr(cell)
    if (
        isinstance(cell, list)
        and not isinstance(cell, JsonList)
        and all(item is None or isinstance(item, str | int | float | bool) for item in cell)
    ):
        return LIST_SEPARATOR.join("" if item is None else str(text(item)) for item in cell)
    return orjson.dumps(cell).decode()
