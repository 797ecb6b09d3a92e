"""The outcome of an order-line edit, typed, and its one stored form.

An edit ends in exactly one of :data:`EditOutcome`: :class:`Saved`, :class:`Removed`,
:class:`Conflicted`, :class:`Refused` or :class:`Unknown` (frozen; the engine makes them,
``resolvers.mutations.types`` turns each into its GraphQL result). Outcomes are kept with
their idempotency key for 24 h so that a replay returns exactly what the first attempt
returned, without another ERP call: :func:`outcome_to_json` and :func:`outcome_from_json`
are the one (de)serialisation, and their JSON is the format records have always been
stored in (``{"kind": "saved" | "removed" | "conflict" | "rejected", ...}``), so a record
written by an older Keylink still replays, and one written now reads in an older one.

:func:`outcome_of_error` maps an ERP's refusal onto an outcome through the one table of
codes (:mod:`resolvers.error_codes`).
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, TypeVar

from resolvers.error_codes import EditCode, edit_code_for
from sources.errors import Conflict, NotFound, Rejected, SourceError, Unsupported
from sources.money import Money
from sources.records import LineWrite, OrderLine, SalesOrder

T = TypeVar("T")

APPLIED: Final = "APPLIED"
"""Audit outcome of an edit the ERP applied (saved or removed)."""

ABANDONED: Final = "ABANDONED"
"""Audit outcome of an attempt whose gateway stopped before its write reached the ERP."""


@dataclass(frozen=True)
class Saved:
    """The ERP saved the line (an add or a change): the line and its order as it now has
    them."""

    system: str
    line: OrderLine
    order: SalesOrder


@dataclass(frozen=True)
class Removed:
    """The ERP removed ``line`` (as it was before); ``order`` as it is now."""

    system: str
    line: OrderLine
    order: SalesOrder


@dataclass(frozen=True)
class Conflicted:
    """The edit carried a stale version; nothing was written. ``current`` is the line as
    the ERP has it now, when it said."""

    system: str
    message: str
    current: OrderLine | None = None


@dataclass(frozen=True)
class Refused:
    """The edit was refused, by Keylink (bad input, a key reused, one in progress) or by
    the ERP; nothing was written. ``field`` names the input field at fault, if known."""

    code: EditCode
    message: str
    field: str | None = None


@dataclass(frozen=True)
class Unknown:
    """Whether the write landed is not known; the same request with the same key will
    find out (``OUTCOME_UNKNOWN``)."""

    message: str


EditOutcome = Saved | Removed | Conflicted | Refused | Unknown
"""Every way an edit can end."""


@dataclass(frozen=True)
class Abandoned:
    """Audit-only: an earlier attempt whose gateway stopped before its write reached the
    ERP (never stored as an outcome, never answered)."""

    message: str


def audit_code(outcome: EditOutcome | Abandoned) -> str:
    """The ``outcome`` column of the audit trail: ``APPLIED``, ``ABANDONED`` or the code."""
    if isinstance(outcome, Saved | Removed):
        return APPLIED
    if isinstance(outcome, Conflicted):
        return EditCode.CONFLICT.value
    if isinstance(outcome, Unknown):
        return EditCode.OUTCOME_UNKNOWN.value
    if isinstance(outcome, Abandoned):
        return ABANDONED
    return outcome.code.value


# ------------------------------------------------------------------ making outcomes


def success(system: str, write: LineWrite, *, removed: OrderLine | None = None) -> Saved | Removed:
    """The outcome of an applied write (``removed``: the line a removal took away)."""
    if removed is not None:
        return Removed(system, removed, write.order)
    assert write.line is not None
    return Saved(system, write.line, write.order)


def failure(error: SourceError) -> Refused:
    """The outcome of a write that certainly did not reach the ERP (it could not be
    reached, or it failed before writing): safe to retry."""
    code = edit_code_for(error)
    if code not in (EditCode.SOURCE_TIMEOUT, EditCode.SOURCE_UNAVAILABLE):
        code = EditCode.SOURCE_UNAVAILABLE
    return Refused(
        code, f"{error.system}: {error.message} Nothing was written; it is safe to retry."
    )


REFUSALS: Final = (Conflict, Rejected, NotFound, Unsupported)
"""Source errors that are the ERP's final answer to a write (nothing was written)."""


def outcome_of_error(system: str, error: SourceError) -> Conflicted | Refused | None:
    """The outcome of a write the ERP refused (:data:`REFUSALS`), coded by the one table;
    None when ``error`` is not a refusal (the ERP could not be reached or failed)."""
    if isinstance(error, Conflict):
        current = error.current if isinstance(error.current, OrderLine) else None
        return Conflicted(system, f"{system}: {error.message}", current)
    if not isinstance(error, REFUSALS):
        return None
    field = error.field if isinstance(error, Rejected) else None
    return Refused(edit_code_for(error), f"{system}: {error.message}", field)


# ------------------------------------------------------------ the stored form


class OutcomeFormatError(ValueError):
    """A stored outcome is not in the stored form (:func:`outcome_to_json`)."""


def outcome_to_json(outcome: EditOutcome) -> dict[str, Any]:
    """The stored form of ``outcome``: a JSON object (the format records have always been
    stored in, which :func:`outcome_from_json` reads back to an equal outcome)."""
    if isinstance(outcome, Saved | Removed):
        return {
            "kind": "saved" if isinstance(outcome, Saved) else "removed",
            "system": outcome.system,
            "line": record_to_json(outcome.line),
            "order": record_to_json(outcome.order),
        }
    if isinstance(outcome, Conflicted):
        return {
            "kind": "conflict",
            "system": outcome.system,
            "message": outcome.message,
            "current": None if outcome.current is None else record_to_json(outcome.current),
        }
    if isinstance(outcome, Unknown):
        return {
            "kind": "rejected",
            "code": EditCode.OUTCOME_UNKNOWN.value,
            "message": outcome.message,
            "field": None,
            "unknown": True,
        }
    return {
        "kind": "rejected",
        "code": outcome.code.value,
        "message": outcome.message,
        "field": outcome.field,
    }


def outcome_from_json(data: Mapping[str, Any]) -> EditOutcome:
    """The outcome whose stored form is ``data`` (written by :func:`outcome_to_json`, or by
    an older Keylink: the format is the same). :class:`OutcomeFormatError` if it is not
    one."""
    try:
        kind = data["kind"]
        if kind in ("saved", "removed"):
            line = record_from_json(OrderLine, data["line"])
            order = record_from_json(SalesOrder, data["order"])
            made = Saved if kind == "saved" else Removed
            return made(str(data.get("system", "")), line, order)
        if kind == "conflict":
            current = data.get("current")
            return Conflicted(
                str(data.get("system", "")),
                str(data["message"]),
                None if current is None else record_from_json(OrderLine, current),
            )
        if kind == "rejected":
            code = EditCode(data["code"])
            if code is EditCode.OUTCOME_UNKNOWN:
                return Unknown(str(data["message"]))
            return Refused(code, str(data["message"]), data.get("field"))
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise OutcomeFormatError(f"not a stored edit outcome: {error!r}") from None
    raise OutcomeFormatError(f"not a stored edit outcome: unknown kind {kind!r}")


def record_to_json(record: Any) -> dict[str, Any]:
    """A record (dataclass) as JSON-safe values: Decimals and dates as strings; a field
    holding its default is left out (``record_from_json`` gives it back), so records stored
    before a field was added read back the same."""

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

    return {
        f.name: value(getattr(record, f.name))
        for f in dataclasses.fields(record)
        if f.default is dataclasses.MISSING or getattr(record, f.name) != f.default
    }


def record_from_json(record_type: type[T], data: Mapping[str, Any]) -> T:
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
