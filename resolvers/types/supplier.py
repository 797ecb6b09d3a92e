"""The ``Supplier`` type: open purchase orders and payables, read live from the ERP."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry

from linkmap.records import Entity
from resolvers.context import context_of
from resolvers.permissions import FINANCIAL
from resolvers.reads import children, first
from resolvers.references import ENTITY_KEYS, referenced_entity
from resolvers.types.keys import SystemKey, system_keys
from resolvers.types.money import MoneyType, money_of, per_currency
from sources.figures import newest_first, oldest_first
from sources.records import PurchaseOrderStatus

PurchaseOrderStatusType = strawberry.enum(PurchaseOrderStatus, name="PurchaseOrderStatus")


@strawberry.type(description="The supplier as the ERP has it.")
class ErpSupplier:
    """ERP supplier master data."""

    system: str
    key: str
    name: str
    currency: str | None
    country: str | None


@strawberry.type(description="A purchase order placed with the supplier.")
class PurchaseOrderType:
    """A purchase order."""

    system: str
    key: str
    status: PurchaseOrderStatusType  # type: ignore[valid-type]
    order_date: date
    expected_date: date | None
    total: MoneyType


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
        pairs = await children(context_of(info), "erp", self.entity.keys, "purchase_orders", True)
        orders = [
            PurchaseOrderType(
                system=system,
                key=po.key,
                status=po.status,
                order_date=po.order_date,
                expected_date=po.expected_date,
                total=money_of(po.total),
            )
            for system, po in pairs
        ]
        return newest_first(orders, lambda o: o.order_date, lambda o: o.key, lambda o: o.key)

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
