"""One order or one invoice by its ERP key (its number), or an order by a linked key.

What the ``order`` and ``invoice`` root queries answer. Each read goes through the
request's loaders (``resolvers.loaders``), so every lookup of one request asks each ERP
once: ``sales_orders`` for orders, ``invoices_by_key`` (``sources.base.InvoicesByKey``) for
invoices. A record the principal may not see (``resolvers.order_refs``) answers null,
exactly like one the ERP does not hold; where the row scope can admit no order or
invoice at all, no ERP is called.
"""

from __future__ import annotations

from typing import Any

from strawberry.dataloader import DataLoader

from resolvers.context import Context
from resolvers.order_refs import (
    erp_order,
    invoice_visible,
    order_in_scope,
    order_visible,
    scope_reaches_customers,
)
from resolvers.types.erp import InvoiceType, SalesOrderType
from resolvers.types.unknown_states import note_unknown_invoices

UNSUPPORTED_READS = {
    "sales_orders": "orders are not read by their key from this system",
    "invoices_by_key": "invoices are not read by their key from this system",
}
"""Why a system that does not declare a lookup's read cannot answer it."""


def _lookup(ctx: Context, system: str, operation: str) -> DataLoader[str, Any]:
    """The request's loader of ``operation`` of ERP ``system``; ``Unsupported`` (null with
    NOT_SUPPORTED, noted in ``extensions.sources``) when the system does not declare it."""
    return ctx.loaders.offered(system, operation, UNSUPPORTED_READS[operation], many=False)


async def order_by_key(ctx: Context, system: str, key: str) -> SalesOrderType | None:
    """The sales order ``key`` names in ``system`` (an ERP's order key, or a key linked to
    an order entity), as its ERP has it now; None when no such order exists, none is
    linked, or the principal may not see it."""
    found = await erp_order(ctx, system, key, beyond_scope=True)
    if found is None:
        return None
    if not scope_reaches_customers(ctx) and not await order_in_scope(ctx, found):
        return None  # nothing in the scope could admit it: the ERP is not asked
    record = await _lookup(ctx, found.system, "sales_orders").load(found.key)
    if record is None or not await order_visible(ctx, found, record.customer_key):
        return None
    return SalesOrderType.of(found.system, record)


async def invoice_by_key(ctx: Context, system: str, key: str) -> InvoiceType | None:
    """The invoice (or credit note) ``key`` names in ERP ``system``, as the ERP has it now;
    None when the ERP holds none, the principal may not see it, or ``system`` is not an
    ERP (the link map links no invoices)."""
    if "erp" not in ctx.systems.sources[system].kinds:
        return None
    scope = ctx.scope
    if scope is not None and not any(e.kind in ("customer", "order") for e in scope.entries):
        return None  # nothing in the scope could admit it: the ERP is not asked
    record = await _lookup(ctx, system, "invoices_by_key").load(key)
    if record is None or not await invoice_visible(
        ctx, system, record.customer_key, record.order_key
    ):
        return None
    note_unknown_invoices(ctx, [(system, record)])
    return InvoiceType.of(system, record, ctx.today)
