"""ERP types: customer master data, invoices, sales orders and their lines."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

import strawberry

from resolvers.context import context_of
from resolvers.permissions import FINANCIAL
from resolvers.types.money import MoneyType, money, money_of
from sources.base import OrderEditor
from sources.records import Customer, Invoice, OrderLine, OrderStatus, SalesOrder

OrderStatusType = strawberry.enum(OrderStatus, name="OrderStatus")


@strawberry.enum(description="Which invoices to show; OVERDUE is open and past its due date.")
class InvoiceStatusFilter(enum.Enum):
    """A filter over invoice states."""

    OPEN = "OPEN"
    OVERDUE = "OVERDUE"
    PAID = "PAID"


@strawberry.type(name="ErpCustomer", description="The customer as the ERP has it.")
class ErpCustomer:
    """ERP customer master data."""

    system: str
    key: str
    name: str
    currency: str
    credit_limit: MoneyType | None = strawberry.field(permission_classes=FINANCIAL)
    country: str | None = None
    vat_id: str | None = None

    @staticmethod
    def of(system: str, record: Customer) -> ErpCustomer:
        """The GraphQL form of a customer record from ``system``."""
        return ErpCustomer(
            system=system,
            key=record.key,
            name=record.name,
            currency=record.currency,
            credit_limit=money(record.credit_limit),
            country=record.country,
            vat_id=record.vat_id,
        )


@strawberry.type(name="Invoice", description="A customer invoice as the ERP has it now.")
class InvoiceType:
    """A customer invoice with what is still due."""

    system: str
    key: str
    issue_date: date
    due_date: date
    total: MoneyType
    total_untaxed: MoneyType
    amount_due: MoneyType
    status: InvoiceStatusFilter = strawberry.field(description="OPEN, OVERDUE or PAID.")
    order_key: str | None
    project_key: str | None

    @staticmethod
    def of(system: str, record: Invoice, today: date) -> InvoiceType:
        """The GraphQL form of an invoice record; overdue is judged against ``today``."""
        status = InvoiceStatusFilter(record.status.value)
        if record.is_overdue(today):
            status = InvoiceStatusFilter.OVERDUE
        return InvoiceType(
            system=system,
            key=record.key,
            issue_date=record.issue_date,
            due_date=record.due_date,
            total=money_of(record.total),
            total_untaxed=money_of(record.total_untaxed),
            amount_due=money_of(record.amount_due),
            status=status,
            order_key=record.order_key,
            project_key=record.project_key,
        )


@strawberry.type(description="A product's availability as the ERP reports it now.")
class Availability:
    """Stock on hand and, when out of stock, from when it is available."""

    product_key: str
    product_name: str
    on_hand: Decimal | None
    available_from: date | None


@strawberry.type(name="OrderLine", description="A sales order line as the ERP prices it.")
class OrderLineType:
    """One order line; ``version`` changes whenever the ERP changes the line."""

    system: str
    key: str
    order_key: str
    product_key: str | None
    description: str | None
    quantity: Decimal
    unit_price: MoneyType
    discount_percent: Decimal
    amount: MoneyType
    delivery_date: date | None
    version: str = strawberry.field(description="Send as expectedVersion when editing the line.")

    @strawberry.field(description="The product's availability, read live from the ERP.")
    async def availability(self, info: strawberry.Info) -> Availability | None:
        """Availability of the line's product (null where the ERP does not report it)."""
        ctx = context_of(info)
        if self.product_key is None or not isinstance(
            ctx.systems.sources.get(self.system), OrderEditor
        ):
            return None
        loader = ctx.loaders.source(self.system, "products", many=False)
        product = await loader.load(self.product_key)
        if product is None:
            return None
        return Availability(
            product_key=product.key,
            product_name=product.name,
            on_hand=product.on_hand,
            available_from=product.available_from,
        )

    @staticmethod
    def of(system: str, record: OrderLine) -> OrderLineType:
        """The GraphQL form of an order line record from ``system``."""
        return OrderLineType(
            system=system,
            key=record.key,
            order_key=record.order_key,
            product_key=record.product_key,
            description=record.description,
            quantity=record.quantity,
            unit_price=money_of(record.unit_price),
            discount_percent=record.discount_percent,
            amount=money_of(record.amount),
            delivery_date=record.delivery_date,
            version=record.version,
        )


@strawberry.type(name="SalesOrder", description="A sales order as the ERP has it now.")
class SalesOrderType:
    """A sales order header; its lines are read live on demand."""

    system: str
    key: str
    status: OrderStatusType  # type: ignore[valid-type]
    order_date: date
    total_untaxed: MoneyType
    total: MoneyType

    @strawberry.field(description="The order's lines, read live from the ERP.")
    async def lines(self, info: strawberry.Info) -> list[OrderLineType] | None:
        """Lines of this order."""
        loader = context_of(info).loaders.source(self.system, "order_lines", many=True)
        return [OrderLineType.of(self.system, line) for line in await loader.load(self.key)]

    @staticmethod
    def of(system: str, record: SalesOrder) -> SalesOrderType:
        """The GraphQL form of a sales order record from ``system``."""
        return SalesOrderType(
            system=system,
            key=record.key,
            status=record.status,
            order_date=record.order_date,
            total_untaxed=money_of(record.total_untaxed),
            total=money_of(record.total),
        )
