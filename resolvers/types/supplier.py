"""The ``Supplier`` type: open purchase orders and payables, read live from the ERP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from linkmap.records import Entity
from resolvers.context import context_of
from resolvers.permissions import FINANCIAL
from resolvers.reads import children, first
from resolvers.references import ENTITY_KEYS, referenced_entity
from resolvers.types.erp import UnitType
from resolvers.types.keys import SystemKey, system_keys
from resolvers.types.money import MoneyType, money_of, per_currency
from sources.figures import newest_first, oldest_first
from sources.records import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus

PurchaseOrderStatusType = strawberry.enum(PurchaseOrderStatus, name="PurchaseOrderStatus")
LINES = "purchase_order_lines"
"""The batched read of a purchase order's lines (an ERP may not declare it)."""


@strawberry.type(description="The supplier as the ERP has it.")
class ErpSupplier:
    """ERP supplier master data."""

    system: str
    key: str
    name: str
    currency: str | None
    country: str | None


@strawberry.type(name="PurchaseOrderLine", description="A line of a purchase order.")
class PurchaseOrderLineType:
    """One purchase order line as the ERP has it."""

    system: str
    key: str
    order_key: str
    product_key: str | None
    description: str | None
    quantity: Decimal
    unit: UnitType | None = strawberry.field(description="The unit the quantity is in.")
    unit_price: MoneyType
    amount: MoneyType
    delivery_date: date | None

    @staticmethod
    def of(system: str, record: PurchaseOrderLine) -> PurchaseOrderLineType:
        """The GraphQL form of a purchase order line record from ``system``."""
        return PurchaseOrderLineType(
            system=system,
            key=record.key,
            order_key=record.order_key,
            product_key=record.product_key,
            description=record.description,
            quantity=record.quantity,
            unit=UnitType.of(record.unit),
            unit_price=money_of(record.unit_price),
            amount=money_of(record.amount),
            delivery_date=record.delivery_date,
        )


@strawberry.type(description="A purchase order placed with the supplier.")
class PurchaseOrderType:
    """A purchase order; its lines are read live on demand."""

    system: str
    key: str = strawberry.field(
        description="The order's key in the ERP: its number where it has one."
    )
    status: PurchaseOrderStatusType  # type: ignore[valid-type]
    order_date: date
    expected_date: date | None
    total: MoneyType
    number: str | None = strawberry.field(
        default=None, description="The order's number in the ERP, where it has one."
    )
    status_raw: str | None = strawberry.field(
        default=None,
        description="The state as the ERP names it (always set when status is UNKNOWN).",
    )

    @strawberry.field(description="The order's lines, read live from the ERP.")
    async def lines(self, info: strawberry.Info) -> list[PurchaseOrderLineType] | None:
        """Lines of this purchase order; null with NOT_SUPPORTED where the ERP does not
        offer them (``extensions.sources`` says so)."""
        missing = "purchase order lines are not read from this system"
        loader = context_of(info).loaders.offered(self.system, LINES, missing, many=True)
        return [PurchaseOrderLineType.of(self.system, line) for line in await loader.load(self.key)]

    @staticmethod
    def of(system: str, record: PurchaseOrder) -> PurchaseOrderType:
        """The GraphQL form of a purchase order record from ``system``."""
        return PurchaseOrderType(
            system=system,
            key=record.key,
            status=record.status,
            order_date=record.order_date,
            expected_date=record.expected_date,
            total=money_of(record.total),
            number=record.number,
            status_raw=record.status_raw,
        )


@strawberry.type(description="A supplier invoice to be paid.")
class PayableType:
    """A payable."""

    system: str
    key: str
    issue_date: date
    due_date: date
    total: MoneyType
    amount_due: MoneyType


@strawberry.federation.type(
    name="Supplier", keys=ENTITY_KEYS, description="A supplier as linked across systems."
)
class SupplierType:
    """A link-map supplier entity."""

    entity: strawberry.Private[Entity]

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, **representation: Any
    ) -> SupplierType | None:
        """The supplier a federation representation names (by ``id`` or ``keys``); None
        if unknown or outside the caller's row scope."""
        entity = await referenced_entity(info, "supplier", representation)
        return None if entity is None else cls(entity=entity)

    @strawberry.field(description="The link map's id of this supplier.")
    def id(self) -> strawberry.ID:
        """The link-map entity id."""
        return strawberry.ID(str(self.entity.id))

    @strawberry.field(description="The supplier's keys in every linked system.")
    def keys(self) -> list[SystemKey]:
        """All keys."""
        return system_keys(self.entity.keys)

    @strawberry.field(description="ERP master data.")
    async def erp(self, info: strawberry.Info) -> ErpSupplier | None:
        """The first ERP's supplier record."""
        found = await first(context_of(info), "erp", self.entity.keys, "suppliers")
        if found is None:
            return None
        system, s = found
        return ErpSupplier(
            system=system, key=s.key, name=s.name, currency=s.currency, country=s.country
        )

    @strawberry.field(description="Purchase orders not yet received.", permission_classes=FINANCIAL)
    async def open_purchase_orders(self, info: strawberry.Info) -> list[PurchaseOrderType] | None:
        """Open purchase orders, newest first."""
        return await self._purchase_orders(info, open_only=True)

    @strawberry.field(
        description="Every purchase order placed with the supplier (received and cancelled "
        "ones too), newest first.",
        permission_classes=FINANCIAL,
    )
    async def purchase_orders(self, info: strawberry.Info) -> list[PurchaseOrderType] | None:
        """All purchase orders, newest first."""
        return await self._purchase_orders(info, open_only=False)

    async def _purchase_orders(
        self, info: strawberry.Info, *, open_only: bool
    ) -> list[PurchaseOrderType]:
        pairs = await children(
            context_of(info), "erp", self.entity.keys, "purchase_orders", open_only
        )
        orders = [PurchaseOrderType.of(system, po) for system, po in pairs]
        return newest_first(orders, lambda o: o.order_date, lambda o: o.number, lambda o: o.key)

    @strawberry.field(
        description="Supplier invoices still to be paid.", permission_classes=FINANCIAL
    )
    async def open_payables(self, info: strawberry.Info) -> list[PayableType] | None:
        """Open payables, earliest due first."""
        pairs = await children(context_of(info), "erp", self.entity.keys, "payables", True)
        payables = [
            PayableType(
                system=system,
                key=p.key,
                issue_date=p.issue_date,
                due_date=p.due_date,
                total=money_of(p.total),
                amount_due=money_of(p.amount_due),
            )
            for system, p in pairs
        ]
        return oldest_first(payables, lambda p: p.due_date, lambda p: p.key, lambda p: p.key)

    @strawberry.field(
        description="Total still to pay the supplier, per currency.", permission_classes=FINANCIAL
    )
    async def payables_due(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on open payables."""
        pairs = await children(context_of(info), "erp", self.entity.keys, "payables", True)
        return per_currency(p.amount_due for _, p in pairs)
