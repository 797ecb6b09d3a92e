"""Timesheet types: hours logged, totals and per-employee breakdown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import strawberry

from resolvers.context import context_of
from resolvers.errors import BadInput
from resolvers.permissions import FINANCIAL
from resolvers.reads import KeysBySystem, children, keyed_systems
from resolvers.types.money import MoneyType, money
from resolvers.types.overview import NO_BILLING_FLAGS
from sources.records import EntryQuery, TimeEntry


@strawberry.type(name="TimeEntry", description="Hours one employee logged on one day.")
class TimeEntryType:
    """One timesheet line."""

    system: str
    key: str
    project_key: str | None
    employee: str
    date: date
    hours: Decimal
    billable: bool
    invoiced: bool
    cost: MoneyType | None = strawberry.field(
        description="What the hours cost (the timesheet's cost rate); financial roles only.",
        permission_classes=FINANCIAL,
    )
    description: str | None


@strawberry.type(description="Hours one employee logged.")
class EmployeeHours:
    """An employee's share of the hours."""

    employee: str
    hours: Decimal
    billable: Decimal


@strawberry.type(description="Hours logged in a period, as the timesheet systems have them.")
class Hours:
    """Totals over a set of time entries, with the entries themselves."""

    total: Decimal
    billable: Decimal
    unbilled: Decimal = strawberry.field(
        description=(
            "Billable hours not yet invoiced; where a timesheet system keeps no billing "
            "flags, all its hours (extensions.sources says so)."
        )
    )
    billed: Decimal = strawberry.field(
        description="Billable hours already invoiced (as the system records them)."
    )
    by_employee: list[EmployeeHours]
    entries: list[TimeEntryType]

    @staticmethod
    def of(entries: Sequence[tuple[str, TimeEntry]]) -> Hours:
        """Totals and breakdown of ``(system, entry)`` pairs."""
        zero = Decimal("0")
        per_employee: dict[str, list[Decimal]] = {}
        for _, e in entries:
            sums = per_employee.setdefault(e.employee, [zero, zero])
            sums[0] += e.hours
            if e.billable:
                sums[1] += e.hours
        return Hours(
            total=sum((e.hours for _, e in entries), zero),
            billable=sum((e.hours for _, e in entries if e.billable), zero),
            unbilled=sum((e.hours for _, e in entries if e.billable and not e.invoiced), zero),
            billed=sum((e.hours for _, e in entries if e.billable and e.invoiced), zero),
            by_employee=[
                EmployeeHours(employee=name, hours=h, billable=b)
                for name, (h, b) in sorted(per_employee.items())
            ],
            entries=[
                TimeEntryType(
                    system=system,
                    key=e.key,
                    project_key=e.project_key,
                    employee=e.employee,
                    date=e.date,
                    hours=e.hours,
                    billable=e.billable,
                    invoiced=e.invoiced,
                    cost=money(e.cost),
                    description=e.description,
                )
                for system, e in sorted(entries, key=lambda p: (p[1].date, p[1].key))
            ],
        )


async def hours_between(
    info: strawberry.Info,
    keys: KeysBySystem,
    operation: str,
    date_from: date | None,
    date_to: date | None,
) -> Hours:
    """Hours of the timesheet entries ``operation`` finds for ``keys`` in the period."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadInput("'from' must not be after 'to'")
    query = EntryQuery(date_from=date_from, date_to=date_to)
    ctx = context_of(info)
    hours = Hours.of(await children(ctx, "timesheet", keys, operation, query))
    for system, _keys in keyed_systems(ctx, "timesheet", keys):
        if not getattr(ctx.systems.sources[system], "keeps_billing_flags", True):
            ctx.states.note(system, NO_BILLING_FLAGS)
    return hours
