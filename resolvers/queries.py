"""The root ``Query``: look up customers, projects and suppliers by any system's key."""

from __future__ import annotations

import strawberry

from linkmap.records import Entity
from resolvers.context import Context, context_of
from resolvers.errors import BadInput
from resolvers.mutations.order_lines import address, preview
from resolvers.mutations.types import OrderLinePreviewResult, OrderRef, PreviewOrderLineInput
from resolvers.permissions import CanEditOrders, IsAdmin
from resolvers.types.audit import AuditEventType
from resolvers.types.customer import Customer
from resolvers.types.project import ProjectType
from resolvers.types.supplier import SupplierType

MAX_KEYS = 500
MAX_PAGE = 100
MAX_KEY_LENGTH = 255


def _check(ctx: Context, system: str, keys: list[str]) -> None:
    if system not in ctx.systems:
        known = ", ".join(ctx.systems.sources)
        raise BadInput(f"unknown system {system!r}; known systems: {known}")
    if len(keys) > MAX_KEYS:
        raise BadInput(f"{len(keys)} keys requested; at most {MAX_KEYS} per request")
    for key in keys:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise BadInput(f"a key must have 1 to {MAX_KEY_LENGTH} characters")


async def _entity(info: strawberry.Info, kind: str, system: str, key: str) -> Entity | None:
    ctx = context_of(info)
    _check(ctx, system, [key])
    return await ctx.loaders.entity(kind, system).load(key)


@strawberry.type
class Query:
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
        return [None if e is None else Customer(entity=e) for e in entities]

    @strawberry.field(description="A project by its key in any linked system; null if unlinked.")
    async def project(self, info: strawberry.Info, system: str, key: str) -> ProjectType | None:
        """The project holding ``key`` in ``system``."""
        entity = await _entity(info, "project", system, key)
        return None if entity is None else ProjectType(entity=entity, project_keys=entity.keys)

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
        """The audit trail of one order (by its ERP key or a linked key)."""
        if not 1 <= first <= MAX_PAGE:
            raise BadInput(f"first must be between 1 and {MAX_PAGE}")
        ctx = context_of(info)
        target = await address(ctx, order)
        system, key = (order.system, order.key) if isinstance(target, dict) else target[:2]
        events = await ctx.audit.events(order_key=key, system=system, limit=first)
        return [AuditEventType.of(e) for e in events]

    @strawberry.field(description="A supplier by its key in any linked system; null if unlinked.")
    async def supplier(self, info: strawberry.Info, system: str, key: str) -> SupplierType | None:
        """The supplier holding ``key`` in ``system``."""
        entity = await _entity(info, "supplier", system, key)
        return None if entity is None else SupplierType(entity=entity)
