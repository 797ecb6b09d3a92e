"""The GraphQL inputs of the list queries: filters, orderings and the grouping of totals."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

import strawberry

from resolvers.errors import BadInput
from resolvers.types.project import ProjectStatusType
from sources.money import Money

MAX_VALUES = 100
"""Most values one filter field accepts (what an upstream takes in one parameter)."""
MAX_KEYS = 500
"""Most keys a ``keys`` filter accepts."""


@strawberry.enum(description="Sort direction; rows without a value come last either way.")
class SortDirection(enum.Enum):
    """Ascending or descending."""

    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(description="An exact amount in one ISO 4217 currency.")
class MoneyInput:
    """An amount and its currency, for filters on money fields."""

    amount: Decimal
    currency: str

    def money(self, field: str) -> Money:
        """The ``Money`` this input stands for; ``BadInput`` naming ``field`` if invalid."""
        if not self.amount.is_finite():
            raise BadInput(f"{field}: amount must be a finite decimal")
        try:
            return Money(self.amount, self.currency)
        except ValueError as exc:
            raise BadInput(f"{field}: {exc}") from None


@strawberry.input(description="Hours logged in a period (both dates inclusive).")
class HoursFilter:
    """At least ``min`` (and at most ``max``) hours logged from ``from`` to ``to``."""

    from_: date = strawberry.field(name="from")
    to: date
    min: Decimal | None = None
    max: Decimal | None = None

    def check(self) -> None:
        """``BadInput`` for a period that ends before it starts or no bound at all."""
        if self.from_ > self.to:
            raise BadInput("hours: 'from' must not be after 'to'")
        if self.min is None and self.max is None:
            raise BadInput("hours: give min, max or both")
        for bound in (self.min, self.max):
            if bound is not None and not bound.is_finite():
                raise BadInput("hours: bounds must be finite decimals")


@strawberry.input(description="Entities holding one of these keys in one system.")
class KeysFilter:
    """A key list in one system (at most 500 keys)."""

    system: str
    keys: list[str]


@strawberry.input(description="Which customers to list; every field set must hold (AND).")
class CustomerFilter:
    """Conditions on the link map, the CRM account, the ERP and the timesheets."""

    keys: KeysFilter | None = strawberry.field(
        default=None, description="Only customers holding one of these keys (link map)."
    )
    linked_in: list[str] | None = strawberry.field(
        default=None, description="Only customers linked in every one of these systems."
    )
    segment: list[str] | None = strawberry.field(
        default=None, description="CRM segment is one of these."
    )
    owner: list[str] | None = strawberry.field(
        default=None, description="CRM account owner is one of these."
    )
    team: list[str] | None = strawberry.field(default=None, description="CRM team is one of these.")
    country: list[str] | None = strawberry.field(
        default=None, description="CRM country (ISO-2) is one of these."
    )
    has_overdue: bool | None = strawberry.field(
        default=None, description="ERP: has (true) or has no (false) overdue invoice."
    )
    overdue_amount_min: MoneyInput | None = strawberry.field(
        default=None, description="ERP: overdue amount in this currency is at least this."
    )
    credit_limit_min: MoneyInput | None = strawberry.field(
        default=None, description="ERP: credit limit in this currency is at least this."
    )
    credit_limit_max: MoneyInput | None = strawberry.field(
        default=None, description="ERP: credit limit in this currency is at most this."
    )
    hours: HoursFilter | None = strawberry.field(
        default=None, description="Timesheets: hours logged in a period."
    )


@strawberry.enum(description="What customers are sorted by (then by link-map id).")
class CustomerSortField(enum.Enum):
    """Sort keys of the customer list."""

    ID = "ID"
    NAME = "NAME"
    SEGMENT = "SEGMENT"
    OWNER = "OWNER"
    TEAM = "TEAM"
    COUNTRY = "COUNTRY"
    CREDIT_LIMIT = "CREDIT_LIMIT"


@strawberry.input(description="The order of the customer list.")
class CustomerOrder:
    """A sort key and direction."""

    field: CustomerSortField
    direction: SortDirection = SortDirection.ASC


@strawberry.input(description="Which projects to list; every field set must hold (AND).")
class ProjectFilter:
    """Conditions on the link map, the ERP project and the timesheets."""

    keys: KeysFilter | None = None
    linked_in: list[str] | None = None
    status: list[ProjectStatusType] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="ERP project status is one of these."
    )
    hours: HoursFilter | None = strawberry.field(
        default=None, description="Timesheets: hours logged on the project in a period."
    )
    over_budget_hours: bool | None = strawberry.field(
        default=None,
        description="Timesheets: hours logged exceed (true) or stay within (false) the "
        "project's budgeted hours; projects without budgeted hours never match.",
    )


@strawberry.enum(description="What projects are sorted by (then by link-map id).")
class ProjectSortField(enum.Enum):
    """Sort keys of the project list."""

    ID = "ID"
    NAME = "NAME"
    START_DATE = "START_DATE"


@strawberry.input(description="The order of the project list.")
class ProjectOrder:
    """A sort key and direction."""

    field: ProjectSortField
    direction: SortDirection = SortDirection.ASC


@strawberry.input(description="Which suppliers to list; every field set must hold (AND).")
class SupplierFilter:
    """Conditions on the link map and the ERP supplier."""

    keys: KeysFilter | None = None
    linked_in: list[str] | None = None
    country: list[str] | None = strawberry.field(
        default=None, description="ERP country (ISO-2) is one of these."
    )
    currency: list[str] | None = strawberry.field(
        default=None, description="ERP currency is one of these."
    )


@strawberry.enum(description="What suppliers are sorted by (then by link-map id).")
class SupplierSortField(enum.Enum):
    """Sort keys of the supplier list."""

    ID = "ID"
    NAME = "NAME"
    COUNTRY = "COUNTRY"


@strawberry.input(description="The order of the supplier list.")
class SupplierOrder:
    """A sort key and direction."""

    field: SupplierSortField
    direction: SortDirection = SortDirection.ASC


@strawberry.enum(description="How customer totals are grouped.")
class CustomerGrouping(enum.Enum):
    """CRM fields of the account, or the month of each invoice and time entry."""

    SEGMENT = "SEGMENT"
    OWNER = "OWNER"
    TEAM = "TEAM"
    COUNTRY = "COUNTRY"
    MONTH = "MONTH"


def values(name: str, given: list[str] | None) -> frozenset[str] | None:
    """A filter field's accepted values; ``BadInput`` for an empty or oversized list."""
    if given is None:
        return None
    if not given or len(given) > MAX_VALUES:
        raise BadInput(f"{name}: give 1 to {MAX_VALUES} values")
    if any(not v or len(v) > 255 or "," in v for v in given):
        raise BadInput(f"{name}: values must have 1 to 255 characters and no comma")
    return frozenset(given)
