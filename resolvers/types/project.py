"""The ``Project`` type: budget from the ERP, hours and cost from the timesheet systems."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from linkmap.records import Entity
from resolvers.context import Context, context_of
from resolvers.permissions import FINANCIAL
from resolvers.reads import children, first
from resolvers.references import ENTITY_KEYS, referenced_entity
from resolvers.types.customer import Customer
from resolvers.types.erp import InvoiceType
from resolvers.types.hours import Hours, hours_between
from resolvers.types.keys import SystemKey, system_keys
from resolvers.types.money import MoneyType, money, per_currency
from sources.figures import newest_first
from sources.records import EntryQuery, ProjectStatus

ProjectStatusType = strawberry.enum(ProjectStatus, name="ProjectStatus")


@strawberry.type(description="The project as the ERP has it.")
class ErpProject:
    """ERP project master data."""

    system: str
    key: str
    name: str
    status: ProjectStatusType  # type: ignore[valid-type]
    budget: MoneyType | None = strawberry.field(permission_classes=FINANCIAL)
    start_date: date | None = None


@strawberry.type(description="The project as a timesheet system has it.")
class TimesheetProjectInfo:
    """Timesheet project master data."""

    system: str
    key: str
    name: str
    hourly_rate: MoneyType | None = strawberry.field(
        description="The rate the hours are billed at; financial roles only.",
        permission_classes=FINANCIAL,
    )
    budget_hours: Decimal | None


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
        """Sum of the project's invoices, untaxed."""
        pairs = await children(context_of(info), "erp", self.project_keys, "project_invoices")
        return per_currency(inv.total_untaxed for _, inv in pairs if inv.is_issued)

    @strawberry.field(
        description="The project's invoices in every linked ERP, newest first.",
        permission_classes=FINANCIAL,
    )
    async def invoices(self, info: strawberry.Info) -> list[InvoiceType] | None:
        """Invoices booked on the project."""
        ctx = context_of(info)
        pairs = await children(ctx, "erp", self.project_keys, "project_invoices")
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
