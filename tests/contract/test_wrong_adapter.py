"""The suite catches a wrong adapter: each deliberately wrong wrapper around the REST
adapter (over the demo ERP's facts) breaks one meaning of FIGURES.md, and the contract's
checks for that meaning fail on it, while the honest adapter passes them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pytest

from sources.base import EditableErp
from sources.errors import SourceError
from sources.money import Money
from sources.records import (
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    LineChanges,
    LineWrite,
    OrderStatus,
    SalesOrder,
)
from tests.support import contract_demo
from tests.support.contract import CHECKS, System, TransportWrapper
from tests.support.contract_demo import DemoFacts


class Wrong:
    """Delegates everything to a real adapter; subclasses get one meaning wrong."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CreditNoteAsInvoice(Wrong):
    """Reads a credit note as a plain invoice with positive amounts: it then counts as
    overdue and raises the open balance."""

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        def positive(m: Money) -> Money:
            return Money(abs(m.amount), m.currency)

        found = await self.inner.invoices(customer_keys, query)
        return {
            key: [
                dataclasses.replace(
                    inv,
                    total=positive(inv.total),
                    total_untaxed=positive(inv.total_untaxed),
                    amount_due=positive(inv.amount_due),
                )
                for inv in invoices
            ]
            for key, invoices in found.items()
        }


class DraftInvoiceAsOpen(Wrong):
    """Counts a draft invoice as issued and open."""

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        found = await self.inner.invoices(customer_keys, query)
        return {
            key: [
                dataclasses.replace(inv, status=InvoiceStatus.OPEN, amount_due=inv.total)
                if inv.status is InvoiceStatus.DRAFT
                else inv
                for inv in invoices
            ]
            for key, invoices in found.items()
        }


class ProcessingAsInvoiced(Wrong):
    """Takes an order with a (draft) invoice for INVOICED."""

    @staticmethod
    def _flip(order: SalesOrder) -> SalesOrder:
        if order.status_raw == "processing":
            return dataclasses.replace(order, status=OrderStatus.INVOICED)
        return order

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        found = await self.inner.orders(customer_keys, None)
        return {
            key: [o for o in map(self._flip, orders) if statuses is None or o.status in statuses]
            for key, orders in found.items()
        }


class RetriesWrites(Wrong):
    """Sends a failed write again."""

    async def change_order_line(
        self, line_key: str, changes: LineChanges, *, version: str, idempotency_key: str
    ) -> LineWrite:
        try:
            return cast(
                LineWrite,
                await self.inner.change_order_line(
                    line_key, changes, version=version, idempotency_key=idempotency_key
                ),
            )
        except SourceError:
            return cast(
                LineWrite,
                await self.inner.change_order_line(
                    line_key, changes, version=version, idempotency_key=idempotency_key
                ),
            )


class SilentOnGarbage(Wrong):
    """Answers an empty list when the upstream's answer cannot be read."""

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        try:
            return cast(
                Mapping[str, Sequence[Invoice]], await self.inner.invoices(customer_keys, query)
            )
        except SourceError:
            return {key: [] for key in customer_keys}

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        try:
            return cast(
                Mapping[str, Sequence[SalesOrder]], await self.inner.orders(customer_keys, statuses)
            )
        except SourceError:
            return {key: [] for key in customer_keys}

    async def sales_orders(self, keys: Sequence[str]) -> Mapping[str, SalesOrder]:
        try:
            return cast(Mapping[str, SalesOrder], await self.inner.sales_orders(keys))
        except SourceError:
            return {}


class DropsDiscount(Wrong):
    """Silently ignores a line discount (neither applies nor refuses it)."""

    async def preview_line_change(self, line_key: str, changes: LineChanges) -> LineWrite:
        kept = dataclasses.replace(changes, discount_percent=None)
        if not kept.changed_fields():
            kept = dataclasses.replace(kept, description=None, quantity=None)
            line = (await self.inner.order_lines_by_key([line_key]))[line_key]
            order = (await self.inner.sales_orders([line.order_key]))[line.order_key]
            return LineWrite(line=line, order=order)
        return cast(LineWrite, await self.inner.preview_line_change(line_key, kept))


WRONG: dict[type[Wrong], tuple[str, ...]] = {
    CreditNoteAsInvoice: ("credit_note", "overdue", "open_balance", "revenue"),
    DraftInvoiceAsOpen: ("open_invoices", "revenue"),
    ProcessingAsInvoiced: ("order_states", "open_orders_value"),
    RetriesWrites: ("write_not_retried",),
    SilentOnGarbage: ("garbage_upstream",),
    DropsDiscount: ("declared_gaps",),
}
"""Each wrong adapter and the contract checks that must catch it."""


def wrong_system(demo: DemoFacts, wrong: type[Wrong]) -> System:
    def make(wrap: TransportWrapper) -> EditableErp:
        return cast(EditableErp, wrong(demo.adapter(wrap)))

    return System(
        name=f"wrong-{wrong.__name__}",
        adapter=cast(EditableErp, wrong(demo.adapter())),
        seeded=demo.seeded,
        make_adapter=make,
        is_write=contract_demo.is_write,
    )


@pytest.mark.parametrize(
    ("wrong", "check"),
    [(wrong, check) for wrong, checks in WRONG.items() for check in checks],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
async def test_a_wrong_adapter_fails_the_suite(
    demo_facts: DemoFacts, wrong: type[Wrong], check: str
) -> None:
    honest = demo_facts.adapter()
    system = wrong_system(demo_facts, wrong)
    try:
        # the same check holds on the honest adapter over the same facts...
        await CHECKS[check](
            honest, dataclasses.replace(system, adapter=honest, make_adapter=demo_facts.adapter)
        )
        # ...and fails on the wrong one
        with pytest.raises(AssertionError):
            await CHECKS[check](system.adapter, system)
    finally:
        await honest.aclose()
        await system.adapter.aclose()


def test_the_wrong_adapters_name_checks_of_the_suite() -> None:
    assert all(set(checks) <= set(CHECKS) for checks in WRONG.values())
