"""The financial overview of a customer: ERP balances and timesheet hours, read live.

Every figure is its own field, so a failing system nulls only its own figures. Amounts
are lists with one ``Money`` per currency: Keylink never converts or adds across currencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import strawberry

from resolvers.context import Context, context_of
from resolvers.reads import children, first, keyed_systems
from resolvers.types.money import MoneyType, money, money_list
from sources import figures
from sources.records import (
    OPEN_ORDER_STATUSES,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    OrderStatus,
)

OPEN_INVOICES = InvoiceQuery(status=InvoiceStatus.OPEN)
NO_BILLING_FLAGS = "keeps no billing flags: unbilledHours counts every hour as billable"


def revenue_window(today: date) -> InvoiceQuery:
    """Invoices issued from 1 January last year up to ``today``: both revenue periods."""
    return InvoiceQuery(issued_from=date(today.year - 1, 1, 1), issued_to=today)


async def open_invoices(ctx: Context, keys: Mapping[str, tuple[str, ...]]) -> list[Invoice]:
    """The entity's open invoices across its ERP systems."""
    return [inv for _, inv in await children(ctx, "erp", keys, "invoices", OPEN_INVOICES)]


@strawberry.type(description="A customer's finances across systems, read live, per currency.")
class FinancialOverview:
    """Balances and revenue from the ERP, hours from the timesheet systems; each figure
    means what ``sources.figures`` computes (FIGURES.md)."""

    keys: strawberry.Private[Mapping[str, tuple[str, ...]]]
    as_of: date = strawberry.field(description="The day the figures are computed for.")

    @strawberry.field(
        description=(
            "Amount due on open invoices (issued, not fully paid; incl. tax), per currency. "
            "Credit notes lower it; it may be negative."
        )
    )
    async def open_balance(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on open invoices and credit notes."""
        invoices = await open_invoices(context_of(info), self.keys)
        return money_list(figures.open_balance(invoices))

    @strawberry.field(
        description=(
            "Amount due on open invoices past their earliest unpaid due date, per currency "
            "(a credit note is never overdue; due today is not overdue)."
        )
    )
    async def overdue_amount(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on overdue invoices."""
        invoices = await open_invoices(context_of(info), self.keys)
        return money_list(figures.overdue_amount(invoices, self.as_of))

    @strawberry.field(description="Number of open invoices past their due date.")
    async def overdue_count(self, info: strawberry.Info) -> int | None:
        """How many invoices are overdue."""
        invoices = await open_invoices(context_of(info), self.keys)
        return len(figures.overdue_invoices(invoices, self.as_of))

    async def _revenue_invoices(self, info: strawberry.Info) -> list[Invoice]:
        ctx = context_of(info)
        pairs = await children(ctx, "erp", self.keys, "invoices", revenue_window(self.as_of))
        return [inv for _, inv in pairs]

    @strawberry.field(
        description=(
            "Revenue (excl. tax) of issued invoices dated 1 January to today, minus credit "
            "notes, per currency."
        )
    )
    async def revenue_year_to_date(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Revenue of this year so far."""
        invoices = await self._revenue_invoices(info)
        return money_list(figures.revenue_year_to_date(invoices, self.as_of))

    @strawberry.field(description="The same revenue for 1 January to the same day last year.")
    async def revenue_same_period_last_year(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Revenue of last year up to the same day."""
        invoices = await self._revenue_invoices(info)
        return money_list(figures.revenue_same_period_last_year(invoices, self.as_of))

    @strawberry.field(
        description=(
            "Total (incl. tax) of orders neither cancelled nor invoiced (drafts, quotations, "
            "confirmed orders, orders whose invoice is still a draft), per currency."
        )
    )
    async def open_orders_value(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Value of orders not yet invoiced; orders in a state the system's translation
        table does not know are left out, and the answer's notes say so."""
        ctx = context_of(info)
        pairs = await children(ctx, "erp", self.keys, "orders", OPEN_ORDER_STATUSES)
        for system, order in pairs:
            if order.status is not OrderStatus.UNKNOWN:
                continue
            ctx.states.note(
                system, f"order state {order.status_raw!r} unknown: left out of openOrdersValue"
            )
        return money_list(figures.open_orders_value(order for _, order in pairs))

    @strawberry.field(description="The credit limit the ERP grants the customer.")
    async def credit_limit(self, info: strawberry.Info) -> MoneyType | None:
        """The ERP's credit limit."""
        found = await first(context_of(info), "erp", self.keys, "customers")
        return None if found is None else money(found[1].credit_limit)

    @strawberry.field(
        description=(
            "Credit limit minus open balance and open orders. Null when there is no limit, or "
            "when part of the exposure is in another currency (Keylink never converts)."
        )
    )
    async def credit_available(self, info: strawberry.Info) -> MoneyType | None:
        """What the customer may still buy on credit."""
        ctx = context_of(info)
        found = await first(ctx, "erp", self.keys, "customers")
        if found is None or found[1].credit_limit is None:
            return None
        invoices = await open_invoices(ctx, self.keys)
        orders = await children(ctx, "erp", self.keys, "orders", OPEN_ORDER_STATUSES)
        return money(
            figures.credit_available(found[1].credit_limit, invoices, (o for _, o in orders))
        )

    async def _hours(self, info: strawberry.Info, query: EntryQuery) -> list[Any]:
        pairs = await children(context_of(info), "timesheet", self.keys, "time_entries", query)
        return [entry for _, entry in pairs]

    @strawberry.field(description="Hours logged from the 1st of this month to today.")
    async def hours_this_month(self, info: strawberry.Info) -> Decimal | None:
        """Hours of the current month."""
        query = EntryQuery(date_from=self.as_of.replace(day=1), date_to=self.as_of)
        entries = await self._hours(info, query)
        return figures.hours(entries, self.as_of.replace(day=1), self.as_of)

    @strawberry.field(
        description=(
            "Billable hours not yet invoiced, up to today; where the timesheet system keeps "
            "no billing flags, all hours (extensions.sources says so)."
        )
    )
    async def unbilled_hours(self, info: strawberry.Info) -> Decimal | None:
        """Billable hours waiting to be invoiced."""
        ctx = context_of(info)
        query = EntryQuery(billable=True, invoiced=False)
        hours = figures.hours(await self._hours(info, query), None, self.as_of)
        for system, _keys in keyed_systems(ctx, "timesheet", self.keys):
            source = ctx.systems.sources[system]
            if not getattr(source, "keeps_billing_flags", True):
                ctx.states.note(system, NO_BILLING_FLAGS)
        return hours


def month_start(today: date) -> date:
    """The first day of ``today``'s month."""
    return today - timedelta(days=today.day - 1)
