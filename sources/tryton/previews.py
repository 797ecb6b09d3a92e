"""Previews: a line and its sale's totals as Tryton would price them, nothing saved.

A preview answers as the edit would (ORDER_LOCKED, NOT_FOUND, BAD_INPUT alike): the line
is priced by the same ``on_change`` calls, the totals by the sale's ``on_change`` of its
lines, and a delivery date by the line's ``on_change_with`` of its shipping date."""

from __future__ import annotations

from decimal import Decimal

from sources.money import Money
from sources.records import LineChanges, LineDraft, LineWrite, OrderLine, SalesOrder
from sources.tryton.common import Row, decimal, nested, unit_of
from sources.tryton.common import quantity as to_quantity
from sources.tryton.editing import EditableSales
from sources.tryton.sales import list_price, percent


class LinePreviews(EditableSales):
    """``preview_order_line`` and ``preview_line_change`` (reads: they save nothing)."""

    async def _preview(
        self, sale_id: int, line: Row, replaces: int | None, priced: OrderLine
    ) -> LineWrite:
        """The sale's totals with ``line`` added (or replacing line ``replaces``), as
        Tryton's ``on_change`` of the sale computes them."""
        order = await self._one_sale(sale_id)
        rows = await self.search_read(
            "sale.line",
            [["sale", "=", sale_id]],
            ["type", "product", "unit", "quantity", "unit_price", "amount", "taxes"],
        )
        lines = [row for row in rows if row["id"] != replaces]
        sent = {k: v for k, v in line.items() if k != "sale" and "." not in k}
        lines.append({**sent, "id": replaces or -1})
        parties = await self.search_read(
            "sale.sale", [["id", "=", sale_id]], ["party", "currency", "company"]
        )
        totals = await self.rpc.call(
            "model.sale.sale.on_change", [{**parties[0], "lines": lines}, ["lines"]]
        )
        currency = order.total.currency
        return LineWrite(
            line=priced,
            order=SalesOrder(
                key=order.key,
                customer_key=order.customer_key,
                status=order.status,
                order_date=order.order_date,
                total_untaxed=Money(decimal(totals.get("untaxed_amount")), currency),
                total=Money(decimal(totals.get("total_amount")), currency),
                line_count=order.line_count,
                version=order.version,
                number=order.number,
                status_raw=order.status_raw,
                amendable=order.amendable,
            ),
        )

    async def preview_order_line(self, order_key: str, draft: LineDraft) -> LineWrite:
        """A new line and the sale's totals as Tryton would price them; nothing saved."""
        await self._refuse_discount(draft)
        sale_id = await self._sale_id(order_key)
        sale = await self._editable_sale(sale_id)
        if not self._is_draft(sale):
            raise self._not_amendable("preview of sale.line.create")
        values = await self._priced_draft(sale_id, draft)
        base = values.get("base_price")
        price = decimal(values["unit_price"])
        priced = OrderLine(
            key="",
            order_key=sale.key,
            product_key=draft.product_key,
            description=values.get("description"),
            quantity=draft.quantity,
            unit_price=Money(decimal(list_price(base, price)), sale.total.currency),
            discount_percent=self._percent(base, price),
            amount=Money(decimal(values["amount"]), sale.total.currency),
            delivery_date=draft.delivery_date,
            version="",
        )
        return await self._preview(sale_id, values, None, priced)

    async def preview_line_change(self, line_key: str, changes: LineChanges) -> LineWrite:
        """A changed line and the sale's totals as Tryton would price them; nothing saved."""
        await self._refuse_discount(changes)
        current = await self._one_line(line_key)
        sale = await self._editable_sale(int(current["sale"]))
        if not self._is_draft(sale) and changes.delivery_date is not None:
            raise self._not_amendable("preview of sale.amendment", "deliveryDate")
        values = await self._priced_change(current, changes)
        quantity = (
            changes.quantity
            if changes.quantity is not None
            else to_quantity(current["quantity"], unit_of(current))
        )
        price = decimal(values.get("unit_price", current["unit_price"]))
        base = values.get("base_price", current.get("base_price"))
        amount = (quantity * price).quantize(Decimal("0.01"))
        delivery = current.get("shipping_date")
        if changes.delivery_date is not None:
            delivery = await self._delivery_date(current, changes.delivery_date)
        description = changes.description or current.get("description")
        line: Row = {
            "type": "line",
            "product": current.get("product"),
            "unit": current.get("unit"),
            "quantity": float(quantity),
            "unit_price": price,
            "amount": amount,
            "taxes": current.get("taxes") or [],
            "description": description,
        }
        currency = sale.total.currency
        priced = OrderLine(
            key=line_key,
            order_key=sale.key,
            product_key=nested(current, "product", "code"),
            description=description,
            quantity=quantity,
            unit_price=Money(decimal(list_price(base, price)), currency),
            discount_percent=self._percent(base, price),
            amount=Money(amount, currency),
            delivery_date=delivery,
            version="",
            unit=unit_of(current),
        )
        return await self._preview(int(current["sale"]), line, int(line_key), priced)

    @staticmethod
    def _percent(base: object, price: Decimal) -> Decimal:
        """The discount Tryton shows for ``price`` off ``base`` (its rate, 4 digits), in
        percent; 0 without a base price."""
        if base is None or not decimal(base):
            return Decimal(0)
        return percent((1 - price / decimal(base)).quantize(Decimal("0.0001")))


__all__ = ["LinePreviews"]
