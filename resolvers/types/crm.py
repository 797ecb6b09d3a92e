"""CRM types: the account with its contacts, opportunities and tasks, as the CRM has them
now. Opportunities and tasks are optional reads of a CRM (``sources.base.OpportunityReads``,
``TaskReads``): where a CRM does not offer them the field is null with NOT_SUPPORTED."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry

from resolvers.context import context_of
from resolvers.permissions import FINANCIAL
from resolvers.types.money import MoneyType, money
from sources.records import (
    Account,
    Contact,
    Opportunity,
    OpportunityStage,
    Task,
    TaskStatus,
)

OpportunityStageType = strawberry.enum(
    OpportunityStage,
    name="OpportunityStage",
    description="Where a deal stands: OPEN (still worked, whatever the CRM calls the stage), "
    "WON, LOST; UNKNOWN: a stage the translation table does not know (stageRaw holds it).",
)
TaskStatusType = strawberry.enum(
    TaskStatus,
    name="TaskStatus",
    description="Whether a task still has to be done: OPEN, DONE; UNKNOWN: a status the "
    "translation table does not know (statusRaw holds it).",
)


@strawberry.type(name="Opportunity", description="A deal of a CRM account, as the CRM has it.")
class OpportunityType:
    """A CRM opportunity: stage, amount, expected close date and probability."""

    key: str
    name: str
    stage: OpportunityStageType  # type: ignore[valid-type]
    stage_raw: str | None = strawberry.field(
        description="The stage as the CRM names it (always set when stage is UNKNOWN)."
    )
    amount: MoneyType | None = strawberry.field(
        permission_classes=FINANCIAL,
        description="The deal's value (financial roles); null where the CRM has no amount.",
    )
    close_date: date | None = strawberry.field(
        description="The expected (once closed: actual) close date."
    )
    probability: int | None = strawberry.field(description="The CRM's chance of winning, in %.")

    @staticmethod
    def of(record: Opportunity) -> OpportunityType:
        """The GraphQL form of an opportunity record."""
        return OpportunityType(
            key=record.key,
            name=record.name,
            stage=record.stage,
            stage_raw=record.stage_raw,
            amount=money(record.amount),
            close_date=record.close_date,
            probability=record.probability,
        )


@strawberry.type(name="CrmTask", description="A to-do on a CRM account, as the CRM has it.")
class TaskType:
    """A CRM task: status, due date and priority."""

    key: str
    title: str
    status: TaskStatusType  # type: ignore[valid-type]
    status_raw: str | None = strawberry.field(
        description="The status as the CRM names it (always set when status is UNKNOWN)."
    )
    due_date: date | None
    priority: str | None = strawberry.field(description="The CRM's own priority word.")

    @staticmethod
    def of(record: Task) -> TaskType:
        """The GraphQL form of a task record."""
        return TaskType(
            key=record.key,
            title=record.title,
            status=record.status,
            status_raw=record.status_raw,
            due_date=record.due_date,
            priority=record.priority,
        )


async def _optional_read(info: strawberry.Info, system: str, operation: str, key: str) -> Any:
    """The records of the optional read ``operation`` for account ``key``; ``Unsupported``
    (null with NOT_SUPPORTED, noted in the report) where ``system`` declares no such read."""
    missing = f"{operation} are not read from this system"
    return await context_of(info).loaders.offered(system, operation, missing, many=True).load(key)


@strawberry.type(name="Contact", description="A person at a CRM account.")
class ContactType:
    """A CRM contact."""

    key: str
    name: str
    email: str | None
    phone: str | None
    role: str | None

    @staticmethod
    def of(record: Contact) -> ContactType:
        """The GraphQL form of a contact record."""
        return ContactType(
            key=record.key,
            name=record.name,
            email=record.email,
            phone=record.phone,
            role=record.role,
        )


@strawberry.type(name="CrmAccount", description="The customer's account in a CRM.")
class CrmAccount:
    """A CRM account with its owner, team and segment."""

    system: str
    key: str
    name: str
    owner: str | None
    team: str | None
    segment: str | None
    country: str | None

    @strawberry.field(description="The account's contacts, read live from the CRM.")
    async def contacts(self, info: strawberry.Info) -> list[ContactType] | None:
        """Contacts of this account."""
        loader = context_of(info).loaders.source(self.system, "contacts", many=True)
        return [ContactType.of(c) for c in await loader.load(self.key)]

    @strawberry.field(
        description="The account's opportunities (open, won and lost), read live from the "
        "CRM; null with NOT_SUPPORTED where the CRM does not offer them."
    )
    async def opportunities(self, info: strawberry.Info) -> list[OpportunityType] | None:
        """Opportunities of this account."""
        found = await _optional_read(info, self.system, "opportunities", self.key)
        return [OpportunityType.of(o) for o in found]

    @strawberry.field(
        description="The account's tasks (open and done), read live from the CRM; null with "
        "NOT_SUPPORTED where the CRM does not offer them."
    )
    async def tasks(self, info: strawberry.Info) -> list[TaskType] | None:
        """Tasks of this account."""
        found = await _optional_read(info, self.system, "tasks", self.key)
        return [TaskType.of(t) for t in found]

    @staticmethod
    def of(system: str, record: Account) -> CrmAccount:
        """The GraphQL form of an account record from ``system``."""
        return CrmAccount(
            system=system,
            key=record.key,
            name=record.name,
            owner=record.owner,
            team=record.team,
            segment=record.segment,
            country=record.country,
        )
