"""Line values as Tryton's own ``on_change`` methods price them: a new line's unit, price
and taxes from its product, a changed quantity's price, and a discount through
``sale_discount`` (the unit price follows from the base price and the discount rate).
Nothing here saves anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sources.errors import Rejected
from sources.records import LineChanges, LineDraft
from sources.tryton.common import Row, decimal, nested
from sources.tryton.modules import SALE_DISCOUNT
from sources.tryton.sales import DISCOUNT_FIELDS, LINE_FIELDS, SalesReads

HUNDRED = Decimal(100)
NO_PLANNED_DATE = (
    "The ERP plans no shipping date for this product (Tryton knows no lead time for it), "
    "so its delivery date cannot be set."
)
NO_DISCOUNT_MODULE = (
    "This ERP takes no line discounts: Tryton's sale_discount module is not active."
)


def rate_of(percent: Decimal) -> Decimal:
    """A discount in percent as Tryton's rate (10 % -> 0.1000)."""
    return (percent / HUNDRED).quantize(Decimal("0.0001"))


class PricedLines(SalesReads):
    """Pricing through Tryton's ``on_change``; the line and sale look-ups writes need."""

    async def _on_change(self, values: Row, fields: Sequence[str]) -> Row:
        """What Tryton's ``on_change`` of ``fields`` sets on a sale line with ``values``."""
        changes = await self.rpc.call("model.sale.line.on_change", [values, list(fields)])
        return changes if isinstance(changes, dict) else {}

    async def _refuse_discount(self, values: LineDraft | LineChanges) -> None:
        """BAD_INPUT for a discount where ``sale_discount`` is not active (0 % is none)."""
        if values.discount_percent in (None, Decimal(0)):
            return
        if not await self.modules.has(SALE_DISCOUNT):
            raise Rejected(
                self.name,
                "line discounts need Tryton's sale_discount module",
                code="BAD_INPUT",
                message=NO_DISCOUNT_MODULE,
                field="discountPercent",
            )

    async def _one_line(self, line_key: str) -> Row:
        """The product line ``line_key`` (an id) as edits need it; NOT_FOUND if none."""
        await self.company_currency()
        fields = await self._line_fields()
        rows = await self.search_read(
            "sale.line",
            [["id", "=", int(line_key)], ["type", "=", "line"]]
            if line_key.isdigit() and len(line_key) < 12
            else [["id", "=", -1]],
            [*fields, "unit", "taxes", "product", "sale.sale_date"],
        )
        if not rows:
            raise Rejected(self.name, f"no sale line {line_key}", code="NOT_FOUND", field="line")
        return rows[0]

    async def _product_id(self, code: str) -> int:
        rows = await self.search_read(
            "product.product", [["code", "=", code], ["salable", "=", True]], ["id"]
        )
        if not rows:
            raise Rejected(
                self.name,
                f"no salable product {code}",
                code="BAD_INPUT",
                message=f"The ERP sells no product {code}.",
                field="product",
            )
        return int(rows[0]["id"])

    async def _discounted(self, line: Row, rate: Decimal) -> Decimal | None:
        """The unit price Tryton gives ``line`` at discount ``rate`` of its base price."""
        changes = await self._on_change({**line, "discount_rate": rate}, ["discount_rate"])
        price = changes.get("unit_price")
        return decimal(price) if price is not None else None

    async def _priced_draft(self, sale_id: int, draft: LineDraft) -> Row:
        """A new line's values (with ``amount``) as Tryton's ``on_change`` prices them."""
        product = await self._product_id(draft.product_key)
        line: Row = {
            "sale": sale_id,
            "type": "line",
            "product": product,
            "quantity": float(draft.quantity),
        }
        changes = await self._on_change(line, ["product"])
        taxes = changes.get("taxes") or {}
        tax_ids = [item[1]["id"] for item in taxes.get("add", []) if isinstance(item, list)]
        values: Row = {
            **line,
            "unit": changes.get("unit"),
            "unit_price": changes.get("unit_price"),
            "description": draft.description or nested(changes, "product", "rec_name") or "",
            "taxes": tax_ids,
        }
        if "base_price" in changes:
            values["base_price"] = changes["base_price"]
        if draft.unit_price is not None:
            values["unit_price"] = draft.unit_price
        elif draft.discount_percent and values.get("base_price") is not None:
            values["unit_price"] = await self._discounted(values, rate_of(draft.discount_percent))
        quantity = decimal(values["quantity"])
        values["amount"] = (quantity * decimal(values["unit_price"])).quantize(Decimal("0.01"))
        return values

    @staticmethod
    def _as_sent(current: Row) -> Row:
        """The line as ``on_change`` takes it back (its own values, no dotted reads)."""
        kept = ("id", "sale", "type", "product", "unit", "quantity", "unit_price")
        line = {name: current.get(name) for name in kept}
        for name in DISCOUNT_FIELDS:
            if name in current:
                line[name] = current[name]
        return line

    async def _priced_change(self, current: Row, changes: LineChanges) -> Row:
        """The values to write for ``changes`` of line ``current``: a new quantity is
        priced by Tryton's ``on_change`` (keeping the line's discount), a new discount
        gives the price Tryton computes from the base price, an explicit unit price wins."""
        values: Row = {}
        line = self._as_sent(current)
        rate: Decimal | None = None
        if changes.discount_percent is not None:
            rate = rate_of(changes.discount_percent)
        elif current.get("discount_rate"):
            rate = decimal(current["discount_rate"])
        if changes.quantity is not None:
            values["quantity"] = float(changes.quantity)
            line["quantity"] = values["quantity"]
            if changes.unit_price is None:
                repriced = await self._on_change(line, ["quantity"])
                for name in ("unit_price", "base_price"):
                    if repriced.get(name) is not None:
                        values[name] = line[name] = decimal(repriced[name])
        rediscount = changes.discount_percent is not None or (
            changes.quantity is not None and bool(rate)
        )
        if changes.unit_price is None and rate is not None and "base_price" in line and rediscount:
            price = await self._discounted(line, rate)
            if price is not None:
                values["unit_price"] = price
        if changes.unit_price is not None:
            values["unit_price"] = changes.unit_price
        if changes.description is not None:
            values["description"] = changes.description
        return values

    async def _planned_date(self, current: Row, shipping: date | None) -> date | None:
        """The shipping date Tryton plans for line ``current`` once its sale's shipping
        date is ``shipping`` (the later of it and the product's lead time)."""
        sale = current.get("sale.") or {}
        computed = await self.rpc.call(
            "model.sale.line.on_change_with",
            [
                {
                    **self._as_sent(current),
                    "_parent_sale.sale_date": sale.get("sale_date"),
                    "_parent_sale.shipping_date": shipping,
                    "moves": [],
                },
                ["shipping_date"],
            ],
        )
        found = computed.get("shipping_date") if isinstance(computed, dict) else None
        return found if isinstance(found, date) else None

    async def _delivery_date(self, current: Row, wanted: date) -> date:
        """The date line ``current`` ships on once its sale's shipping date is ``wanted``
        (Tryton plans it); BAD_INPUT when Tryton plans none (the product has no lead
        time), rather than accepting a date that would read back empty."""
        planned = await self._planned_date(current, wanted)
        if planned is None:
            raise Rejected(
                self.name,
                f"sale.line {current['id']}: no shipping date planned",
                code="BAD_INPUT",
                message=NO_PLANNED_DATE,
                field="deliveryDate",
            )
        return planned


__all__ = ["LINE_FIELDS", "NO_DISCOUNT_MODULE", "PricedLines", "rate_of"]
