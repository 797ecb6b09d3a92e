"""Children of a whole list read in one round before its items are completed.

A list of customers that asks for each one's ERP record, CRM account, orders and financial
overview would otherwise start one coroutine per customer and field, and a field whose
resolver runs only after another's answer (the overview's figures after the ERP record,
say) would start its read a round late. The link map gives every system's keys at once, so
``prefetch`` asks the loaders for every read the selection needs, for every customer, in
one round and waits for them; the fields then find their records ready
(``reads.children_now``/``first_now``, or a loader's answered future) and answer without
another round. Nothing changes in what is read or in the errors: a failed read stays in
its loader and the field reports it as before. Financial reads are prefetched only for
principals allowed to see them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment

from linkmap.records import Entity
from resolvers.context import Context
from resolvers.permissions import SeesFinancials
from resolvers.reads import keyed_systems
from resolvers.types.overview import OPEN_INVOICES, UNBILLED_ENTRIES, month_entries, revenue_window
from sources.operations import ReadArgumentsError, UnknownReadOperation
from sources.records import OPEN_ORDER_STATUSES, EntryQuery, InvoiceQuery

ArgumentsOf = Callable[[date], tuple[Hashable, ...]]
"""The arguments of a read, given the request's day (``Context.today``)."""


def fixed(*args: Hashable) -> ArgumentsOf:
    """Arguments that do not depend on the day."""
    return lambda _today: args


@dataclass(frozen=True)
class Prefetch:
    """The read behind one field of a list item: ``operation`` on systems of ``kind``,
    with the arguments ``args`` gives for the request's day; ``first_system``: only in the
    first configured system of that kind holding the entity (a figure of one legal entity)."""

    kind: str
    operation: str
    args: ArgumentsOf
    many: bool
    financial: bool
    first_system: bool = False


@dataclass(frozen=True)
class FieldReads:
    """What one selected field (without arguments) reads, and what its own sub-fields
    read (``within``, by GraphQL name)."""

    reads: tuple[Prefetch, ...] = ()
    within: Mapping[str, FieldReads] = field(default_factory=dict)


_ERP_CUSTOMER = Prefetch("erp", "customers", fixed(), many=False, financial=False)
_OPEN_INVOICES = Prefetch("erp", "invoices", fixed(OPEN_INVOICES), many=True, financial=True)
_REVENUE_INVOICES = Prefetch(
    "erp", "invoices", lambda today: (revenue_window(today),), many=True, financial=True
)
_OPEN_ORDERS = Prefetch("erp", "orders", fixed(OPEN_ORDER_STATUSES), many=True, financial=True)
_MONTH_HOURS = Prefetch(
    "timesheet", "time_entries", lambda today: (month_entries(today),), many=True, financial=True
)
_UNBILLED_HOURS = Prefetch(
    "timesheet", "time_entries", fixed(UNBILLED_ENTRIES), many=True, financial=True
)
_CREDIT_AVAILABLE = (
    _ERP_CUSTOMER,
    Prefetch("erp", "invoices", fixed(OPEN_INVOICES), True, True, first_system=True),
    Prefetch("erp", "orders", fixed(OPEN_ORDER_STATUSES), True, True, first_system=True),
)

_ERP_FIGURES: dict[str, FieldReads] = {
    "openBalance": FieldReads((_OPEN_INVOICES,)),
    "overdueAmount": FieldReads((_OPEN_INVOICES,)),
    "overdueCount": FieldReads((_OPEN_INVOICES,)),
    "revenueYearToDate": FieldReads((_REVENUE_INVOICES,)),
    "revenueSamePeriodLastYear": FieldReads((_REVENUE_INVOICES,)),
    "openOrdersValue": FieldReads((_OPEN_ORDERS,)),
    "creditLimit": FieldReads((_ERP_CUSTOMER,)),
    "creditAvailable": FieldReads(_CREDIT_AVAILABLE),
}
OVERVIEW_FIELDS: dict[str, FieldReads] = {
    **_ERP_FIGURES,
    "hoursThisMonth": FieldReads((_MONTH_HOURS,)),
    "unbilledHours": FieldReads((_UNBILLED_HOURS,)),
    "bySystem": FieldReads(within=_ERP_FIGURES),
}
"""Fields of ``FinancialOverview`` whose reads a list prefetches."""

CUSTOMER_FIELDS: dict[str, FieldReads] = {
    "erp": FieldReads((_ERP_CUSTOMER,)),
    "erps": FieldReads((_ERP_CUSTOMER,)),
    "orders": FieldReads((Prefetch("erp", "orders", fixed(None), many=True, financial=True),)),
    "invoices": FieldReads(
        (Prefetch("erp", "invoices", fixed(InvoiceQuery()), many=True, financial=True),)
    ),
    "hours": FieldReads(
        (Prefetch("timesheet", "time_entries", fixed(EntryQuery()), many=True, financial=False),)
    ),
    "account": FieldReads(
        (Prefetch("crm", "accounts", fixed(), many=False, financial=False),),
        within={
            "contacts": FieldReads(
                (Prefetch("crm", "contacts", fixed(), many=True, financial=False),)
            )
        },
    ),
    "financialOverview": FieldReads(within=OVERVIEW_FIELDS),
}
"""Fields of ``Customer`` (without arguments) whose reads a list prefetches."""


def selected(info: Any, fields: Mapping[str, FieldReads]) -> list[Prefetch]:
    """The reads of the prefetchable fields (without arguments) the current field's
    selection asks for, at any depth ``fields`` describes and through fragments, each
    once."""
    found: list[Prefetch] = []
    for selected_field in info.selected_fields:
        _collect(getattr(selected_field, "selections", []), fields, found)
    return list(dict.fromkeys(found))


def _collect(
    selections: Sequence[Any], fields: Mapping[str, FieldReads], found: list[Prefetch]
) -> None:
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):  # fields of the same type
            _collect(selection.selections, fields, found)
            continue
        name = getattr(selection, "name", None)
        reads = fields.get(name) if isinstance(name, str) else None
        if reads is None or getattr(selection, "arguments", None):
            continue
        found.extend(reads.reads)
        if reads.within:
            _collect(getattr(selection, "selections", []), reads.within, found)


async def prefetch(
    ctx: Context, reads: Iterable[Prefetch], entities: Iterable[Entity | None]
) -> None:
    """Ask the loaders for ``reads`` of every entity at once (one batch per system,
    operation and arguments) and wait for the answers (failures stay in the loaders for
    the fields to report; a read a system does not declare is left to its field)."""
    present = [entity for entity in entities if entity is not None]
    financial = bool(ctx.roles & SeesFinancials.allowed)
    wanted: dict[tuple[str, str, tuple[Hashable, ...], bool], list[str]] = {}
    for read in reads:
        if read.financial and not financial:
            continue
        args = read.args(ctx.today)
        for entity in present:
            systems = keyed_systems(ctx, read.kind, entity.keys)
            for system, entity_keys in systems[:1] if read.first_system else systems:
                wanted.setdefault((system, read.operation, args, read.many), []).extend(entity_keys)
    pending = []
    for (system, operation, args, many), system_keys in wanted.items():
        try:
            loader = ctx.loaders.source(system, operation, *args, many=many)
        except (UnknownReadOperation, ReadArgumentsError):
            continue  # the field asks for it itself and reports the error where it belongs
        pending.append(loader.load_many(list(dict.fromkeys(system_keys))))
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
