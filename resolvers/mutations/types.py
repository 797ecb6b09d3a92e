"""GraphQL types of the order-line mutations: inputs and typed results.

Every outcome of an authorised edit is a typed result a client can switch on by
``__typename`` or by its stable ``code``; GraphQL errors are left for what is not an
outcome of the edit (a malformed document, a missing role). :func:`result_from_outcome`
turns each typed outcome (:mod:`resolvers.mutations.outcome`) into its member of the
``OrderLineResult`` union.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, assert_never

import strawberry

from resolvers.error_codes import EditCode
from resolvers.mutations.outcome import (
    Conflicted,
    EditOutcome,
    Refused,
    Removed,
    Saved,
    Unknown,
)
from resolvers.types.erp import OrderLineType, SalesOrderType

strawberry.enum(EditCode, description="Stable codes of edit outcomes that are not a success.")


@strawberry.input(description="An order, by its key in any linked system.")
class OrderRef:
    """Which order: an ERP order number, or a key the link map ties to one."""

    system: str
    key: str


@strawberry.input(description="A new order line; the ERP prices it.")
class AddOrderLineInput:
    """What to add."""

    order: OrderRef
    product: str
    quantity: Decimal
    discount_percent: Decimal | None = None
    delivery_date: date | None = None
    description: str | None = None
    unit_price: Decimal | None = strawberry.field(
        default=None, description="Only for products the ERP lets you price by hand."
    )


@strawberry.input(description="Changes to an order line; omitted fields stay as they are.")
class UpdateOrderLineInput:
    """What to change, and the version of the line the change was made against."""

    order: OrderRef
    line: strawberry.ID
    expected_version: str
    quantity: Decimal | None = None
    discount_percent: Decimal | None = None
    delivery_date: date | None = None
    description: str | None = None
    unit_price: Decimal | None = None


@strawberry.input(description="The line to remove, at the version it was seen.")
class RemoveOrderLineInput:
    """Which line to remove."""

    order: OrderRef
    line: strawberry.ID
    expected_version: str


@strawberry.input(description="A line to price without saving: a new one, or a change.")
class PreviewOrderLineInput:
    """Give ``line`` to preview a change of that line, else ``product`` and ``quantity``."""

    order: OrderRef
    line: strawberry.ID | None = None
    expected_version: str | None = strawberry.field(
        default=None,
        description=(
            "The line's version as the client last read it: a preview of a changed line "
            "then answers CONFLICT, with the current line, exactly when the edit would."
        ),
    )
    product: str | None = None
    quantity: Decimal | None = None
    discount_percent: Decimal | None = None
    delivery_date: date | None = None
    description: str | None = None
    unit_price: Decimal | None = None


@strawberry.interface(description="An edit that did not succeed, with its stable code.")
class EditProblem:
    """What a client switches on."""

    code: EditCode
    message: str


@strawberry.type(
    description="The ERP saved the line; this is the line and order as it now has them."
)
class OrderLineSaved:
    """A successful add or update."""

    line: OrderLineType
    order: SalesOrderType
    idempotency_key: str


@strawberry.type(description="The ERP removed the line.")
class OrderLineRemoved:
    """A successful removal."""

    removed_line: OrderLineType = strawberry.field(description="The line as it was.")
    order: SalesOrderType
    idempotency_key: str


@strawberry.type(description="The edit was refused; nothing was written.")
class OrderLineRejected(EditProblem):
    """A refusal by Keylink (bad input) or by the ERP."""

    field: str | None


@strawberry.type(description="The line changed since it was read; nothing was written.")
class VersionConflict(EditProblem):
    """The edit carried a stale version."""

    current: OrderLineType | None = strawberry.field(description="The line as it is now.")


@strawberry.type(
    description=(
        "The ERP did not answer and re-reading could not tell whether the edit was applied. "
        "Send the same request with the same idempotency key to learn the outcome."
    )
)
class OutcomeUnknown(EditProblem):
    """The write's fate is not known yet."""

    idempotency_key: str


OrderLineResult = Annotated[
    OrderLineSaved | OrderLineRemoved | OrderLineRejected | VersionConflict | OutcomeUnknown,
    strawberry.union("OrderLineResult"),
]


@strawberry.type(description="How the ERP would price the line; nothing was saved.")
class OrderLinePreview:
    """A dry run."""

    line: OrderLineType
    order: SalesOrderType


OrderLinePreviewResult = Annotated[
    OrderLinePreview | OrderLineRejected | VersionConflict,
    strawberry.union("OrderLinePreviewResult"),
]


EditResult = (
    OrderLineSaved | OrderLineRemoved | OrderLineRejected | VersionConflict | OutcomeUnknown
)


def result_from_outcome(outcome: EditOutcome, *, key: str) -> EditResult:
    """The GraphQL result for a stored (or fresh) outcome: a replay answers exactly as the
    first attempt did (``extensions.idempotency`` tells them apart)."""
    if isinstance(outcome, Saved):
        return OrderLineSaved(
            line=OrderLineType.of(outcome.system, outcome.line),
            order=SalesOrderType.of(outcome.system, outcome.order),
            idempotency_key=key,
        )
    if isinstance(outcome, Removed):
        return OrderLineRemoved(
            removed_line=OrderLineType.of(outcome.system, outcome.line),
            order=SalesOrderType.of(outcome.system, outcome.order),
            idempotency_key=key,
        )
    if isinstance(outcome, Conflicted):
        current = outcome.current
        return VersionConflict(
            code=EditCode.CONFLICT,
            message=outcome.message,
            current=None if current is None else OrderLineType.of(outcome.system, current),
        )
    if isinstance(outcome, Unknown) or outcome.code is EditCode.OUTCOME_UNKNOWN:
        return OutcomeUnknown(
            code=EditCode.OUTCOME_UNKNOWN, message=outcome.message, idempotency_key=key
        )
    if isinstance(outcome, Refused):
        return rejection(outcome)
    assert_never(outcome)


def rejection(outcome: Refused) -> OrderLineRejected:
    """A refusal as the schema's ``OrderLineRejected``."""
    return OrderLineRejected(code=outcome.code, message=outcome.message, field=outcome.field)
