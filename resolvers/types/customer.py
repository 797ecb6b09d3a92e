"""The ``Customer`` and ``Project`` types: linked entities, every field read live.

A customer lists its projects and a project names its customer, so the two types live in
one module rather than in two that import each other. The project's master-data parts
(``ErpProject``, ``TimesheetProjectInfo``) are in ``resolvers.types.project``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

import strawberry

from linkmap.records import Entity
from resolvers.context import Context, context_of
from resolvers.permissions import FINANCIAL
from resolvers.reads import children, children_now, first, first_now, keyed_systems, wants
from resolvers.references import ENTITY_KEYS, referenced_entity
from resolvers.types.crm import CrmAccount
from resolvers.types.erp import (
    ErpCustomer,
    InvoiceStatusFilter,
    InvoiceType,
    OrderStatusType,
    SalesOrderType,
)
from resolvers.types.hours import Hours, hours_between
from resolvers.types.keys import SystemKey, system_keys
from resolvers.types.money import MoneyType, money, per_currency
from resolvers.types.overview import OPEN_INVOICES, FinancialOverview
from resolvers.types.project import ErpProject, TimesheetProjectInfo
from resolvers.types.unknown_states import note_unknown_invoices
from sources.figures import newest_first
from sources.records import EntryQuery, InvoiceQuery, InvoiceStatus, OrderStatus


@strawberry.federation.type(
    keys=ENTITY_KEYS,
    description="A customer as linked across systems; each part is read live.",
)
class Customer:
    """A link-map customer entity; its fields come from the systems holding its keys."""

    entity: strawberry.Private[Entity]

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, **representation: Any
    ) -> Customer | None:
        """The customer a federation representation names (by ``id`` or ``keys``); None
        if unknown or outside the caller's row scope."""
        entity = await referenced_entity(info, "customer", representation)
        return None if entity is None else cls(entity=entity)

    @strawberry.field(description="The link map's id of this customer.")
    def id(self) -> strawberry.ID:
        """The link-map entity id."""
        return strawberry.ID(str(self.entity.id))

    @strawberry.field(description="The customer's keys in every linked system.")
    def keys(self) -> list[SystemKey]:
        """All keys from the link map."""
        return system_keys(self.entity.keys)

    @strawberry.field(description="The CRM account (null if not linked to a CRM).")
    async def account(self, info: strawberry.Info) -> CrmAccount | None:
        """The account in the first CRM holding one of the customer's keys."""
        ctx = context_of(info)
        if wants(info, "contacts"):  # ask for contacts in the same round as the account
            for system, keys in keyed_systems(ctx, "crm", self.entity.keys):
                early = asyncio.ensure_future(
                    ctx.loaders.source(system, "contacts", many=True).load_many(list(keys))
                )
                early.add_done_callback(lambda f: f.cancelled() or f.exception())
        found = await first(ctx, "crm", self.entity.keys, "accounts")
        return None if found is None else CrmAccount.of(*found)

    @strawberry.field(
        description="The ERP customer (null if not linked to an ERP).",
        graphql_type=ErpCustomer | None,
    )
    def erp(self, info: strawberry.Info) -> Any:
        """Master data from the first ERP holding one of the customer's keys (at once when
        a list prefetched it, else awaitable)."""
        ctx = context_of(info)
        found = first_now(ctx, "erp", self.entity.keys, "customers")
        if found is False:
            return self._erp(ctx)
        return None if found is None else ErpCustomer.of(*found)

    async def _erp(self, ctx: Context) -> ErpCustomer | None:
        found = await first(ctx, "erp", self.entity.keys, "customers")
        return None if found is None else ErpCustomer.of(*found)

    @strawberry.field(
        description=(
            "The customer in every linked ERP (one legal entity each, with its own "
            "currency), in configuration order; erp is the first of them."
        )
    )
    async def erps(self, info: strawberry.Info) -> list[ErpCustomer] | None:
        """Master data from each ERP holding one of the customer's keys."""
        ctx = context_of(info)
        systems = keyed_systems(ctx, "erp", self.entity.keys)
        answers = await asyncio.gather(
            *(
                ctx.loaders.source(system, "customers", many=False).load_many(list(keys))
                for system, keys in systems
            )
        )
        return [
            ErpCustomer.of(system, record)
            for (system, _), records in zip(systems, answers, strict=True)
            for record in records
            if record is not None
        ]

    @strawberry.field(
        description="Invoices from every linked ERP, newest first.", permission_classes=FINANCIAL
    )
    async def invoices(
        self, info: strawberry.Info, status: InvoiceStatusFilter | None = None
    ) -> list[InvoiceType] | None:
        """Invoices in every state (drafts and cancelled ones as such), or only those in
        ``status`` (OPEN includes OVERDUE)."""
        ctx = context_of(info)
        query = InvoiceQuery()
        if status is InvoiceStatusFilter.OVERDUE:
            query = OPEN_INVOICES
        elif status is not None and status is not InvoiceStatusFilter.UNKNOWN:
            query = InvoiceQuery(status=InvoiceStatus(status.value))
        pairs = await children(ctx, "erp", self.entity.keys, "invoices", query)
        note_unknown_invoices(ctx, pairs)
        invoices = [InvoiceType.of(system, inv, ctx.today) for system, inv in pairs]
        if status is not None:
            wanted = OPEN_FILTER if status is InvoiceStatusFilter.OPEN else {status}
            invoices = [inv for inv in invoices if inv.status in wanted]
        return newest_first(invoices, _issue_date, _number, _key)

    @strawberry.field(
        description="Sales orders from every linked ERP, newest first.",
        permission_classes=FINANCIAL,
        graphql_type=list[SalesOrderType] | None,
    )
    def orders(
        self,
        info: strawberry.Info,
        status: list[OrderStatusType] | None = None,  # type: ignore[valid-type]
    ) -> Any:
        """Sales orders, optionally only in the given states (at once when a list
        prefetched them, else awaitable)."""
        ctx = context_of(info)
        statuses = frozenset(status) if status else None
        pairs = children_now(ctx, "erp", self.entity.keys, "orders", statuses)
        if pairs is None:
            return self._orders(ctx, statuses)
        return _newest_first(pairs, statuses)

    async def _orders(
        self, ctx: Context, statuses: frozenset[OrderStatus] | None
    ) -> list[SalesOrderType]:
        pairs = await children(ctx, "erp", self.entity.keys, "orders", statuses)
        return _newest_first(pairs, statuses)

    @strawberry.field(description="The customer's projects in every linked ERP.")
    async def projects(self, info: strawberry.Info) -> list[ProjectType] | None:
        """ERP projects of this customer, with their link-map entities where linked."""
        ctx = context_of(info)
        pairs = await children(ctx, "erp", self.entity.keys, "customer_projects")
        return [await ProjectType.from_erp(ctx, system, project.key) for system, project in pairs]

    @strawberry.field(description="Hours logged for the customer between two dates (inclusive).")
    async def hours(
        self,
        info: strawberry.Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> Hours | None:
        """Totals, per-employee split and entries from every linked timesheet system."""
        return await hours_between(info, self.entity.keys, "time_entries", from_, to)

    @strawberry.field(
        description="Balances, revenue, credit and hours at a glance.", permission_classes=FINANCIAL
    )
    def financial_overview(self, info: strawberry.Info) -> FinancialOverview | None:
        """The overview; each figure is read live when asked for."""
        return FinancialOverview(keys=self.entity.keys, as_of=context_of(info).today)


__all__ = ["Customer", "OrderStatus", "ProjectType"]


OPEN_FILTER = frozenset({InvoiceStatusFilter.OPEN, InvoiceStatusFilter.OVERDUE})


def _issue_date(invoice: InvoiceType) -> date:
    return invoice.issue_date


def _number(record: InvoiceType | SalesOrderType) -> str | None:
    return record.number


def _key(record: InvoiceType | SalesOrderType) -> str:
    return record.key


def _order_date(order: SalesOrderType) -> date:
    return order.order_date


def _newest_first(
    pairs: list[tuple[str, Any]], statuses: frozenset[OrderStatus] | None
) -> list[SalesOrderType]:
    """The orders asked for (a source also returns those in unknown states, so that no
    figure drops them silently), newest first."""
    orders = [
        SalesOrderType.of(system, order)
        for system, order in pairs
        if statuses is None or order.status in statuses
    ]
    return newest_first(orders, _order_date, _number, _key)


@strawberry.federation.type(
    name="Project",
    keys=ENTITY_KEYS,
    description="A project as linked across systems, read live.",
)
class ProjectType:
    """A project: a link-map entity, or an ERP project not (yet) in the link map."""

    entity: strawberry.Private[Entity | None]
    project_keys: strawberry.Private[Mapping[str, tuple[str, ...]]]

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, **representation: Any
    ) -> ProjectType | None:
        """The linked project a federation representation names (by ``id`` or ``keys``);
        None if unknown, not in the link map, or outside the caller's row scope."""
        entity = await referenced_entity(info, "project", representation)
        return None if entity is None else cls(entity=entity, project_keys=entity.keys)

    @staticmethod
    async def from_erp(ctx: Context, system: str, key: str) -> ProjectType:
        """The project behind ERP project ``key``, linked where the link map knows it."""
        entity = await ctx.loaders.entity("project", system).load(key)
        keys = entity.keys if entity is not None else {system: (key,)}
        return ProjectType(entity=entity, project_keys=keys)

    @strawberry.field(description="The link map's id (null for an unlinked ERP project).")
    def id(self) -> strawberry.ID | None:
        """The link-map entity id, if linked."""
        return None if self.entity is None else strawberry.ID(str(self.entity.id))

    @strawberry.field(description="The project's keys in every linked system.")
    def keys(self) -> list[SystemKey]:
        """All known keys."""
        return system_keys(self.project_keys)

    @strawberry.field(description="ERP master data and budget.")
    async def erp(self, info: strawberry.Info) -> ErpProject | None:
        """The first ERP's project record."""
        found = await first(context_of(info), "erp", self.project_keys, "projects")
        if found is None:
            return None
        system, p = found
        return ErpProject(
            system=system,
            key=p.key,
            name=p.name,
            status=p.status,
            budget=money(p.budget),
            start_date=p.start_date,
            status_raw=p.status_raw,
        )

    @strawberry.field(description="Timesheet master data.")
    async def timesheet(self, info: strawberry.Info) -> TimesheetProjectInfo | None:
        """The first timesheet system's project record."""
        found = await first(context_of(info), "timesheet", self.project_keys, "timesheet_projects")
        if found is None:
            return None
        system, p = found
        return TimesheetProjectInfo(
            system=system,
            key=p.key,
            name=p.name,
            hourly_rate=money(p.hourly_rate),
            budget_hours=p.budget_hours,
        )

    @strawberry.field(description="The customer the ERP books the project on.")
    async def customer(self, info: strawberry.Info) -> Customer | None:
        """The linked customer, if the ERP names one and the link map knows it."""
        ctx = context_of(info)
        found = await first(ctx, "erp", self.project_keys, "projects")
        if found is None or found[1].customer_key is None:
            return None
        entity = await ctx.loaders.entity("customer", found[0]).load(found[1].customer_key)
        return None if entity is None else Customer(entity=entity)

    @strawberry.field(description="The ERP budget.", permission_classes=FINANCIAL)
    async def budget(self, info: strawberry.Info) -> MoneyType | None:
        """The project budget."""
        found = await first(context_of(info), "erp", self.project_keys, "projects")
        return None if found is None else money(found[1].budget)

    @strawberry.field(
        description="Cost of the hours logged (timesheet cost rates), per currency.",
        permission_classes=FINANCIAL,
    )
    async def actual_cost(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of time entry costs."""
        pairs = await children(
            context_of(info), "timesheet", self.project_keys, "project_time_entries", EntryQuery()
        )
        return per_currency(e.cost for _, e in pairs if e.cost is not None)

    @strawberry.field(
        description="Invoiced revenue (excl. tax) booked on the project.",
        permission_classes=FINANCIAL,
    )
    async def actual_revenue(self, info: strawberry.Info) -> list[MoneyType] | None:
        """Sum of the project's invoices, untaxed (those in an unknown state noted)."""
        ctx = context_of(info)
        pairs = await children(ctx, "erp", self.project_keys, "project_invoices")
        note_unknown_invoices(ctx, pairs)
        return per_currency(inv.total_untaxed for _, inv in pairs if inv.is_issued)

    @strawberry.field(
        description="The project's invoices in every linked ERP, newest first.",
        permission_classes=FINANCIAL,
    )
    async def invoices(self, info: strawberry.Info) -> list[InvoiceType] | None:
        """Invoices booked on the project."""
        ctx = context_of(info)
        pairs = await children(ctx, "erp", self.project_keys, "project_invoices")
        note_unknown_invoices(ctx, pairs)
        found = [InvoiceType.of(system, inv, ctx.today) for system, inv in pairs]
        return newest_first(
            found, lambda inv: inv.issue_date, lambda inv: inv.number, lambda inv: inv.key
        )

    @strawberry.field(description="Hours logged on the project between two dates (inclusive).")
    async def hours(
        self,
        info: strawberry.Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> Hours | None:
        """Totals, per-employee split and entries."""
        return await hours_between(info, self.project_keys, "project_time_entries", from_, to)
