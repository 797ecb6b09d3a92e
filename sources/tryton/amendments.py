"""Changing a line of a processing sale the way Tryton allows it: an amendment.

Where ``sale_amendment`` is active, a change of a processing sale's line becomes a
``sale.amendment`` with one "line" action (product, quantity, unit, unit price,
description as Keylink priced them through ``on_change``), which Tryton validates and
applies itself (``validate_amendment``: the sale's revision goes up, its draft invoices and
waiting shipments are redone). The line's version is checked first, and again by Tryton
(the line's ``_timestamp`` goes with the validation). An amendment Tryton refuses is
deleted, so no draft amendment is left behind, and Tryton's message is returned.
"""

from __future__ import annotations

from typing import Any

from sources.errors import Conflict, Rejected
from sources.tryton.common import Row, decimal
from sources.tryton.pricing import PricedLines
from sources.tryton.rpc import TrytonFault

AMENDS_LINES_ONLY = (
    "The order is processing in the ERP: Tryton amends the lines it has (quantity, price, "
    "discount, description); it does not add, remove or reschedule them."
)


class Amendments(PricedLines):
    """Line changes of processing sales through Tryton's ``sale_amendment``."""

    def _not_amendable(self, what: str, field: str = "order") -> Rejected:
        """ORDER_LOCKED for what an amendment cannot do (add, remove, reschedule)."""
        return Rejected(
            self.name,
            f"{what}: not an amendment",
            code="ORDER_LOCKED",
            message=AMENDS_LINES_ONLY,
            field=field,
        )

    async def _amend(self, current: Row, values: Row, version: str, reference: str) -> None:
        """Amend line ``current`` of its processing sale with ``values``: Tryton's
        amendment, validated and applied; ``Conflict`` if the line is no longer at
        ``version``; Tryton's refusal as ``Rejected`` (BAD_INPUT) with its message."""
        if str(current.get("_timestamp") or "") != version:
            raise Conflict(
                self.name,
                f"sale.line {current['id']} changed since version {version}",
                current=self._line(current),
                message="The line was changed in the ERP meanwhile.",
            )
        sale_id = int(current["sale"])
        change: Row = {
            "action": "line",
            "line": int(current["id"]),
            "product": current.get("product"),
            "quantity": values.get("quantity", float(decimal(current.get("quantity")))),
            "unit": current.get("unit"),
            "unit_price": values.get("unit_price", current.get("unit_price")),
            "description": values.get("description", current.get("description")),
        }
        created = await self.rpc.call(
            "model.sale.amendment.create",
            [[{"sale": sale_id, "description": reference[:120], "lines": [["create", [change]]]}]],
            write=True,
        )
        amendment = [int(created[0])]
        try:
            await self.rpc.call(
                "model.sale.amendment.validate_amendment",
                [amendment],
                context={"_timestamp": {f"sale.line,{int(current['id'])}": version}},
                write=True,
            )
        except TrytonFault as fault:
            await self._discard(amendment)
            if fault.fault == "ConcurrencyException":
                raise Conflict(
                    self.name,
                    f"sale.amendment: {fault.detail}",
                    current=self._line(await self._one_line(str(current["id"]))),
                    message=fault.tryton_message or "The line was changed meanwhile.",
                ) from fault
            if fault.fault in ("UserError", "UserWarning"):
                raise Rejected(
                    self.name,
                    f"sale.amendment: {fault.detail}",
                    code="BAD_INPUT",
                    message=fault.tryton_message or "Tryton refused the amendment.",
                ) from fault
            raise

    async def _discard(self, amendment: list[int]) -> Any:
        """Delete a draft amendment Tryton refused to validate (best effort: a failure
        to delete leaves a draft amendment, which changes nothing)."""
        try:
            return await self.rpc.call("model.sale.amendment.delete", [amendment], write=True)
        except TrytonFault:
            return None


__all__ = ["AMENDS_LINES_ONLY", "Amendments"]
