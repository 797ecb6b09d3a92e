"""Reading one cell as its declared column type, as the table's spec writes it.

A CSV cell is text; an Excel cell may already be a number, a date or a boolean (numbers
come as floats: a float is read back through its shortest exact text, so 1234.56 is
``Decimal("1234.56")``, never the binary float's expansion). An empty cell is ``None``
for every type. A value that does not read as its type raises ``CellError`` with a short
reason (the row is then reported and left out, ``sources.files.problems``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sources.files.spec import ColumnType, FileTable

EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's (1900) date system: a date cell without a date format is its serial."""

MAX_CACHED_DATES = 4096
_SPACES = ("\u00a0", "\u202f")
"""No-break spaces, which exports write as a thousands separator declared as a space."""


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


class CellError(ValueError):
    """A cell's value does not read as its column's declared type: ``reason`` says how
    (for anyone), ``value`` shows the value, shortened (for the server's log only)."""

    def __init__(self, reason: str, value: Any) -> None:
        self.reason = reason
        self.value = _shown(value)
        super().__init__(f"{reason}: {self.value}")


CellReader = Callable[[Any], Any]


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _integral_text(value: float) -> str:
    """An Excel number as text: 1001.0 as ``1001`` (a numeric customer number), else its
    shortest exact form."""
    if not math.isfinite(value):
        raise CellError("not a number", value)
    return str(int(value)) if value.is_integer() else repr(value)


class CellReaders:
    """The readers of one table's cells, one per column type, with its separators, date
    format and boolean words."""

    def __init__(self, table: FileTable) -> None:
        self.table = table
        self._thousands = table.thousands_separator
        self._decimal = table.decimal_separator
        self._true = frozenset(v.lower() for v in table.true_values)
        self._false = frozenset(v.lower() for v in table.false_values)
        self._dates: dict[str, date] = {}
        self._simple = not self._thousands and self._decimal == "."
        """Numbers as Python writes them: no separator to check or change."""

    def reader(self, kind: ColumnType) -> CellReader:
        """The function reading a cell of ``kind`` (``None`` for an empty cell)."""
        return {
            "text": self.text,
            "decimal": self.decimal,
            "integer": self.integer,
            "date": self.date,
            "bool": self.boolean,
        }[kind]

    def text(self, value: Any) -> str | None:
        """Text, trimmed; an Excel number as its plain text (``1001``, not ``1001.0``)."""
        if type(value) is str:  # every CSV cell
            return value.strip() or None
        if _is_empty(value):
            return None
        if isinstance(value, float):
            return _integral_text(value)
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value).strip()

    def _number_text(self, text: str) -> str:
        """``text`` as Python reads a number: thousands separators checked (groups of
        three digits, so ``2.5`` is no number where ``.`` separates thousands) and removed,
        the decimal separator made a point, a trailing minus moved to the front."""
        text = text.strip()
        if text.endswith("-") and not text.startswith(("-", "+")):
            text = "-" + text[:-1]  # a trailing minus, as some ERPs export negatives
        if self._thousands == " ":
            for space in _SPACES:
                text = text.replace(space, " ")
        if self._thousands and self._thousands in text:
            whole = text.split(self._decimal, 1)[0].lstrip("+-")
            groups = whole.split(self._thousands)
            if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])) or not all(
                g.isdigit() for g in groups
            ):
                raise CellError("not a number", text)
            text = text.replace(self._thousands, "")
        if self._decimal != ".":
            if "." in text:
                raise CellError("not a number", text)
            text = text.replace(self._decimal, ".")
        return text

    def decimal(self, value: Any) -> Decimal | None:
        """An exact Decimal, with the table's decimal and thousands separators."""
        if type(value) is str and self._simple:  # a CSV cell without separators to mind
            text = value.strip()
            if not text:
                return None
            if _PLAIN_NUMBER.fullmatch(text):
                return Decimal(text)
        if _is_empty(value):
            return None
        if isinstance(value, bool | datetime | date):
            raise CellError("not a number", value)
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):
            return Decimal(_integral_text(value))
        text = self._number_text(str(value))
        if not _PLAIN_NUMBER.fullmatch(text):  # no exponent, NaN or Infinity in an export
            raise CellError("not a number", value)
        try:
            return Decimal(text)
        except InvalidOperation:
            raise CellError("not a number", value) from None

    def integer(self, value: Any) -> int | None:
        """A whole number (an Excel float must be integral)."""
        number = self.decimal(value)
        if number is None:
            return None
        if number != number.to_integral_value():
            raise CellError("not a whole number", value)
        return int(number)

    def date(self, value: Any) -> date | None:
        """A date in the table's ``date_format`` (text), an Excel date, or an Excel day
        serial (a date cell the export left without its date format)."""
        if _is_empty(value):
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value) or not 1 <= value < 2_958_466:
                raise CellError("not a date", value)
            return EXCEL_EPOCH + timedelta(days=int(value))
        text = str(value).strip()
        found = self._dates.get(text)
        if found is None:
            try:
                found = datetime.strptime(text, self.table.date_format).date()
            except ValueError:
                raise CellError(
                    f"not a date in the format {self.table.date_format}", value
                ) from None
            if len(self._dates) >= MAX_CACHED_DATES:
                self._dates.clear()
            self._dates[text] = found
        return found

    def boolean(self, value: Any) -> bool | None:
        """A yes/no, from the table's ``true_values`` and ``false_values`` (any case)."""
        if _is_empty(value):
            return None
        if isinstance(value, bool):
            return value
        text = _integral_text(value) if isinstance(value, float) else str(value).strip()
        lowered = text.lower()
        if lowered in self._true:
            return True
        if lowered in self._false:
            return False
        raise CellError("not a yes/no value", value)
