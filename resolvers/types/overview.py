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
from resolvers.reads import children, first
from resolvers.types.money import MoneyType, money, per_currency
from sources.money import Money
from sources.records import (
    OPEN_ORDER_STATUSES,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
)

OPEN_INVOICES = InvoiceQuery(status=InvoiceStatus.OPEN)


def same_day_last_year(today: date) -> date:
    """``today`` one year earlier (29 February becomes 28 February)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


def revenue_window(today: date) -> InvoiceQuery:
    """Invoices issued from 1 January last year up to ``today``: both revenue periods."""
    return InvoiceQuery(issued_from=date(today.year - 1, 1, 1), issued_to=today)


async def open_invoices(ctx: Context, keys: Mapping[str, tuple[str, ...]]) -> list[Invoice]:
    """The entity's open invoices across its ERP systems."""
    return [inv for _, inv in await children(ctx, "erp", keys, "invoices", OPEN_INVOICES)]


@strawberry.type(description="A customer's finances across systems, read live, per currency.")
class FinancialOverview:
    """Balances and revenue from the ERP, hours from the timesheet systems."""

    keys: strawberry.Private[Mapping[str, tuple[str, ...]]]
    as_of: date = strawberry.field(description="The day the figures are computed for.")

    @strawberry.field(description="Amount due on open invoices (incl. tax), per currency.")
    async def open_balance(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on open invoices."""
        invoices = await open_invoices(context_of(info), self.keys)
        return per_currency(inv.amount_due for inv in invoices)

    @strawberry.field(description="Amount due on invoices past their due date, per currency.")
    async def overdue_amount(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on overdue invoices."""
        invoices = await open_invoices(context_of(info), self.keys)
        return per_currency(inv.amount_due for inv in invoices if inv.is_overdue(self.as_of))

    @strawberry.field(description="Number of open invoices past their due date.")
    async def overdue_count(self, info: strawberry.Info) -> int | None:
        """How many invoices are overdue."""
        invoices = await open_invoices(context_of(info), self.keys)
        return sum(1 for inv in invoices if inv.is_overdue(self.as_of))

    async def _revenue(self, info: strawberry.Info, start: date, end: date) -> list[MoneyType]:
        ctx = context_of(info)
        pairs = await children(ctx, "erp", self.keys, "invoices", revenue_window(self.as_of))
        return per_currency(inv.total_untaxed for _, inv in pairs if start <= inv.issue_date <= end)

    @strawberry.field(
        description="Invoiced revenue (excl. tax) from 1 January to today, per currency."
    )
    async def revenue_year_to_date(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Revenue of this year so far."""
        return await self._revenue(info, date(self.as_of.year, 1, 1), self.as_of)

    @strawberry.field(description="Invoiced revenue (excl. tax) in the same period last year.")
    async def revenue_same_period_last_year(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Revenue of last year up to the same day."""
        return await self._revenue(
            info, date(self.as_of.year - 1, 1, 1), same_day_last_year(self.as_of)
        )

    @strawberry.field(description="Total (incl. tax) of draft and confirmed orders, per currency.")
    async def open_orders_value(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Value of orders not yet invoiced."""
        pairs = await children(context_of(info), "erp", self.keys, "orders", OPEN_ORDER_STATUSES)
        return per_currency(order.total for _, order in pairs)

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
        limit: Money = found[1].credit_limit
        invoices = await open_invoices(ctx, self.keys)
        orders = await children(ctx, "erp", self.keys, "orders", OPEN_ORDER_STATUSES)
        exposure = [inv.amount_due for inv in invoices] + [o.total for _, o in orders]
        if any(m.currency != limit.currency for m in exposure):
            return None
        used = sum((m.amount for m in exposure), Decimal("0"))
        return MoneyType(amount=limit.amount - used, currency=limit.currency)

    async def _hours(self, info: strawberry.Info, query: EntryQuery) -> list[Any]:
        return await children(context_of(info), "timesheet", self.keys, "time_entries", query)

    @strawberry.field(description="Hours logged from the 1st of this month to today.")
    async def hours_this_month(self, info: strawberry.Info) -> Decimal | None:
        """Hours of the current month."""
        query = EntryQuery(date_from=self.as_of.replace(day=1), date_to=self.as_of)
        return sum((e.hours for _, e in await self._hours(info, query)), Decimal("0"))

    @strawberry.field(description="Billable hours not yet invoiced, whenever logged.")
    async def unbilled_hours(self, info: strawberry.Info) -> Decimal | None:
        """Billable hours waiting to be invoiced."""
        query = EntryQuery(billable=True, invoiced=False)
        return sum((e.hours for _, e in await self._hours(info, query)), Decimal("0"))


def month_start(today: date) -> date:
    """The first day of ``today``'s month."""
    return today - timedelta(days=today.day - 1)
