"""What each kind of entity can be filtered and sorted by: GraphQL inputs turned into a
:class:`~resolvers.lists.selection.Selection` and an
:class:`~resolvers.lists.ordering.Ordering`.

Conditions are listed cheapest first: link map, CRM (pushed down where the CRM can
search), ERP master data, ERP invoices, timesheets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from resolvers.context import Context
from resolvers.errors import BadInput
from resolvers.lists.cursors import SortValue
from resolvers.lists.facts import (
    ACCOUNTS,
    ERP_CUSTOMER,
    ERP_PROJECT,
    ERP_SUPPLIER,
    OVERDUE_INVOICES,
    PROJECT_ENTRIES,
    TIMESHEET_PROJECT,
    Fact,
    Row,
    hours_between,
)
from resolvers.lists.inputs import (
    CustomerFilter,
    CustomerOrder,
    CustomerSortField,
    HoursFilter,
    MoneyInput,
    ProjectFilter,
    ProjectOrder,
    ProjectSortField,
    SortDirection,
    SupplierFilter,
    SupplierOrder,
    SupplierSortField,
    values,
)
from resolvers.lists.ordering import Ordering, by_id, text
from resolvers.lists.selection import Condition, Selection, keys_filter, linked_in
from sources.money import Money
from sources.records import AccountQuery, Invoice


def amount_in(invoices: list[Invoice], currency: str) -> Decimal:
    """Amount due on ``invoices`` in ``currency``."""
    return sum(
        (i.amount_due.amount for i in invoices if i.amount_due.currency == currency), Decimal(0)
    )


def _hours(operation: str, given: HoursFilter) -> Condition:
    given.check()
    fact = hours_between(operation, given.from_, given.to)
    low, high = given.min, given.max

    def holds(row: Row) -> bool:
        hours: Decimal = row.fact(fact)
        return (low is None or hours >= low) and (high is None or hours <= high)

    return Condition((fact,), holds)


def _credit(given: MoneyInput, name: str, at_least: bool) -> Condition:
    bound = given.money(name)

    def holds(row: Row) -> bool:
        customer = row.fact(ERP_CUSTOMER)
        limit: Money | None = None if customer is None else customer.credit_limit
        if limit is None or limit.currency != bound.currency:
            return False
        return limit.amount >= bound.amount if at_least else limit.amount <= bound.amount

    return Condition((ERP_CUSTOMER,), holds)


def customer_selection(ctx: Context, given: CustomerFilter | None) -> Selection:
    """The customers ``given`` selects (every customer without a filter)."""
    f = given or CustomerFilter()
    accounts = AccountQuery(
        segments=values("segment", f.segment),
        owners=values("owner", f.owner),
        teams=values("team", f.team),
        countries=values("country", f.country),
    )
    conditions: list[Condition] = []
    if f.credit_limit_min is not None:
        conditions.append(_credit(f.credit_limit_min, "creditLimitMin", True))
    if f.credit_limit_max is not None:
        conditions.append(_credit(f.credit_limit_max, "creditLimitMax", False))
    if f.has_overdue is not None:
        wanted = f.has_overdue
        conditions.append(
            Condition((OVERDUE_INVOICES,), lambda r: bool(r.fact(OVERDUE_INVOICES)) is wanted)
        )
    low = None
    if f.overdue_amount_min is not None:
        low = f.overdue_amount_min.money("overdueAmountMin")
        floor = low
        conditions.append(
            Condition(
                (OVERDUE_INVOICES,),
                lambda r: amount_in(r.fact(OVERDUE_INVOICES), floor.currency) >= floor.amount,
            )
        )
    if f.hours is not None:
        conditions.append(_hours("time_entries", f.hours))
    return Selection(
        kind="customer",
        keys=keys_filter(ctx, f.keys),
        linked_in=linked_in(ctx, f.linked_in),
        accounts=None if accounts.is_empty else accounts,
        overdue_only=f.has_overdue is True or (low is not None and low.amount > 0),
        conditions=tuple(conditions),
    )


def _account_field(name: str) -> Callable[[Row], SortValue]:
    def value(row: Row) -> SortValue:
        for account in row.fact(ACCOUNTS):
            found = getattr(account, name)
            if found is not None:
                return text(found)
        return None

    return value


def _customer_name(row: Row) -> SortValue:
    accounts = row.fact(ACCOUNTS)
    if accounts:
        return text(accounts[0].name)
    customer = row.fact(ERP_CUSTOMER)
    return None if customer is None else text(customer.name)


def _credit_limit(row: Row) -> SortValue:
    customer = row.fact(ERP_CUSTOMER)
    if customer is None or customer.credit_limit is None:
        return None
    return (customer.credit_limit.currency, customer.credit_limit.amount)


def _ordering(
    field: Any, direction: SortDirection, facts: tuple[Fact, ...], value: Callable[[Row], SortValue]
) -> Ordering:
    descending = direction is SortDirection.DESC
    return Ordering(f"{field.value}:{direction.value}", facts, value, descending)


def customer_ordering(given: CustomerOrder | None) -> Ordering:
    """The order ``given`` asks for; link-map id when none. NAME is the CRM account's
    name (the ERP's for a customer without an account); SEGMENT, OWNER, TEAM and COUNTRY
    are the CRM's; CREDIT_LIMIT is by currency, then amount."""
    if given is None or given.field is CustomerSortField.ID:
        return by_id(given is not None and given.direction is SortDirection.DESC)
    field = given.field
    if field is CustomerSortField.NAME:
        named = _ordering(field, given.direction, (ACCOUNTS, ERP_CUSTOMER), _customer_name)
        return replace(named, crm_field="name")
    if field is CustomerSortField.CREDIT_LIMIT:
        return _ordering(field, given.direction, (ERP_CUSTOMER,), _credit_limit)
    name = field.value.lower()
    return replace(
        _ordering(field, given.direction, (ACCOUNTS,), _account_field(name)), crm_field=name
    )


def project_selection(ctx: Context, given: ProjectFilter | None) -> Selection:
    """The projects ``given`` selects (every linked project without a filter)."""
    f = given or ProjectFilter()
    conditions: list[Condition] = []
    if f.status is not None:
        if not f.status:
            raise BadInput("status: give at least one status")
        statuses = frozenset(f.status)
        conditions.append(
            Condition(
                (ERP_PROJECT,),
                lambda r: (
                    r.fact(ERP_PROJECT) is not None and r.fact(ERP_PROJECT).status in statuses
                ),
            )
        )
    if f.hours is not None:
        conditions.append(_hours("project_time_entries", f.hours))
    if f.over_budget_hours is not None:
        wanted = f.over_budget_hours

        def over_budget(row: Row) -> bool:
            project = row.fact(TIMESHEET_PROJECT)
            if project is None or project.budget_hours is None:
                return False
            logged = sum((e.hours for e in row.fact(PROJECT_ENTRIES)), Decimal(0))
            return (logged > project.budget_hours) is wanted

        conditions.append(Condition((TIMESHEET_PROJECT, PROJECT_ENTRIES), over_budget))
    return Selection(
        kind="project",
        keys=keys_filter(ctx, f.keys),
        linked_in=linked_in(ctx, f.linked_in),
        conditions=tuple(conditions),
    )


def _project_name(row: Row) -> SortValue:
    for fact in (ERP_PROJECT, TIMESHEET_PROJECT):
        project = row.fact(fact)
        if project is not None:
            return text(project.name)
    return None


def _start_date(row: Row) -> SortValue:
    project = row.fact(ERP_PROJECT)
    if project is None or project.start_date is None:
        return None
    return (project.start_date.isoformat(),)


def project_ordering(given: ProjectOrder | None) -> Ordering:
    """The order ``given`` asks for; NAME is the ERP project's (else the timesheet's),
    START_DATE the ERP's."""
    if given is None or given.field is ProjectSortField.ID:
        return by_id(given is not None and given.direction is SortDirection.DESC)
    if given.field is ProjectSortField.NAME:
        return _ordering(
            given.field, given.direction, (ERP_PROJECT, TIMESHEET_PROJECT), _project_name
        )
    return _ordering(given.field, given.direction, (ERP_PROJECT,), _start_date)


def supplier_selection(ctx: Context, given: SupplierFilter | None) -> Selection:
    """The suppliers ``given`` selects (every linked supplier without a filter)."""
    f = given or SupplierFilter()
    conditions: list[Condition] = []
    for name, wanted in (
        ("country", values("country", f.country)),
        ("currency", values("currency", f.currency)),
    ):
        if wanted is not None:
            conditions.append(Condition((ERP_SUPPLIER,), _supplier_field_in(name, wanted)))
    return Selection(
        kind="supplier",
        keys=keys_filter(ctx, f.keys),
        linked_in=linked_in(ctx, f.linked_in),
        conditions=tuple(conditions),
    )


def _supplier_field_in(name: str, wanted: frozenset[str]) -> Callable[[Row], bool]:
    def holds(row: Row) -> bool:
        supplier = row.fact(ERP_SUPPLIER)
        return supplier is not None and getattr(supplier, name) in wanted

    return holds


def _supplier_field(name: str) -> Callable[[Row], SortValue]:
    def value(row: Row) -> SortValue:
        supplier = row.fact(ERP_SUPPLIER)
        return None if supplier is None else text(getattr(supplier, name))

    return value


def supplier_ordering(given: SupplierOrder | None) -> Ordering:
    """The order ``given`` asks for; NAME and COUNTRY are the ERP's."""
    if given is None or given.field is SupplierSortField.ID:
        return by_id(given is not None and given.direction is SortDirection.DESC)
    return _ordering(
        given.field, given.direction, (ERP_SUPPLIER,), _supplier_field(given.field.value.lower())
    )
