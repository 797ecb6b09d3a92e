"""What every order-line edit and preview needs: the sale a key names, whether Tryton
still takes its lines' changes (and how), Tryton's refusals as Keylink's typed errors, and
the answer after a write."""

from __future__ import annotations

from sources.errors import Conflict, Rejected
from sources.records import LineWrite, OrderLine, OrderStatus, SalesOrder
from sources.tryton.amendments import Amendments
from sources.tryton.rpc import TrytonFault
from sources.tryton.sales import SALE_FIELDS


class EditableSales(Amendments):
    """Sales looked up for edits, by key or by id."""

    async def _sale_id(self, order_key: str) -> int:
        """The Tryton id of the sale ``order_key`` names (number or ``draft-<id>``); -1
        (no record) when it names none."""
        rows = await self._sale_rows([order_key])
        row = rows.get(order_key)
        return int(row["id"]) if row is not None else -1

    async def _one_sale(self, sale_id: int) -> SalesOrder:
        rows = await self.search_read("sale.sale", [["id", "=", sale_id]], SALE_FIELDS)
        if not rows:
            raise Rejected(self.name, f"no sale {sale_id}", code="NOT_FOUND", field="order")
        (sale,) = await self._sales(rows[:1])
        return sale

    async def _editable_sale(self, sale_id: int) -> SalesOrder:
        """The sale, when Tryton still takes changes of its lines (a draft, or a
        processing sale it amends: ``amendable``); otherwise the answer an edit of it
        gets: NOT_FOUND for no such sale, ORDER_LOCKED with the reason for one that is
        quoted, confirmed, processing (without ``sale_amendment``), done or cancelled."""
        sale = await self._one_sale(sale_id)
        if sale.locked:
            raise Rejected(
                self.name,
                f"sale {sale_id} is {sale.status_raw}",
                code="ORDER_LOCKED",
                message=sale.lock_reason
                or f"The order is {sale.status_raw} in the ERP: only a draft order's lines "
                "can be changed.",
                field="order",
            )
        return sale

    @staticmethod
    def _is_draft(sale: SalesOrder) -> bool:
        return sale.status_raw == "draft" or sale.status is OrderStatus.DRAFT

    async def _current_line(self, line_key: str | None) -> OrderLine | None:
        """The line as Tryton has it now, or None when it is gone (or none was named)."""
        if line_key is None:
            return None
        try:
            return self._line(await self._one_line(line_key))
        except Rejected:
            return None

    async def _refusal(
        self, fault: TrytonFault, sale_id: int, what: str, line_key: str | None = None
    ) -> Exception:
        """Tryton's refusal of a write as Keylink's typed error, its message kept: a stale
        timestamp is a ``Conflict`` carrying the line as it is now; a refused change of a
        line that is gone is NOT_FOUND, of a sale that is no longer a draft ORDER_LOCKED."""
        message = fault.tryton_message or "Tryton refused the change."
        if fault.fault == "ConcurrencyException":
            current = await self._current_line(line_key)
            if current is None and line_key is not None:
                return Rejected(self.name, f"{what}: line gone", code="NOT_FOUND", field="line")
            return Conflict(self.name, f"{what}: {fault.detail}", current=current, message=message)
        if fault.fault in ("UserError", "UserWarning"):
            if line_key is not None and await self._current_line(line_key) is None:
                return Rejected(self.name, f"{what}: line gone", code="NOT_FOUND", field="line")
            sale = await self._one_sale(sale_id)
            code = "ORDER_LOCKED" if sale.status is not OrderStatus.DRAFT else "BAD_INPUT"
            return Rejected(self.name, f"{what}: {fault.detail}", code=code, message=message)
        return fault

    async def _answer(self, line_id: int | None, sale_id: int) -> LineWrite:
        line = None
        if line_id is not None:
            line = self._line(await self._one_line(str(line_id)))
        return LineWrite(line=line, order=await self._one_sale(sale_id))


__all__ = ["EditableSales"]
