"""A project's master data as the ERP and the timesheet systems have it.

The linked ``Project`` type itself (budget from the ERP, hours and cost from the timesheet
systems) lives in ``resolvers.types.customer``, beside ``Customer``: each names the other.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from resolvers.permissions import FINANCIAL
from resolvers.types.money import MoneyType
from sources.records import ProjectStatus

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
    status_raw: str | None = strawberry.field(
        default=None,
        description="The phase as the ERP names it, where known (always set when status is "
        "UNKNOWN).",
    )


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
