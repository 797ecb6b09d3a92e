"""ERP types: customer master data, invoices, sales orders and their lines."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from resolvers.context import context_of
from resolvers.permissions import FINANCIAL
from resolvers.types.money import MoneyType, money, money_of
from sources.kept import NOT_KEPT, keeps
from sources.records import Customer, Invoice, OrderLine, OrderStatus, SalesOrder, Unit

OrderStatusType = strawberry.enum(OrderStatus, name="OrderStatus")


@strawberry.enum(
    description=(
        "Where an invoice stands: OPEN (issued, not fully paid), OVERDUE (open, not a credit "
        "note, past its earliest unpaid due date), PAID, DRAFT (not yet issued), CANCELLED, "
        "UNKNOWN (a state the system's translation table does not know: statusRaw holds it; "
        "counted in no figure)."
    ),
)
class InvoiceStatusFilter(enum.Enum):
    """Invoice states as a reader of an invoice list tells them apart; as an argument, a
    filter (OPEN includes OVERDUE)."""

    DRAFT = "DRAFT"
    OPEN = "OPEN"
    OVERDUE = "OVERDUE"
    PAID = "PAID"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


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
    used_credit: strawberry.Private[MoneyType | None] = None

    @strawberry.field(
        permission_classes=FINANCIAL,
        description=(
            "Credit used: what the ERP counts against the credit limit now (Tryton: the "
            "customer's receivable balance); null with a reason in extensions.sources where "
            "the ERP keeps no credit figures."
        ),
    )
    def credit_used(self, info: strawberry.Info) -> MoneyType | None:
        """The credit used; a null from an ERP that keeps none is noted as such."""
        if self.used_credit is None:
            ctx = context_of(info)
            if not keeps(ctx.systems.sources[self.system], "credit_used"):
                ctx.states.note(self.system, NOT_KEPT["credit_used"])
        return self.used_credit

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
            used_credit=money(record.credit_used),
        )


@strawberry.type(name="Invoice", description="A customer invoice as the ERP has it now.")
class InvoiceType:
    """A customer invoice with what is still due."""

    system: str
    key: str
    number: str | None = strawberry.field(
        description="The invoice's number in the ERP (the one people use), where it has one."
    )
    issue_date: date
    due_date: date | None = strawberry.field(
        description="The earliest due date still unpaid; null where the ERP sets none."
    )
    total: MoneyType = strawberry.field(description="Incl. tax; negative for a credit note.")
    total_untaxed: MoneyType
    amount_due: MoneyType
    status: InvoiceStatusFilter
    status_raw: str | None = strawberry.field(
        description="The state as the ERP names it, where known (always set when status is "
        "UNKNOWN)."
    )
    is_credit_note: bool = strawberry.field(description="True when the total is negative.")
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
            number=record.number,
            issue_date=record.issue_date,
            due_date=record.due_date,
            total=money_of(record.total),
            total_untaxed=money_of(record.total_untaxed),
            amount_due=money_of(record.amount_due),
            status=status,
            status_raw=record.status_raw,
            is_credit_note=record.is_credit_note,
            order_key=record.order_key,
            project_key=record.project_key,
        )


@strawberry.type(description="Stock of a product in one warehouse.")
class WarehouseStock:
    """The quantity physically in one warehouse the company sells from."""

    warehouse_key: str
    warehouse_name: str
    quantity: Decimal


@strawberry.type(description="A product's availability as the ERP reports it now.")
class Availability:
    """Stock on hand and, when out of stock, from when it is available."""

    product_key: str
    product_name: str
    on_hand: Decimal | None = strawberry.field(
        description=(
            "Quantity in all the company's warehouses: 0 with no stock, null for products "
            "that keep no stock (services)."
        )
    )
    warehouses: list[WarehouseStock] | None = strawberry.field(
        description="The same per warehouse; null where the ERP does not tell."
    )
    available_from: date | None


@strawberry.type(name="Unit", description="A unit of measure as the ERP shows quantities in it.")
class UnitType:
    """A unit's symbol and the decimal places its quantities are rounded to."""

    symbol: str
    digits: int

    @staticmethod
    def of(record: Unit | None) -> UnitType | None:
        """The GraphQL form of a unit record (None stays None)."""
        return None if record is None else UnitType(symbol=record.symbol, digits=record.digits)


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
    unit: UnitType | None = strawberry.field(
        default=None, description="The unit the quantity is in; null where the ERP does not say."
    )

    @strawberry.field(description="The product's availability, read live from the ERP.")
    async def availability(self, info: strawberry.Info) -> Availability | None:
        """Availability of the line's product (null where the ERP does not report it)."""
        ctx = context_of(info)
        if self.product_key is None:
            return None
        # the ERP keeps products Keylink cannot read: say so, never a silent null
        missing = "products are not read from this system"
        loader = ctx.loaders.offered(self.system, "products", missing, many=False)
        product = await loader.load(self.product_key)
        if product is None:
            return None
        return Availability(
            product_key=product.key,
            product_name=product.name,
            on_hand=product.on_hand,
            warehouses=None
            if product.stock is None
            else [
                WarehouseStock(
                    warehouse_key=level.warehouse_key,
                    warehouse_name=level.warehouse_name,
                    quantity=level.quantity,
                )
                for level in product.stock
            ],
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
            unit=UnitType.of(record.unit),
        )


def note_unkept_units(info: strawberry.Info, system: str) -> None:
    """Note in the answer that ``system`` keeps no units, when the lines' ``unit`` is asked
    for and the system keeps none (so its null is not read as a missing value)."""
    ctx = context_of(info)
    if keeps(ctx.systems.sources[system], "line_unit"):
        return
    if NOT_KEPT["line_unit"] in ctx.states.notes.get(system, ()):
        return  # said for an earlier order of this answer: no need to read the selection again
    if any(field.name == "unit" for field in _line_fields(info)):
        ctx.states.note(system, NOT_KEPT["line_unit"])


def _line_fields(info: strawberry.Info) -> list[Any]:
    fields = []
    for selected in info.selected_fields:
        for child in selected.selections:
            if hasattr(child, "selections") and not hasattr(child, "name"):  # a fragment
                fields.extend(child.selections)
            else:
                fields.append(child)
    return fields


@strawberry.type(name="SalesOrder", description="A sales order as the ERP has it now.")
class SalesOrderType:
    """A sales order header; its lines are read live on demand."""

    system: str
    key: str
    number: str | None = strawberry.field(
        description="The order's number in the ERP (the one people use), where it has one."
    )
    status: OrderStatusType  # type: ignore[valid-type]
    status_raw: str | None = strawberry.field(
        description="The state as the ERP names it (always set when status is UNKNOWN)."
    )
    order_date: date
    total_untaxed: MoneyType
    total: MoneyType

    @strawberry.field(description="The order's lines, read live from the ERP.")
    async def lines(self, info: strawberry.Info) -> list[OrderLineType] | None:
        """Lines of this order (a unit asked of an ERP that keeps none is noted)."""
        ctx = context_of(info)
        loader = ctx.loaders.source(self.system, "order_lines", many=True)
        lines = [OrderLineType.of(self.system, line) for line in await loader.load(self.key)]
        note_unkept_units(info, self.system)
        return lines

    @staticmethod
    def of(system: str, record: SalesOrder) -> SalesOrderType:
        """The GraphQL form of a sales order record from ``system``."""
        return SalesOrderType(
            system=system,
            key=record.key,
            number=record.number,
            status=record.status,
            status_raw=record.status_raw,
            order_date=record.order_date,
            total_untaxed=money_of(record.total_untaxed),
            total=money_of(record.total),
        )
