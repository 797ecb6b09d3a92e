"""Sales and their lines, read from Tryton: states told apart as FIGURES.md means them,
keyed by the sale's number (``sources.tryton.keys``), lines with their unit of measure and,
where ``sale_discount`` is active, their discount."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sources.errors import SourceUnavailable
from sources.records import OrderLine, OrderStatus, SalesOrder
from sources.translate import log_unknown_code
from sources.tryton.common import Row, decimal, ids_of, nested, quantity, unit_of
from sources.tryton.core import TrytonCore
from sources.tryton.keys import asked_keys, by_asked_key, keys_domain, record_key
from sources.tryton.modules import SALE_AMENDMENT, SALE_DISCOUNT

SALE_FIELDS = [
    "number",
    "party.code",
    "state",
    "invoice_state",
    "invoice_method",
    "sale_date",
    "create_date",
    "untaxed_amount",
    "total_amount",
    "currency.code",
    "lines",
    "_timestamp",
]
LINE_FIELDS = [
    "sale",
    "sale.number",
    "sale.currency.code",
    "type",
    "product.code",
    "description",
    "quantity",
    "unit.symbol",
    "unit.digits",
    "unit_price",
    "amount",
    "shipping_date",
    "_timestamp",
]
DISCOUNT_FIELDS = ["base_price", "discount_rate"]
"""The line fields Tryton's ``sale_discount`` adds (read only where it is active)."""


def list_price(base: Any, price: Any) -> Any:
    """A line's unit price as every adapter means it: before the line's discount (FIGURES.md:
    the amount is quantity times this price less the discount). With ``sale_discount``
    Tryton's ``unit_price`` is already discounted and ``base_price`` is the price before;
    without it there is only ``unit_price``."""
    return base if base is not None else price


INVOICED_STATES = frozenset({"posted", "paid"})
POSTED_INVOICE_STATES = frozenset({"awaiting payment", "partially paid", "paid"})
"""A sale's ``invoice_state`` once at least one of its invoices is posted (or paid)."""
SALE_STATES = {
    "draft": OrderStatus.DRAFT,
    "quotation": OrderStatus.QUOTED,
    "confirmed": OrderStatus.CONFIRMED,
    "cancelled": OrderStatus.CANCELLED,
}
"""Tryton's sale states that translate without looking at the invoices."""
AMENDED_STATES = frozenset({"processing"})
"""The sale states in which ``sale_amendment`` changes lines (Tryton's amendment domain
also admits done sales, whose goods are all shipped; Keylink amends processing ones)."""
HUNDRED = Decimal(100)


def order_status(
    row: Mapping[str, Any],
    partly_invoiced: bool = False,
    overrides: Mapping[str, enum.Enum] | None = None,
) -> OrderStatus:
    """A sale's state as FIGURES.md means it: a quotation is QUOTED; a processing or done
    sale is INVOICED once one of its invoices is posted and nothing remains to invoice,
    else CONFIRMED (a draft invoice is not an invoice to the customer); a state Keylink
    does not know is UNKNOWN. ``overrides`` (the system's ``order_status`` table) decides
    the states it names, before any of these rules."""
    state = row.get("state")
    override = (overrides or {}).get(str(state))
    if override is not None:
        return OrderStatus(override.value)
    known = SALE_STATES.get(str(state))
    if known is not None:
        return known
    if state not in ("processing", "done"):
        return OrderStatus.UNKNOWN
    if row.get("invoice_state") not in POSTED_INVOICE_STATES or partly_invoiced:
        return OrderStatus.CONFIRMED
    return OrderStatus.INVOICED


def may_be_partly_invoiced(row: Mapping[str, Any]) -> bool:
    """Whether a sale with a posted invoice may still have quantities to invoice: only a
    processing sale invoiced on shipment (or fulfilment); one invoiced on order is
    invoiced whole at once, and a done sale has nothing left."""
    return (
        row.get("state") == "processing"
        and row.get("invoice_state") in POSTED_INVOICE_STATES
        and row.get("invoice_method") != "order"
    )


def percent(rate: object) -> Decimal:
    """Tryton's discount rate (0.1000) in percent, to the hundredth (10.00); 0 for none."""
    return (decimal(rate) * HUNDRED).quantize(Decimal("0.01")) if rate else Decimal(0)


def lock_reason(state: str, amends: bool) -> str | None:
    """Why Tryton takes no line edit of a sale in ``state``, for a user (None while it
    does: a draft, or a processing sale where ``sale_amendment`` is active)."""
    if state == "draft" or (amends and state in AMENDED_STATES):
        return None
    if state == "processing":
        return (
            "The order is processing in the ERP: Tryton changes a processing order only "
            "through an amendment, and its sale_amendment module is not active."
        )
    if amends and state == "confirmed":
        return (
            "The order is confirmed in the ERP: Tryton takes line changes on a draft "
            "order, and amendments once the order is processing."
        )
    return f"The order is {state} in the ERP: only a draft order's lines can be changed."


class SalesReads(TrytonCore):
    """Sales by customer and by number, and their product lines."""

    async def _partly_invoiced(self, rows: Sequence[Row]) -> set[int]:
        """Ids of the sales among ``rows`` with a line whose quantity is not yet all on
        posted (or paid) invoices."""
        candidates = [int(row["id"]) for row in rows if may_be_partly_invoiced(row)]
        if not candidates:
            return set()
        lines = await self._batched(
            candidates,
            lambda batch: self.search_read(
                "sale.line",
                [["sale", "in", batch], ["type", "=", "line"]],
                ["sale", "quantity", "invoice_lines.quantity", "invoice_lines.invoice.state"],
            ),
        )
        partly: set[int] = set()
        for line in lines:
            invoiced = sum(
                (
                    decimal(inv_line.get("quantity"))
                    for inv_line in line.get("invoice_lines.") or []
                    if nested(inv_line, "invoice", "state") in INVOICED_STATES
                ),
                Decimal(0),
            )
            if invoiced < abs(decimal(line.get("quantity"))):
                partly.add(int(line["sale"]))
        return partly

    async def _sales(self, rows: Sequence[Row]) -> list[SalesOrder]:
        """Sales as Keylink's records, their states told apart as FIGURES.md means them;
        a processing sale is amendable where ``sale_amendment`` is active."""
        partly = await self._partly_invoiced(rows)
        amends = await self.modules.has(SALE_AMENDMENT)
        return [self._sale(row, int(row["id"]) in partly, amends) for row in rows]

    def _sale(self, row: Row, partly_invoiced: bool = False, amends: bool = False) -> SalesOrder:
        currency = nested(row, "currency", "code")
        created = row.get("create_date")
        when = row.get("sale_date") or (created.date() if created is not None else date.today())
        status = order_status(row, partly_invoiced, self._sale_overrides)
        if status is OrderStatus.UNKNOWN:
            log_unknown_code(self.name, "order_status", str(row.get("state")))
        return SalesOrder(
            key=record_key(row),
            customer_key=str(nested(row, "party", "code") or ""),
            status=status,
            order_date=when,
            total_untaxed=self._money(row.get("untaxed_amount"), currency),
            total=self._money(row.get("total_amount"), currency),
            line_count=len(row.get("lines") or []),
            version=row.get("_timestamp"),
            number=row.get("number") or None,
            status_raw=str(row.get("state")),
            amendable=amends and row.get("state") in AMENDED_STATES,
            lock_reason=lock_reason(str(row.get("state")), amends),
        )

    async def _line_fields(self) -> list[str]:
        """The sale line fields to read: with the discount where ``sale_discount`` is on."""
        discount = await self.modules.has(SALE_DISCOUNT)
        return [*LINE_FIELDS, *DISCOUNT_FIELDS] if discount else list(LINE_FIELDS)

    def _line(self, row: Row) -> OrderLine:
        currency = nested(row, "sale", "currency.")
        code = currency.get("code") if isinstance(currency, Mapping) else None
        code = code or self._currency
        if code is None:
            raise SourceUnavailable(self.name, f"sale line {row.get('id')}: no currency")
        sale = row.get("sale.") or {}
        unit = unit_of(row)
        rate = row.get("discount_rate")
        return OrderLine(
            key=str(row["id"]),
            order_key=record_key({"id": row["sale"], "number": sale.get("number")}),
            product_key=nested(row, "product", "code"),
            description=row.get("description"),
            quantity=quantity(row.get("quantity"), unit),
            unit_price=self._money(list_price(row.get("base_price"), row.get("unit_price")), code),
            discount_percent=percent(rate),
            amount=self._money(row.get("amount"), code),
            delivery_date=row.get("shipping_date"),
            version=str(row.get("_timestamp") or ""),
            unit=unit,
        )

    async def _sale_rows(self, keys: Sequence[str]) -> dict[str, Row]:
        """The sales ``keys`` name (numbers, or ``draft-<id>``), by the key asked."""

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read("sale.sale", keys_domain(batch), SALE_FIELDS)

        return by_asked_key(keys, await self._batched(list(keys), read))

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        """Sales by party code, optionally only in ``statuses`` (and always those in a
        state Keylink does not know: never dropped)."""

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "sale.sale",
                [["party.code", "in", batch]],
                SALE_FIELDS,
                [["sale_date", "DESC"], ["id", "DESC"]],
            )

        grouped: dict[str, list[SalesOrder]] = {key: [] for key in customer_keys}
        for sale in await self._sales(await self._batched(customer_keys, read)):
            if statuses is None or sale.status in statuses or sale.status is OrderStatus.UNKNOWN:
                grouped.setdefault(sale.customer_key, []).append(sale)
        return grouped

    async def sales_orders(self, keys: Sequence[str]) -> Mapping[str, SalesOrder]:
        """Sales by key: the sale's number, or ``draft-<id>`` for a draft."""
        rows = await self._sale_rows(keys)
        unique = list({int(row["id"]): row for row in rows.values()}.values())
        sales = {sale.key: sale for sale in await self._sales(unique)}
        by_id = {int(row["id"]): sales[record_key(row)] for row in unique}
        return {key: by_id[int(row["id"])] for key, row in rows.items()}

    async def order_lines(self, order_keys: Sequence[str]) -> Mapping[str, Sequence[OrderLine]]:
        """Product lines (no comments or subtotals) by sale key, in Tryton's order."""
        fields = await self._line_fields()

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "sale.line",
                [keys_domain(batch, "sale"), ["type", "=", "line"]],
                fields,
                [["sequence", "ASC"], ["id", "ASC"]],
            )

        await self.company_currency()
        grouped: dict[str, list[OrderLine]] = {key: [] for key in order_keys}
        for row in await self._batched(order_keys, read):
            line = self._line(row)
            number = nested(row, "sale", "number")
            for key in asked_keys(order_keys, int(row["sale"]), number):
                grouped.setdefault(key, []).append(line)
        return grouped

    async def order_lines_by_key(self, line_keys: Sequence[str]) -> Mapping[str, OrderLine]:
        """Product lines by line id."""
        fields = await self._line_fields()

        async def read(batch: list[int]) -> list[Row]:
            return await self.search_read(
                "sale.line", [["id", "in", batch], ["type", "=", "line"]], fields
            )

        await self.company_currency()
        rows = await self._batched(ids_of(line_keys), read)
        return {str(row["id"]): self._line(row) for row in rows}


__all__ = [
    "LINE_FIELDS",
    "SALE_FIELDS",
    "SalesReads",
    "lock_reason",
    "may_be_partly_invoiced",
    "order_status",
    "percent",
]
