"""The stored form of a mutation's outcome: JSON that replays to the same answer.

Outcomes are kept with their idempotency key for 24 h so that a replay returns exactly
what the first attempt returned, without another ERP call. ``success`` makes the outcome of
an applied write.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sources.money import Money
from sources.records import LineWrite, OrderLine, SalesOrder

T = TypeVar("T")


def record_to_json(record: Any) -> dict[str, Any]:
    """A record (dataclass) as JSON-safe values: Decimals and dates as strings."""

    def value(v: Any) -> Any:
        if isinstance(v, Money):
            return {"amount": str(v.amount), "currency": v.currency}
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, enum.Enum):
            return v.value
        return v

    return {f.name: value(getattr(record, f.name)) for f in dataclasses.fields(record)}


def record_from_json(record_type: type[T], data: dict[str, Any]) -> T:
    """The record ``record_to_json`` produced ``data`` from."""
    hints = typing.get_type_hints(record_type)
    values: dict[str, Any] = {}
    for name, raw in data.items():
        target = hints[name]
        options = [a for a in typing.get_args(target) if a is not type(None)] or [target]
        kind = options[0]
        if raw is None:
            values[name] = None
        elif kind is Money:
            values[name] = Money(Decimal(raw["amount"]), raw["currency"])
        elif kind is Decimal:
            values[name] = Decimal(raw)
        elif kind is date:
            values[name] = date.fromisoformat(raw)
        elif isinstance(kind, type) and issubclass(kind, enum.Enum):
            values[name] = kind(raw)
        else:
            values[name] = raw
    return record_type(**values)


def line_from_json(data: dict[str, Any] | None) -> OrderLine | None:
    """An order line from its stored form."""
    return None if data is None else record_from_json(OrderLine, data)


def order_from_json(data: dict[str, Any]) -> SalesOrder:
    """A sales order from its stored form."""
    return record_from_json(SalesOrder, data)


def success(system: str, write: LineWrite, *, removed: OrderLine | None = None) -> dict[str, Any]:
    """The outcome of an applied write."""
    if removed is not None:
        return {
            "kind": "removed",
            "system": system,
            "line": record_to_json(removed),
            "order": record_to_json(write.order),
        }
    assert write.line is not None
    return {
        "kind": "saved",
        "system": system,
        "line": record_to_json(write.line),
        "order": record_to_json(write.order),
    }
