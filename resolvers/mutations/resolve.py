"""Learning whether a write whose answer never came was applied, by reading the ERP again.

Used when the ERP timed out or dropped the connection after the request was sent, and
when a client retries such a request with the same idempotency key. The answer is
``applied`` True (with the outcome as the ERP now shows it), False (nothing was written, so
the write may be sent), or unknown (``outcome`` None) when even the re-read fails or the
data is ambiguous. It reads what the attempt learnt before it wrote from the edit's typed
fields (``before``, ``before_line_ids``, ``requested``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from resolvers.mutations.edit import Edit
from resolvers.mutations.outcome import Removed, Saved, success
from sources.base import EditableErp
from sources.errors import SourceError
from sources.records import LineWrite, OrderLine


@dataclass(frozen=True)
class Resolution:
    """What re-reading found out."""

    applied: bool | None
    outcome: Saved | Removed | None
    reason: str = ""


def _matches(line: OrderLine, requested: Mapping[str, str]) -> bool:
    for name, wanted in requested.items():
        have = getattr(line, name if name != "product" else "product_key")
        if name == "unit_price":
            have = line.unit_price.amount
        if isinstance(have, Decimal):
            if have != Decimal(str(wanted)):
                return False
        elif have is not None and hasattr(have, "isoformat"):
            if have.isoformat() != wanted:
                return False
        elif have != wanted:
            return False
    return True


async def resolve_outcome(erp: EditableErp, edit: Edit) -> Resolution:
    """Re-read the ERP to decide whether ``edit`` was applied."""
    try:
        if edit.operation == "add_line":
            lines_by_order, orders = await asyncio.gather(
                erp.order_lines([edit.order_key]), erp.sales_orders([edit.order_key])
            )
            known = set(edit.before_line_ids or ())
            new = [
                line
                for line in lines_by_order.get(edit.order_key, [])
                if line.key not in known and _matches(line, edit.requested)
            ]
            order = orders.get(edit.order_key)
            if order is None:
                return Resolution(None, None, "the order could not be read")
            if not new:
                return Resolution(False, None, "no new line")
            if len(new) > 1:
                return Resolution(None, None, "several new lines match")
            return Resolution(True, success(edit.system, LineWrite(new[0], order)))
        assert edit.line_key is not None
        found, orders = await asyncio.gather(
            erp.order_lines_by_key([edit.line_key]), erp.sales_orders([edit.order_key])
        )
    except SourceError as error:
        return Resolution(None, None, f"re-reading failed: {error.message}")
    order = orders.get(edit.order_key)
    if order is None:
        return Resolution(None, None, "the order could not be read")
    current = found.get(edit.line_key)
    if edit.operation == "remove_line":
        if current is None:
            if edit.before is None:
                return Resolution(None, None, "the line as it was before is not known")
            removed = edit.before
            return Resolution(True, success(edit.system, LineWrite(None, order), removed=removed))
        if current.version == edit.expected_version:
            return Resolution(False, None, "the line is unchanged")
        return Resolution(None, None, "the line changed in another way")
    if current is None:
        return Resolution(None, None, "the line is gone")
    if current.version == edit.expected_version:
        return Resolution(False, None, "the line is unchanged")
    if _matches(current, edit.requested):
        return Resolution(True, success(edit.system, LineWrite(current, order)))
    return Resolution(None, None, "the line changed in another way")


__all__ = ["Resolution", "resolve_outcome"]
