"""Which ERP order a reference names, and whether the principal may see it.

An order is named by a system and a key: in an ERP, its own order key (its number); in any
other system, a key the link map ties to an order entity (kind ``order``), which names the
order by its key in the first configured ERP holding one. The order-line mutations, the
audit trail and the ``order`` root query resolve references here, so they agree on what a
reference means.

The row scope (``linkmap.scope``) decides what a scoped principal sees of an order or an
invoice: an order is visible when its order entity is in scope, or its ERP customer is;
an invoice when its customer is, or its order is.
"""

from __future__ import annotations

from dataclasses import dataclass

from linkmap.records import Entity
from resolvers.context import Context


@dataclass(frozen=True, slots=True)
class ErpOrder:
    """An order as its ERP knows it: the ERP system's name and the ERP's order key."""

    system: str
    key: str


def first_erp_key(ctx: Context, entity: Entity | None) -> ErpOrder | None:
    """The order ``entity`` names in the first configured ERP holding a key of it (its
    first key there); None without an entity or an ERP key."""
    if entity is None:
        return None
    for name in ctx.systems.of_kind("erp"):
        keys = entity.keys.get(name)
        if keys:
            return ErpOrder(name, keys[0])
    return None


async def erp_order(
    ctx: Context, system: str, key: str, *, beyond_scope: bool = False
) -> ErpOrder | None:
    """The ERP order ``key`` in ``system`` names, or None when no ERP order is linked to it.

    ``system`` must be configured (the caller checks). An ERP's key names its own order
    (whether the ERP holds it is for the caller to read). Another system's key is looked
    up in the link map, through the principal's row scope (an order entity outside it is
    as if not linked), or, with ``beyond_scope``, without it: the caller then decides what
    the principal may see of the order (:func:`order_visible`).
    """
    if "erp" in ctx.systems.sources[system].kinds:
        return ErpOrder(system, key)
    entity = await ctx.loaders.entity("order", system).load(key)
    if entity is None and beyond_scope and ctx.scope is not None:
        entity = (await ctx.links.resolve_many("order", system, [key])).get(key)
    return first_erp_key(ctx, entity)


async def order_in_scope(ctx: Context, order: ErpOrder) -> bool:
    """Whether the principal's row scope admits the order entity of ``order`` (always, for
    a principal without a scope). Asks the link map only, never the ERP."""
    if ctx.scope is None:
        return True
    return await ctx.loaders.entity("order", order.system).load(order.key) is not None


def scope_reaches_customers(ctx: Context) -> bool:
    """Whether the principal's row scope could admit any customer (no scope: yes)."""
    return ctx.scope is None or any(entry.kind == "customer" for entry in ctx.scope.entries)


async def customer_in_scope(ctx: Context, system: str, customer_key: str) -> bool:
    """Whether the principal's row scope admits the customer ``customer_key`` of ERP
    ``system`` (always, for a principal without a scope). Asks the link map only."""
    if ctx.scope is None:
        return True
    if not scope_reaches_customers(ctx):
        return False
    return await ctx.loaders.entity("customer", system).load(customer_key) is not None


async def order_visible(ctx: Context, order: ErpOrder, customer_key: str) -> bool:
    """Whether the principal may see ``order`` of the ERP customer ``customer_key``: its
    order entity or its customer is in the row scope (always, without a scope)."""
    return await order_in_scope(ctx, order) or await customer_in_scope(
        ctx, order.system, customer_key
    )


async def invoice_visible(
    ctx: Context, system: str, customer_key: str, order_key: str | None
) -> bool:
    """Whether the principal may see an invoice of ERP ``system`` to ``customer_key`` (for
    the order ``order_key``, where it has one): its customer or its order is in the row
    scope (always, without a scope)."""
    if await customer_in_scope(ctx, system, customer_key):
        return True
    return order_key is not None and await order_in_scope(ctx, ErpOrder(system, order_key))
