"""Small helpers the Tryton adapter's modules share: rows, values, units."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sources.records import Unit

Row = dict[str, Any]


def ids_of(keys: Sequence[str]) -> list[int]:
    """The Tryton ids among ``keys`` (lines and projects are keyed by id)."""
    return sorted({int(key) for key in keys if key.isdigit() and len(key) < 12})


def nested(row: Mapping[str, Any], field: str, name: str) -> Any:
    """``name`` of the record a dotted read put under ``"<field>."`` (None if absent)."""
    value = row.get(f"{field}.")
    return value.get(name) if isinstance(value, Mapping) else None


def decimal(value: Any) -> Decimal:
    """``value`` as a Decimal (None as 0; floats through their shortest text)."""
    if isinstance(value, Decimal):
        return value
    if value is None:
        return Decimal(0)
    return Decimal(str(value))


def hours(duration: Any) -> Decimal:
    """A Tryton duration (timedelta) in hours, to the hundredth."""
    seconds = Decimal(str(duration.total_seconds())) if duration is not None else Decimal(0)
    return (seconds / 3600).quantize(Decimal("0.01"))


def unit_of(row: Mapping[str, Any], field: str = "unit") -> Unit | None:
    """The unit of measure read as ``<field>.symbol`` and ``<field>.digits``."""
    symbol = nested(row, field, "symbol")
    if symbol is None:
        return None
    digits = nested(row, field, "digits")
    return Unit(symbol=str(symbol), digits=int(digits) if digits is not None else 2)


def quantity(value: Any, unit: Unit | None) -> Decimal:
    """A Tryton quantity (a float) as the Decimal its unit shows: rounded to the unit's
    digits, so 0.1 + 0.2 reads 0.30, not 0.30000000000000004."""
    amount = decimal(value)
    if unit is None:
        return amount
    return amount.quantize(Decimal(1).scaleb(-unit.digits))


__all__ = ["Row", "decimal", "hours", "ids_of", "nested", "quantity", "unit_of"]
