"""The financial overview of a customer: ERP balances and timesheet hours, read live.

Every figure is its own field, so a failing system nulls only its own figures. Amounts
are lists with one ``Money`` per currency: Keylink never converts or adds across currencies.
With several ERPs (one per legal entity), a figure of the overview is summed over them
within each currency only, and ``bySystem`` gives each system's own figures.
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
from resolvers.types.unknown_states import note_unknown_invoices
from sources import figures
from sources.money import Money
from sources.records import (
    OPEN_ORDER_STATUSES,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    OrderStatus,
    SalesOrder,
)

OPEN_INVOICES = InvoiceQuery(status=InvoiceStatus.OPEN)
NO_BILLING_FLAGS = "keeps no billing flags: unbilledHours counts every hour as billable"
UNBILLED_ENTRIES = EntryQuery(billable=True, invoiced=False)
"""The time entries behind ``unbilledHours``: billable, not yet invoiced."""


def month_entries(today: date) -> EntryQuery:
    """The time entries behind ``hoursThisMonth``: from the 1st of the month to ``today``."""
    return EntryQuery(date_from=today.replace(day=1), date_to=today)


def revenue_window(today: date) -> InvoiceQuery:
    """Invoices issued from 1 January last year up to ``today``: both revenue periods."""
    return InvoiceQuery(issued_from=date(today.year - 1, 1, 1), issued_to=today)


async def open_invoices(ctx: Context, keys: Mapping[str, tuple[str, ...]]) -> list[Invoice]:
    """The entity's open invoices across its ERP systems (those in a state Keylink does
    not know, where a system returns them, are noted and counted in no figure)."""
    pairs = await children(ctx, "erp", keys, "invoices", OPEN_INVOICES)
    note_unknown_invoices(ctx, pairs)
    return [inv for _, inv in pairs]


async def revenue_invoices(
    ctx: Context, keys: Mapping[str, tuple[str, ...]], today: date
) -> list[Invoice]:
    """The entity's invoices of both revenue periods across its ERP systems."""
    pairs = await children(ctx, "erp", keys, "invoices", revenue_window(today))
    note_unknown_invoices(ctx, pairs)
    return [inv for _, inv in pairs]


async def open_orders(ctx: Context, keys: Mapping[str, tuple[str, ...]]) -> list[SalesOrder]:
    """The entity's orders that may count as open, across its ERP systems; those in a
    state the system's translation table does not know are noted (left out of figures)."""
    pairs = await children(ctx, "erp", keys, "orders", OPEN_ORDER_STATUSES)
    for system, order in pairs:
        if order.status is OrderStatus.UNKNOWN:
            ctx.states.note(
                system, f"order state {order.status_raw!r} unknown: left out of openOrdersValue"
            )
    return [order for _, order in pairs]


async def credit_of(
    ctx: Context, keys: Mapping[str, tuple[str, ...]]
) -> tuple[str, Money | None] | None:
    """The first ERP (in configuration order) holding the customer, with its credit limit."""
    found = await first(ctx, "erp", keys, "customers")
    return None if found is None else (found[0], found[1].credit_limit)


async def credit_available_in(
    ctx: Context, keys: Mapping[str, tuple[str, ...]]
) -> MoneyType | None:
    """Credit available in the first ERP holding the customer: its limit minus the open
    balance and open orders in that same ERP (a credit limit is one legal entity's; another
    ERP's invoices are not charged against it)."""
    found = await credit_of(ctx, keys)
    if found is None or found[1] is None:
        return None
    system, limit = found
    own = {system: keys[system]}
    invoices, orders = await open_invoices(ctx, own), await open_orders(ctx, own)
    return money(figures.credit_available(limit, invoices, orders))


ACROSS_SYSTEMS = (
    " With several ERPs: summed over them within each currency only, never across "
    "currencies; bySystem gives each system's own."
)


@strawberry.type(
    name="SystemFinancialFigures",
    description="One ERP system's figures for the customer, read live, per currency.",
)
class SystemFigures:
    """The ERP figures of one system (one legal entity); each means what
    ``sources.figures`` computes (FIGURES.md)."""

    keys: strawberry.Private[Mapping[str, tuple[str, ...]]]
    as_of: strawberry.Private[date]
    system: str = strawberry.field(description="The ERP system these figures come from.")

    @strawberry.field(
        description="Amount due on this system's open invoices (incl. tax), per currency."
    )
    async def open_balance(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on this system's open invoices and credit notes."""
        return money_list(figures.open_balance(await open_invoices(context_of(info), self.keys)))

    @strawberry.field(description="Amount due on this system's overdue invoices, per currency.")
    async def overdue_amount(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on this system's overdue invoices."""
        invoices = await open_invoices(context_of(info), self.keys)
        return money_list(figures.overdue_amount(invoices, self.as_of))

    @strawberry.field(description="Number of this system's open invoices past their due date.")
    async def overdue_count(self, info: strawberry.Info) -> int | None:
        """How many of this system's invoices are overdue."""
        invoices = await open_invoices(context_of(info), self.keys)
        return len(figures.overdue_invoices(invoices, self.as_of))

    @strawberry.field(description="This system's revenue (excl. tax) this year, per currency.")
    async def revenue_year_to_date(self, info: strawberry.Info) -> list[MoneyType] | None:
        """This system's revenue of this year so far."""
        invoices = await revenue_invoices(context_of(info), self.keys, self.as_of)
        return money_list(figures.revenue_year_to_date(invoices, self.as_of))

    @strawberry.field(description="The same revenue for 1 January to the same day last year.")
    async def revenue_same_period_last_year(self, info: strawberry.Info) -> list[MoneyType] | None:
        """This system's revenue of last year up to the same day."""
        invoices = await revenue_invoices(context_of(info), self.keys, self.as_of)
        return money_list(figures.revenue_same_period_last_year(invoices, self.as_of))

    @strawberry.field(description="Total (incl. tax) of this system's open orders, per currency.")
    async def open_orders_value(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Value of this system's orders not yet invoiced."""
        orders = await open_orders(context_of(info), self.keys)
        return money_list(figures.open_orders_value(orders))

    @strawberry.field(description="The credit limit this system grants the customer.")
    async def credit_limit(self, info: strawberry.Info) -> MoneyType | None:
        """This system's credit limit."""
        found = await credit_of(context_of(info), self.keys)
        return None if found is None else money(found[1])

    @strawberry.field(
        description="This system's credit limit minus its open balance and open orders."
    )
    async def credit_available(self, info: strawberry.Info) -> MoneyType | None:
        """What the customer may still buy on credit in this system."""
        return await credit_available_in(context_of(info), self.keys)


@strawberry.type(description="A customer's finances across systems, read live, per currency.")
class FinancialOverview:
    """Balances and revenue from the ERP, hours from the timesheet systems; each figure
    means what ``sources.figures`` computes (FIGURES.md)."""

    keys: strawberry.Private[Mapping[str, tuple[str, ...]]]
    as_of: date = strawberry.field(description="The day the figures are computed for.")

    @strawberry.field(
        description=(
            "Amount due on open invoices (issued, not fully paid; incl. tax), per currency. "
            "Credit notes lower it; it may be negative." + ACROSS_SYSTEMS
        )
    )
    async def open_balance(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on open invoices and credit notes."""
        invoices = await open_invoices(context_of(info), self.keys)
        return money_list(figures.open_balance(invoices))

    @strawberry.field(
        description=(
            "Amount due on open invoices past their earliest unpaid due date, per currency "
            "(a credit note is never overdue; due today is not overdue)." + ACROSS_SYSTEMS
        )
    )
    async def overdue_amount(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of amounts due on overdue invoices."""
        invoices = await open_invoices(context_of(info), self.keys)
        return money_list(figures.overdue_amount(invoices, self.as_of))

    @strawberry.field(
        description="Number of open invoices past their due date, in all the customer's ERPs."
    )
    async def overdue_count(self, info: strawberry.Info) -> int | None:
        """How many invoices are overdue."""
        invoices = await open_invoices(context_of(info), self.keys)
        return len(figures.overdue_invoices(invoices, self.as_of))

    @strawberry.field(
        description=(
            "Revenue (excl. tax) of issued invoices dated 1 January to today, minus credit "
            "notes, per currency." + ACROSS_SYSTEMS
        )
    )
    async def revenue_year_to_date(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Revenue of this year so far."""
        invoices = await revenue_invoices(context_of(info), self.keys, self.as_of)
        return money_list(figures.revenue_year_to_date(invoices, self.as_of))

    @strawberry.field(
        description="The same revenue for 1 January to the same day last year." + ACROSS_SYSTEMS
    )
    async def revenue_same_period_last_year(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Revenue of last year up to the same day."""
        invoices = await revenue_invoices(context_of(info), self.keys, self.as_of)
        return money_list(figures.revenue_same_period_last_year(invoices, self.as_of))

    @strawberry.field(
        description=(
            "Total (incl. tax) of orders neither cancelled nor invoiced (drafts, quotations, "
            "confirmed orders, orders whose invoice is still a draft), per currency."
            + ACROSS_SYSTEMS
        )
    )
    async def open_orders_value(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Value of orders not yet invoiced; orders in a state the system's translation
        table does not know are left out, and the answer's notes say so."""
        orders = await open_orders(context_of(info), self.keys)
        return money_list(figures.open_orders_value(orders))

    @strawberry.field(
        description=(
            "The credit limit the ERP grants the customer (the first ERP holding the "
            "customer; bySystem gives each system's)."
        )
    )
    async def credit_limit(self, info: strawberry.Info) -> MoneyType | None:
        """The first ERP's credit limit."""
        found = await credit_of(context_of(info), self.keys)
        return None if found is None else money(found[1])

    @strawberry.field(
        description=(
            "Credit limit minus open balance and open orders, in the ERP that grants the "
            "limit (creditLimit's). Null when there is no limit, or when part of that ERP's "
            "exposure is in another currency (Keylink never converts)."
        )
    )
    async def credit_available(self, info: strawberry.Info) -> MoneyType | None:
        """What the customer may still buy on credit."""
        return await credit_available_in(context_of(info), self.keys)

    @strawberry.field(
        description=(
            "The ERP figures of each ERP system holding the customer (one legal entity each), "
            "in configuration order: no total here is summed across systems or currencies."
        )
    )
    def by_system(self, info: strawberry.Info) -> list[SystemFigures]:
        """One entry per ERP system in which the customer has keys."""
        return [
            SystemFigures(keys={system: keys}, as_of=self.as_of, system=system)
            for system, keys in keyed_systems(context_of(info), "erp", self.keys)
        ]

    async def _hours(self, info: strawberry.Info, query: EntryQuery) -> list[Any]:
        pairs = await children(context_of(info), "timesheet", self.keys, "time_entries", query)
        return [entry for _, entry in pairs]

    @strawberry.field(description="Hours logged from the 1st of this month to today.")
    async def hours_this_month(self, info: strawberry.Info) -> Decimal | None:
        """Hours of the current month."""
        entries = await self._hours(info, month_entries(self.as_of))
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
        hours = figures.hours(await self._hours(info, UNBILLED_ENTRIES), None, self.as_of)
        for system, _keys in keyed_systems(ctx, "timesheet", self.keys):
            source = ctx.systems.sources[system]
            if not getattr(source, "keeps_billing_flags", True):
                ctx.states.note(system, NO_BILLING_FLAGS)
        return hours


def month_start(today: date) -> date:
    """The first day of ``today``'s month."""
    return today - timedelta(days=today.day - 1)
