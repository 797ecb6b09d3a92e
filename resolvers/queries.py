"""The root ``Query``: look up customers, projects and suppliers by any system's key, and
orders and invoices by their ERP number (an order also by a linked key)."""

from __future__ import annotations

import strawberry

from linkmap.records import Entity
from linkmap.validate import has_control_characters
from resolvers.context import Context, context_of
from resolvers.errors import BadInput
from resolvers.lists.aggregates import CustomerTotals, customer_totals
from resolvers.lists.connections import (
    DEFAULT_FIRST,
    MAX_FIRST,
    CustomerConnection,
    ProjectConnection,
    SupplierConnection,
    paginate,
)
from resolvers.lists.inputs import (
    CustomerFilter,
    CustomerGrouping,
    CustomerOrder,
    ProjectFilter,
    ProjectOrder,
    SupplierFilter,
    SupplierOrder,
)
from resolvers.lists.memo import memo_slot
from resolvers.lists.specs import (
    customer_ordering,
    customer_selection,
    project_ordering,
    project_selection,
    supplier_ordering,
    supplier_selection,
)
from resolvers.lookups import invoice_by_key, order_by_key
from resolvers.mutations.order_lines import preview
from resolvers.mutations.types import OrderLinePreviewResult, OrderRef, PreviewOrderLineInput
from resolvers.onboarding.graphql import OnboardingQuery
from resolvers.permissions import FINANCIAL, CanEditOrders, IsAdmin, IsAnalyst
from resolvers.prefetch import CUSTOMER_FIELDS, prefetch, selected
from resolvers.types.audit import AuditEventType, audit_trail
from resolvers.types.customer import Customer, ProjectType
from resolvers.types.erp import InvoiceType, SalesOrderType
from resolvers.types.supplier import SupplierType

MAX_KEYS = 500
MAX_PAGE = 100
MAX_KEY_LENGTH = 255


LIST_NOTE = (
    f" `first` (default {DEFAULT_FIRST}, at most {MAX_FIRST}) rows after the cursor `after`;"
    " analyst or admin role. Each edge says which linked systems answered for it."
)


def _check(ctx: Context, system: str, keys: list[str]) -> None:
    if system not in ctx.systems:
        known = ", ".join(ctx.systems.sources)
        raise BadInput(f"unknown system {system!r}; known systems: {known}")
    if len(keys) > MAX_KEYS:
        raise BadInput(f"{len(keys)} keys requested; at most {MAX_KEYS} per request")
    for key in keys:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise BadInput(f"a key must have 1 to {MAX_KEY_LENGTH} characters")
        if has_control_characters(key):
            raise BadInput("a key must not contain control characters")


async def _entity(info: strawberry.Info, kind: str, system: str, key: str) -> Entity | None:
    ctx = context_of(info)
    _check(ctx, system, [key])
    return await ctx.loaders.entity(kind, system).load(key)


@strawberry.type
class Query(OnboardingQuery):
    """Entry points: every lookup accepts the key of any linked system."""

    @strawberry.field(description="A customer by its key in any linked system; null if unlinked.")
    async def customer(self, info: strawberry.Info, system: str, key: str) -> Customer | None:
        """The customer holding ``key`` in ``system``."""
        entity = await _entity(info, "customer", system, key)
        return None if entity is None else Customer(entity=entity)

    @strawberry.field(
        description=(
            "Many customers at once, in the order of the keys; null for a key not linked. "
            f"At most {MAX_KEYS} keys."
        )
    )
    async def customers_by_key(
        self, info: strawberry.Info, system: str, keys: list[str]
    ) -> list[Customer | None]:
        """Customers for ``keys`` in ``system``, position by position."""
        ctx = context_of(info)
        _check(ctx, system, keys)
        entities = await ctx.loaders.entity("customer", system).load_many(keys)
        await prefetch(ctx, selected(info, CUSTOMER_FIELDS), entities)
        return [None if e is None else Customer(entity=e) for e in entities]

    @strawberry.field(description="A project by its key in any linked system; null if unlinked.")
    async def project(self, info: strawberry.Info, system: str, key: str) -> ProjectType | None:
        """The project holding ``key`` in ``system``."""
        entity = await _entity(info, "project", system, key)
        return None if entity is None else ProjectType(entity=entity, project_keys=entity.keys)

    @strawberry.field(
        permission_classes=FINANCIAL,
        description=(
            "A sales order by its ERP key (its number) in an ERP, or by a key another system "
            "holds that the link map ties to an order; null if there is none, none is linked, "
            "or it is outside the caller's row scope."
        ),
    )
    async def order(self, info: strawberry.Info, system: str, key: str) -> SalesOrderType | None:
        """The sales order ``key`` in ``system`` names, read live from its ERP."""
        ctx = context_of(info)
        _check(ctx, system, [key])
        return await order_by_key(ctx, system, key)

    @strawberry.field(
        permission_classes=FINANCIAL,
        description=(
            "An invoice or credit note by its key (its number) in an ERP; null if the ERP has "
            "none or it is outside the caller's row scope."
        ),
    )
    async def invoice(self, info: strawberry.Info, system: str, key: str) -> InvoiceType | None:
        """The invoice ``key`` in ERP ``system`` names, read live from it."""
        ctx = context_of(info)
        _check(ctx, system, [key])
        return await invoice_by_key(ctx, system, key)

    @strawberry.field(
        permission_classes=[CanEditOrders],
        description="Ask the ERP to price a new line or a change of a line, saving nothing.",
    )
    async def preview_order_line(
        self, info: strawberry.Info, input: PreviewOrderLineInput
    ) -> OrderLinePreviewResult:
        """The ERP's pricing of the line, with availability."""
        return await preview(info, input)

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Attempted edits of an order's lines, newest first.",
    )
    async def audit_trail(
        self, info: strawberry.Info, order: OrderRef, first: int = 50
    ) -> list[AuditEventType]:
        """The audit trail of one order (by its ERP key or a linked key), within the row
        scope: a scoped admin reads only orders or customers in scope."""
        if not 1 <= first <= MAX_PAGE:
            raise BadInput(f"first must be between 1 and {MAX_PAGE}")
        return await audit_trail(context_of(info), order, first)

    @strawberry.field(description="A supplier by its key in any linked system; null if unlinked.")
    async def supplier(self, info: strawberry.Info, system: str, key: str) -> SupplierType | None:
        """The supplier holding ``key`` in ``system``."""
        entity = await _entity(info, "supplier", system, key)
        return None if entity is None else SupplierType(entity=entity)

    @strawberry.field(
        permission_classes=[IsAnalyst],
        description="Linked customers, filtered on fields of any system and sorted." + LIST_NOTE,
    )
    async def customers(
        self,
        info: strawberry.Info,
        filter: CustomerFilter | None = None,
        order_by: CustomerOrder | None = None,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> CustomerConnection | None:
        """A page of the customers ``filter`` selects, in ``order_by`` order."""
        ctx = context_of(info)
        selection = customer_selection(ctx, filter)
        memo = memo_slot(info.context, "customers", filter, order_by)
        page = await paginate(ctx, selection, customer_ordering(order_by), first, after, memo)
        return CustomerConnection.of(page)

    @strawberry.field(
        permission_classes=[IsAnalyst],
        description="Linked projects, filtered on ERP and timesheet fields and sorted." + LIST_NOTE,
    )
    async def projects(
        self,
        info: strawberry.Info,
        filter: ProjectFilter | None = None,
        order_by: ProjectOrder | None = None,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> ProjectConnection | None:
        """A page of the projects ``filter`` selects, in ``order_by`` order."""
        ctx = context_of(info)
        selection = project_selection(ctx, filter)
        memo = memo_slot(info.context, "projects", filter, order_by)
        page = await paginate(ctx, selection, project_ordering(order_by), first, after, memo)
        return ProjectConnection.of(page)

    @strawberry.field(
        permission_classes=[IsAnalyst],
        description="Linked suppliers, filtered on ERP fields and sorted." + LIST_NOTE,
    )
    async def suppliers(
        self,
        info: strawberry.Info,
        filter: SupplierFilter | None = None,
        order_by: SupplierOrder | None = None,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> SupplierConnection | None:
        """A page of the suppliers ``filter`` selects, in ``order_by`` order."""
        ctx = context_of(info)
        selection = supplier_selection(ctx, filter)
        memo = memo_slot(info.context, "suppliers", filter, order_by)
        page = await paginate(ctx, selection, supplier_ordering(order_by), first, after, memo)
        return SupplierConnection.of(page)

    @strawberry.field(
        permission_classes=[IsAnalyst],
        description=(
            "Revenue this year, overdue amount, open balance and unbilled hours of the "
            "customers `filter` selects, per currency, grouped by a CRM field or by month; "
            "analyst or admin role."
        ),
    )
    async def customer_totals(
        self,
        info: strawberry.Info,
        group_by: CustomerGrouping,
        filter: CustomerFilter | None = None,
    ) -> CustomerTotals | None:
        """The totals per group."""
        ctx = context_of(info)
        return await customer_totals(ctx, customer_selection(ctx, filter), group_by)
