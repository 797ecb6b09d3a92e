"""Supplier purchase orders and their lines, from Tryton's ``purchase`` module.

Tryton's purchase states translate as its sale states do (one table, a state Keylink does
not know is UNKNOWN with its raw value, never guessed): a draft, a request for quotation
and a confirmed purchase are OPEN; a processing one is OPEN until all its goods are
received (``shipment_state`` received), then RECEIVED, as a done one is; a cancelled one
is CANCELLED. Without the module the reads raise ``Unsupported`` (null with
NOT_SUPPORTED, never an empty list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sources.errors import Unsupported
from sources.records import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from sources.translate import log_unknown_code
from sources.tryton.common import Row, nested, quantity, unit_of
from sources.tryton.core import TrytonCore
from sources.tryton.keys import asked_keys, keys_domain, record_key
from sources.tryton.modules import PURCHASE

PURCHASE_FIELDS = [
    "number",
    "party.code",
    "state",
    "shipment_state",
    "purchase_date",
    "delivery_date",
    "create_date",
    "total_amount",
    "currency.code",
    "lines.delivery_date",
]
PURCHASE_LINE_FIELDS = [
    "purchase",
    "purchase.number",
    "purchase.currency.code",
    "product.code",
    "description",
    "quantity",
    "unit.symbol",
    "unit.digits",
    "unit_price",
    "amount",
    "delivery_date",
]
PURCHASE_STATES = {
    "draft": PurchaseOrderStatus.OPEN,
    "quotation": PurchaseOrderStatus.OPEN,
    "confirmed": PurchaseOrderStatus.OPEN,
    "done": PurchaseOrderStatus.RECEIVED,
    "cancelled": PurchaseOrderStatus.CANCELLED,
}
"""Tryton's purchase states that translate without looking at the shipments."""
OPEN_STATES = ("draft", "quotation", "confirmed", "processing")
NO_PURCHASE_MODULE = "purchase orders need Tryton's purchase module, which is not active"


def purchase_status(row: Row) -> PurchaseOrderStatus:
    """A purchase's state as Keylink's (see the module docstring)."""
    state = str(row.get("state"))
    known = PURCHASE_STATES.get(state)
    if known is not None:
        return known
    if state != "processing":
        return PurchaseOrderStatus.UNKNOWN
    if row.get("shipment_state") == "received":
        return PurchaseOrderStatus.RECEIVED
    return PurchaseOrderStatus.OPEN


class PurchaseReads(TrytonCore):
    """Purchase orders by supplier (party code) and their lines by purchase number."""

    async def _need_purchase(self) -> None:
        if not await self.modules.has(PURCHASE):
            raise Unsupported(self.name, NO_PURCHASE_MODULE)

    def _purchase(self, row: Row) -> PurchaseOrder:
        status = purchase_status(row)
        if status is PurchaseOrderStatus.UNKNOWN:
            log_unknown_code(self.name, "purchase_status", str(row.get("state")))
        created = row.get("create_date")
        line_dates = [
            line["delivery_date"]
            for line in row.get("lines.") or []
            if line.get("delivery_date") is not None
        ]
        expected = row.get("delivery_date") or (min(line_dates) if line_dates else None)
        return PurchaseOrder(
            key=record_key(row),
            supplier_key=str(nested(row, "party", "code") or ""),
            status=status,
            order_date=row.get("purchase_date")
            or (created.date() if created is not None else date.today()),
            total=self._money(row.get("total_amount"), nested(row, "currency", "code")),
            expected_date=expected,
            number=row.get("number") or None,
            status_raw=str(row.get("state")),
        )

    async def purchase_orders(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[PurchaseOrder]]:
        """Purchases by party code, newest first; ``open_only``: those not yet received
        (and those in a state Keylink does not know: never dropped)."""
        await self._need_purchase()
        domain: list[object] = []
        if open_only:
            known = sorted({*PURCHASE_STATES, "processing"})
            domain = [["OR", ["state", "in", list(OPEN_STATES)], ["state", "not in", known]]]

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "purchase.purchase",
                [["party.code", "in", batch], *domain],
                PURCHASE_FIELDS,
                [["purchase_date", "DESC"], ["id", "DESC"]],
            )

        kept = {PurchaseOrderStatus.OPEN, PurchaseOrderStatus.UNKNOWN}
        grouped: dict[str, list[PurchaseOrder]] = {key: [] for key in supplier_keys}
        for row in await self._batched(supplier_keys, read):
            order = self._purchase(row)
            if not open_only or order.status in kept:
                grouped.setdefault(order.supplier_key, []).append(order)
        return grouped

    async def purchase_order_lines(
        self, order_keys: Sequence[str]
    ) -> Mapping[str, Sequence[PurchaseOrderLine]]:
        """Product lines of each purchase (by its key: number, or ``draft-<id>``), in
        Tryton's order, quantities in their unit's digits."""
        await self._need_purchase()

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "purchase.line",
                [keys_domain(batch, "purchase"), ["type", "=", "line"]],
                PURCHASE_LINE_FIELDS,
                [["sequence", "ASC"], ["id", "ASC"]],
            )

        grouped: dict[str, list[PurchaseOrderLine]] = {key: [] for key in order_keys}
        for row in await self._batched(order_keys, read):
            number = nested(row, "purchase", "number")
            currency = (row.get("purchase.") or {}).get("currency.") or {}
            unit = unit_of(row)
            line = PurchaseOrderLine(
                key=str(row["id"]),
                order_key=record_key({"id": row["purchase"], "number": number}),
                product_key=nested(row, "product", "code"),
                description=row.get("description"),
                quantity=quantity(row.get("quantity"), unit),
                unit=unit,
                unit_price=self._money(row.get("unit_price"), currency.get("code")),
                amount=self._money(row.get("amount"), currency.get("code")),
                delivery_date=row.get("delivery_date"),
            )
            for key in asked_keys(order_keys, int(row["purchase"]), number):
                grouped.setdefault(key, []).append(line)
        return grouped


__all__ = ["NO_PURCHASE_MODULE", "PurchaseReads", "purchase_status"]
