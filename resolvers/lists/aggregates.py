"""Totals over a customer list: revenue this year, overdue amount, open balance and
unbilled hours, per currency, per CRM segment/owner/team/country or per month.

Amounts are added per currency only (``sum_by_currency``), never converted. Grouped by a
CRM field, a customer counts in the group of its first CRM account's value (``key``
null: no account or no value). Grouped by MONTH, each invoice counts in the month it was
issued and each time entry in the month it was logged (``key`` ``YYYY-MM``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import strawberry

from resolvers.context import Context
from resolvers.lists.facts import (
    ACCOUNTS,
    OPEN_INVOICES_FACT,
    REVENUE_INVOICES,
    UNBILLED_ENTRIES,
    Row,
    gather_facts,
)
from resolvers.lists.inputs import CustomerGrouping
from resolvers.lists.selection import Selection, select
from resolvers.types.money import MoneyType, per_currency
from sources import figures
from sources.money import Money
from sources.records import Invoice, TimeEntry


@strawberry.type(description="Figures added up over a group of customers, per currency.")
class CustomerTotalsGroup:
    """One group's sums."""

    key: str | None = strawberry.field(
        description="The group's value (segment, owner, team, country or YYYY-MM); "
        "null for customers without one, and for the overall totals."
    )
    customers: int = strawberry.field(description="Customers contributing to the group.")
    revenue_year_to_date: list[MoneyType] = strawberry.field(
        description="Invoiced revenue (excl. tax) from 1 January to today."
    )
    overdue_amount: list[MoneyType] = strawberry.field(
        description="Amount due on invoices past their due date."
    )
    open_balance: list[MoneyType] = strawberry.field(
        description="Amount due on open invoices (incl. tax)."
    )
    unbilled_hours: Decimal = strawberry.field(description="Billable hours not yet invoiced.")


@strawberry.type(description="Customer figures added up per group.")
class CustomerTotals:
    """The groups, in key order (null last), and the totals over all of them."""

    as_of: date
    group_by: CustomerGrouping
    groups: list[CustomerTotalsGroup]
    overall: CustomerTotalsGroup


@dataclass
class _Sums:
    """Running sums of one group."""

    customers: set[int] = field(default_factory=set)
    revenue: list[Money] = field(default_factory=list)
    overdue: list[Money] = field(default_factory=list)
    open: list[Money] = field(default_factory=list)
    unbilled: Decimal = Decimal(0)

    def group(self, key: str | None) -> CustomerTotalsGroup:
        return CustomerTotalsGroup(
            key=key,
            customers=len(self.customers),
            revenue_year_to_date=per_currency(self.revenue),
            overdue_amount=per_currency(self.overdue),
            open_balance=per_currency(self.open),
            unbilled_hours=self.unbilled,
        )


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class _Adder:
    """Adds a customer's records into the groups the grouping puts them in."""

    def __init__(self, grouping: CustomerGrouping, today: date) -> None:
        self.grouping = grouping
        self.today = today
        self.sums: dict[str | None, _Sums] = {}
        self.overall = _Sums()

    def _at(self, key: str | None, customer: int) -> _Sums:
        sums = self.sums.setdefault(key, _Sums())
        sums.customers.add(customer)
        return sums

    def add(self, row: Row) -> None:
        customer = row.entity.id
        self.overall.customers.add(customer)
        by_month = self.grouping is CustomerGrouping.MONTH
        fixed: str | None = None
        if not by_month:
            fixed = _account_value(row, self.grouping.value.lower())
            self._at(fixed, customer)

        def target(day: date) -> _Sums:
            return self._at(_month(day) if by_month else fixed, customer)

        start = date(self.today.year, 1, 1)
        revenue: Iterable[Invoice] = row.fact(REVENUE_INVOICES)
        for inv in revenue:
            if figures.counts_as_revenue(inv, start, self.today):
                target(inv.issue_date).revenue.append(inv.total_untaxed)
                self.overall.revenue.append(inv.total_untaxed)
        open_invoices: Iterable[Invoice] = row.fact(OPEN_INVOICES_FACT)
        for inv in (inv for inv in open_invoices if inv.is_open):
            target(inv.issue_date).open.append(inv.amount_due)
            self.overall.open.append(inv.amount_due)
            if inv.is_overdue(self.today):
                target(inv.issue_date).overdue.append(inv.amount_due)
                self.overall.overdue.append(inv.amount_due)
        entries: Iterable[TimeEntry] = row.fact(UNBILLED_ENTRIES)
        for entry in entries:
            target(entry.date).unbilled += entry.hours
            self.overall.unbilled += entry.hours

    def result(self) -> CustomerTotals:
        keys = sorted(self.sums, key=lambda k: (k is None, k or ""))
        return CustomerTotals(
            as_of=self.today,
            group_by=self.grouping,
            groups=[self.sums[k].group(k) for k in keys],
            overall=self.overall.group(None),
        )


def _account_value(row: Row, name: str) -> str | None:
    accounts = row.fact(ACCOUNTS)
    if not accounts:
        return None
    value: str | None = getattr(accounts[0], name)
    return value


async def customer_totals(
    ctx: Context, selection: Selection, grouping: CustomerGrouping
) -> CustomerTotals:
    """The totals of the customers ``selection`` holds, grouped by ``grouping``."""
    rows = await select(ctx, selection)
    facts = [REVENUE_INVOICES, OPEN_INVOICES_FACT, UNBILLED_ENTRIES]
    if grouping is not CustomerGrouping.MONTH:
        facts.insert(0, ACCOUNTS)
    await gather_facts(ctx, rows, facts)
    adder = _Adder(grouping, ctx.today)
    for row in rows:
        adder.add(row)
    return adder.result()
