"""The upstream data a list needs for each candidate entity, read through the request's
loaders in bounded batches.

A :class:`Fact` is one piece of such data (an entity's CRM accounts, its open invoices, its
hours in a period). :func:`gather_facts` reads facts for many rows a window at a time: the
loaders turn a window into one adapter call per system and operation, so at most one
batch per system and operation is in flight for a list, whatever its length. Facts use
the same loaders (and the same query values) as the entity's own fields, so the fields of
a page cost no second read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from linkmap.records import Entity
from resolvers.context import Context
from resolvers.reads import children, first, keyed_systems
from resolvers.types.overview import OPEN_INVOICES, revenue_window
from sources.errors import SourceError
from sources.records import EntryQuery

WINDOW = 500
"""Rows whose facts are read together: one loader batch per system and operation."""


@dataclass(frozen=True)
class Fact:
    """One piece of upstream data about an entity, read by ``load``; ``name`` tells facts
    apart (two facts with the same name are the same read)."""

    name: str
    load: Callable[[Context, Entity], Awaitable[Any]] = field(compare=False)


@dataclass
class Row:
    """A candidate entity of a list and the facts read for it so far."""

    entity: Entity
    facts: dict[str, Any] = field(default_factory=dict)

    def fact(self, fact: Fact) -> Any:
        """The value of ``fact`` (read by :func:`gather_facts` before)."""
        return self.facts[fact.name]


async def gather_facts(ctx: Context, rows: Sequence[Row], facts: Sequence[Fact]) -> None:
    """Read every fact in ``facts`` not yet read for every row, ``WINDOW`` rows at a time.

    A failing system raises its ``SourceError`` (the list cannot be answered without it);
    the request's source states record the failure as for any other read.
    """
    for start in range(0, len(rows), WINDOW):
        window = rows[start : start + WINDOW]
        jobs = [(row, f) for f in facts for row in window if f.name not in row.facts]
        if not jobs:
            continue
        results = await asyncio.gather(
            *(f.load(ctx, row.entity) for row, f in jobs), return_exceptions=True
        )
        for (row, f), result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            row.facts[f.name] = result


async def all_records(
    ctx: Context, kind: str, entity: Entity, operation: str
) -> list[tuple[str, Any]]:
    """Every record ``operation`` finds for the entity's keys in systems of ``kind``, as
    ``(system, record)`` pairs in configuration and link order."""
    found: list[tuple[str, Any]] = []
    for system, keys in keyed_systems(ctx, kind, entity.keys):
        loader = ctx.loaders.source(system, operation, many=False)
        records = await loader.load_many(list(keys))
        for record in records:
            if isinstance(record, SourceError):
                raise record
            if record is not None:
                found.append((system, record))
    return found


def _first(kind: str, operation: str) -> Callable[[Context, Entity], Awaitable[Any]]:
    async def load(ctx: Context, entity: Entity) -> Any:
        found = await first(ctx, kind, entity.keys, operation)
        return None if found is None else found[1]

    return load


def _children(
    kind: str, operation: str, *args: Hashable
) -> Callable[[Context, Entity], Awaitable[list[Any]]]:
    async def load(ctx: Context, entity: Entity) -> list[Any]:
        return [r for _, r in await children(ctx, kind, entity.keys, operation, *args)]

    return load


async def _accounts(ctx: Context, entity: Entity) -> list[Any]:
    return [a for _, a in await all_records(ctx, "crm", entity, "accounts")]


async def _revenue_invoices(ctx: Context, entity: Entity) -> list[Any]:
    window = revenue_window(ctx.today)
    return [r for _, r in await children(ctx, "erp", entity.keys, "invoices", window)]


async def _overdue_invoices(ctx: Context, entity: Entity) -> list[Any]:
    open_ones = await children(ctx, "erp", entity.keys, "invoices", OPEN_INVOICES)
    return [inv for _, inv in open_ones if inv.is_overdue(ctx.today)]


ACCOUNTS = Fact("accounts", _accounts)
"""Every CRM account of the entity (``list[Account]``)."""
ERP_CUSTOMER = Fact("erp_customer", _first("erp", "customers"))
"""The first ERP's customer record, or None."""
OPEN_INVOICES_FACT = Fact("open_invoices", _children("erp", "invoices", OPEN_INVOICES))
"""The entity's open invoices in every ERP (the overview's read)."""
OVERDUE_INVOICES = Fact("overdue_invoices", _overdue_invoices)
"""The entity's open invoices past their due date (read as the open invoices)."""
REVENUE_INVOICES = Fact("revenue_invoices", _revenue_invoices)
"""Invoices issued from 1 January last year to today (the overview's revenue read)."""
UNBILLED_ENTRIES = Fact(
    "unbilled_entries",
    _children("timesheet", "time_entries", EntryQuery(billable=True, invoiced=False)),
)
"""Billable time entries not yet invoiced (the overview's read)."""
ERP_PROJECT = Fact("erp_project", _first("erp", "projects"))
"""The first ERP's project record, or None."""
TIMESHEET_PROJECT = Fact("timesheet_project", _first("timesheet", "timesheet_projects"))
"""The first timesheet system's project record, or None."""
PROJECT_ENTRIES = Fact(
    "project_entries", _children("timesheet", "project_time_entries", EntryQuery())
)
"""Every time entry logged on the project."""
ERP_SUPPLIER = Fact("erp_supplier", _first("erp", "suppliers"))
"""The first ERP's supplier record, or None."""


def hours_between(operation: str, date_from: date, date_to: date) -> Fact:
    """The hours logged for the entity from ``date_from`` to ``date_to`` (inclusive):
    ``operation`` is ``time_entries`` (customers) or ``project_time_entries``."""
    read = _children("timesheet", operation, EntryQuery(date_from=date_from, date_to=date_to))

    async def load(ctx: Context, entity: Entity) -> Decimal:
        return sum((e.hours for e in await read(ctx, entity)), Decimal(0))

    return Fact(f"hours:{operation}:{date_from}:{date_to}", load)
