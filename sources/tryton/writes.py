"""Order-line edits written to Tryton through its own model methods.

A draft sale's lines are created, written and deleted (``sale.line``) with the line's
``_timestamp``, priced by Tryton's ``on_change`` (``sources.tryton.pricing``). A delivery
date is the sale's shipping date in Tryton (each line ships on the later of it and its
product's lead time), so a line's delivery date is written as its sale's
``shipping_date`` in the same call as the line (``sale.sale.write`` with the line's
changes): every line of the sale follows it, as in Tryton's own form. A processing sale's
line is changed through an amendment where ``sale_amendment`` is active
(``sources.tryton.amendments``); anything else is ORDER_LOCKED with the reason.
"""

from __future__ import annotations

from sources.errors import Conflict
from sources.records import LineChanges, LineDraft, LineWrite
from sources.tryton.common import Row
from sources.tryton.editing import EditableSales
from sources.tryton.rpc import TrytonFault


def _timestamp(line_key: str, version: str) -> dict[str, object]:
    return {"_timestamp": {f"sale.line,{int(line_key)}": version}}


class LineWrites(EditableSales):
    """Add, change and remove sale lines (``sources.base.OrderEditor`` writes)."""

    async def add_order_line(
        self, order_key: str, draft: LineDraft, *, idempotency_key: str
    ) -> LineWrite:
        """Create a line priced by Tryton's ``on_change`` (with its discount and, as the
        sale's shipping date, its delivery date); Tryton's rules decide."""
        await self._refuse_discount(draft)
        sale_id = await self._sale_id(order_key)
        sale = await self._editable_sale(sale_id)
        if not self._is_draft(sale):
            raise self._not_amendable("sale.line.create")
        values = await self._priced_draft(sale_id, draft)
        values.pop("amount")
        values["taxes"] = [["add", values["taxes"]]]
        try:
            if draft.delivery_date is None:
                created = await self.rpc.call("model.sale.line.create", [[values]], write=True)
                return await self._answer(int(created[0]), sale_id)
            before = {row["id"] for row in await self._line_ids(sale_id)}
            await self.rpc.call(
                "model.sale.sale.write",
                [
                    [sale_id],
                    {"shipping_date": draft.delivery_date, "lines": [["create", [values]]]},
                ],
                write=True,
            )
        except TrytonFault as fault:
            raise await self._refusal(fault, sale_id, "sale.line.create") from fault
        new = [row["id"] for row in await self._line_ids(sale_id) if row["id"] not in before]
        return await self._answer(max(new) if new else None, sale_id)

    async def _line_ids(self, sale_id: int) -> list[Row]:
        return await self.search_read("sale.line", [["sale", "=", sale_id]], ["id"])

    async def change_order_line(
        self, line_key: str, changes: LineChanges, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Write the changed fields with the line's timestamp (Tryton refuses a stale
        one); on a processing sale, amend it where ``sale_amendment`` is active."""
        await self._refuse_discount(changes)
        current = await self._one_line(line_key)
        sale_id = int(current["sale"])
        sale = await self._editable_sale(sale_id)
        values = await self._priced_change(current, changes)
        if changes.delivery_date is not None and self._is_draft(sale):
            await self._delivery_date(current, changes.delivery_date)
        if not self._is_draft(sale):
            if changes.delivery_date is not None:
                raise self._not_amendable("sale.amendment", "deliveryDate")
            await self._amend(current, values, version, f"Keylink edit {idempotency_key}")
            return await self._answer(int(line_key), sale_id)
        try:
            if changes.delivery_date is None:
                await self.rpc.call(
                    "model.sale.line.write",
                    [[int(line_key)], values],
                    context=_timestamp(line_key, version),
                    write=True,
                )
            else:
                if str(current.get("_timestamp") or "") != version:
                    raise Conflict(
                        self.name,
                        f"sale.line {line_key} changed since version {version}",
                        current=self._line(current),
                        message="The line was changed in the ERP meanwhile.",
                    )
                update: Row = {"shipping_date": changes.delivery_date}
                if values:
                    update["lines"] = [["write", [int(line_key)], values]]
                await self.rpc.call(
                    "model.sale.sale.write",
                    [[sale_id], update],
                    context=_timestamp(line_key, version),
                    write=True,
                )
        except TrytonFault as fault:
            raise await self._refusal(fault, sale_id, "sale.line.write", line_key) from fault
        return await self._answer(int(line_key), sale_id)

    async def remove_order_line(
        self, line_key: str, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Delete the line with its timestamp: Tryton refuses a stale one (and any line
        of a sale that is not a draft: an amendment does not remove lines)."""
        current = await self._one_line(line_key)
        sale_id = int(current["sale"])
        sale = await self._one_sale(sale_id)
        if sale.amendable:
            raise self._not_amendable("sale.line.delete")
        try:
            await self.rpc.call(
                "model.sale.line.delete",
                [[int(line_key)]],
                context=_timestamp(line_key, version),
                write=True,
            )
        except TrytonFault as fault:
            raise await self._refusal(fault, sale_id, "sale.line.delete", line_key) from fault
        return await self._answer(None, sale_id)


__all__ = ["LineWrites"]
