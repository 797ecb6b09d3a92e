"""The ``AuditEvent`` type: one attempted order-line edit, as the audit trail keeps it;
and :func:`audit_trail`, which reads an order's trail within the principal's row scope."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

import strawberry
from strawberry.scalars import JSON

from linkmap.audit import AuditEvent

if TYPE_CHECKING:
    from resolvers.context import Context
    from resolvers.mutations.types import OrderRef


@strawberry.type(name="AuditEvent", description="One attempted edit: who, when, what, outcome.")
class AuditEventType:
    """An audit row; rows are append-only."""

    id: strawberry.ID
    at: datetime
    actor: str
    operation: str
    system: str
    order_key: str | None
    line_key: str | None
    fields: list[str]
    before: JSON | None = strawberry.field(description="The line before the edit.")
    after: JSON | None = strawberry.field(description="The line after the edit.")
    idempotency_key: str | None
    replay: bool
    outcome: str = strawberry.field(description="APPLIED, or the stable code of the refusal.")
    erp_latency_ms: int | None

    @staticmethod
    def of(event: AuditEvent) -> AuditEventType:
        """The GraphQL form of an audit event."""
        return AuditEventType(
            id=strawberry.ID(str(event.id)),
            at=event.at,
            actor=event.actor,
            operation=event.operation,
            system=event.system,
            order_key=event.order_key,
            line_key=event.line_key,
            fields=list(event.fields),
            before=cast(JSON, event.before),
            after=cast(JSON, event.after),
            idempotency_key=event.idempotency_key,
            replay=event.replay,
            outcome=event.outcome,
            erp_latency_ms=event.erp_latency_ms,
        )


async def _erp_order(ctx: Context, ref: OrderRef) -> tuple[str, str] | None:
    """The ERP system and order key ``ref`` names, looked up in the link map without the
    row scope (the caller filters what it returns); None if no ERP order is linked."""
    if ref.system not in ctx.systems:
        return None
    if "erp" in ctx.systems.sources[ref.system].kinds:
        return ref.system, ref.key
    found = await ctx.links.resolve_many("order", ref.system, [ref.key])
    entity = found.get(ref.key)
    if entity is None:
        return None
    for name in ctx.systems.of_kind("erp"):
        keys = entity.keys.get(name)
        if keys:
            return name, keys[0]
    return None


async def audit_trail(ctx: Context, ref: OrderRef, first: int) -> list[AuditEventType]:
    """Up to ``first`` audit events of the order ``ref`` names, newest first.

    Without a row scope: every event of the order. With one (RELIABILITY S5): every event
    if the order itself is in scope, else only the events recorded with a customer in
    scope; an order out of scope answers an empty trail, exactly like an order with no
    events, so its existence is not revealed. No upstream system is called.
    """
    from resolvers.mutations.order_lines import address
    from resolvers.mutations.validation import MAX_KEY, check_text

    check_text("order.system", ref.system, limit=64, required=True)
    check_text("order.key", ref.key, limit=MAX_KEY, required=True)
    if ctx.scope is None:
        target = await address(ctx, ref)
        system, key = target[:2] if isinstance(target, tuple) else (ref.system, ref.key)
        events = await ctx.audit.events(order_key=key, system=system, limit=first)
        return [AuditEventType.of(e) for e in events]
    found = await _erp_order(ctx, ref)
    if found is None:
        return []
    system, key = found
    if await ctx.loaders.entity("order", system).load(key) is not None:
        events = await ctx.audit.events(order_key=key, system=system, limit=first)
    else:
        customers = await ctx.audit.customers_of(system=system, order_key=key)
        entities = await ctx.loaders.entity("customer", system).load_many(customers)
        admitted = [c for c, e in zip(customers, entities, strict=True) if e is not None]
        events = await ctx.audit.events(
            order_key=key, system=system, customer_keys=admitted, limit=first
        )
    return [AuditEventType.of(e) for e in events]
