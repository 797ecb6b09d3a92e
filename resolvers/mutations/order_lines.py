"""The order-line mutations and the preview: forwarded to the ERP, never priced here.

Each mutation runs one :class:`~resolvers.mutations.edit.Edit` through the engine, which
answers a typed outcome (:mod:`resolvers.mutations.outcome`); it is audited, then turned
into the GraphQL result (:func:`resolvers.mutations.types.result_from_outcome`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from resolvers.context import Context, context_of
from resolvers.error_codes import EditCode
from resolvers.mutations.edit import Edit
from resolvers.mutations.engine import EditRunner, Ready, elapsed_ms, idempotency_key_of
from resolvers.mutations.links import LinkMutation
from resolvers.mutations.outcome import (
    Abandoned,
    Conflicted,
    EditOutcome,
    Refused,
    Removed,
    Saved,
    audit_code,
    failure,
    outcome_of_error,
    record_to_json,
    success,
)
from resolvers.mutations.types import (
    AddOrderLineInput,
    EditResult,
    OrderLinePreview,
    OrderLinePreviewResult,
    OrderLineRejected,
    OrderLineResult,
    OrderRef,
    PreviewOrderLineInput,
    RemoveOrderLineInput,
    UpdateOrderLineInput,
    VersionConflict,
    rejection,
    result_from_outcome,
)
from resolvers.mutations.validation import (
    MAX_KEY,
    InvalidEdit,
    check_date,
    check_discount,
    check_quantity,
    check_text,
    check_unit_price,
)
from resolvers.onboarding.graphql import OnboardingMutation
from resolvers.order_refs import (
    ErpOrder,
    erp_order,
    order_in_scope,
    order_visible,
    scope_reaches_customers,
)
from resolvers.permissions import CanEditOrders
from resolvers.types.erp import OrderLineType, SalesOrderType
from sources.base import EditableErp
from sources.errors import SourceError
from sources.records import LINE_FIELDS, LineChanges, LineDraft, OrderLine, SalesOrder

Address = tuple[str, str, EditableErp]
Writer = Callable[[EditableErp, "Edit", str], Awaitable[Any]]
Plan = tuple[Callable[[str, str], "Edit"], Writer]


async def address(ctx: Context, ref: OrderRef) -> Address | Refused:
    """The ERP system, ERP order key and adapter for an order reference, or a rejection."""
    check_text("order.system", ref.system, limit=64, required=True)
    check_text("order.key", ref.key, limit=MAX_KEY, required=True)
    if ref.system not in ctx.systems:
        return Refused(EditCode.BAD_INPUT, f"unknown system {ref.system!r}", "order.system")
    found = await erp_order(ctx, ref.system, ref.key)
    if found is None:
        return Refused(
            EditCode.NOT_FOUND, f"no ERP order is linked to {ref.system} {ref.key}", "order"
        )
    system, key = found.system, found.key
    erp = ctx.systems.sources[system]
    if not await _editable_in_scope(ctx, found, erp):
        # a scoped principal edits only orders in its scope; others look as if absent
        return Refused(EditCode.NOT_FOUND, f"no order {key} in {system}", "order")
    if not isinstance(erp, EditableErp):
        return Refused(EditCode.NOT_SUPPORTED, f"{system} does not accept order-line edits")
    return system, key, erp


async def _editable_in_scope(ctx: Context, order: ErpOrder, erp: object) -> bool:
    """Whether the row scope admits editing ``order``: its order entity or its customer is
    in scope (as for reading it, ``order_visible``). The customer is read from the ERP only
    when the order's own entity is not in scope and the scope could hold customers."""
    if await order_in_scope(ctx, order):
        return True
    if not scope_reaches_customers(ctx) or not isinstance(erp, EditableErp):
        return False
    record = (await erp.sales_orders([order.key])).get(order.key)
    return record is not None and await order_visible(ctx, order, record.customer_key)


def _requested(values: LineDraft | LineChanges) -> dict[str, str]:
    wire = record_to_json(values)
    requested = {name: wire[name] for name in LINE_FIELDS if wire.get(name) is not None}
    if isinstance(values, LineDraft):
        requested["product"] = values.product_key
    return requested


async def _order_and_line(
    erp: EditableErp, order_key: str, line_key: str | None
) -> tuple[SalesOrder | None, OrderLine | None]:
    if line_key is None:
        orders = await erp.sales_orders([order_key])
        return orders.get(order_key), None
    orders, lines = await asyncio.gather(
        erp.sales_orders([order_key]), erp.order_lines_by_key([line_key])
    )
    return orders.get(order_key), lines.get(line_key)


def _precheck(
    system: str,
    order_key: str,
    order: SalesOrder | None,
    line_key: str | None,
    line: OrderLine | None,
) -> Refused | None:
    if order is None:
        return Refused(EditCode.NOT_FOUND, f"{system} has no order {order_key}", "order")
    if order.locked:
        reason = (
            order.lock_reason
            or f"order {order_key} is {order.status.value.lower()} and can no longer be edited"
        )
        return Refused(EditCode.ORDER_LOCKED, reason, "order")
    if line_key is not None and (line is None or line.order_key != order_key):
        return Refused(EditCode.NOT_FOUND, f"order {order_key} has no line {line_key}", "line")
    return None


async def perform(
    info: strawberry.Info,
    operation: str,
    ref: OrderRef,
    argument_key: str | None,
    prepare: Callable[[], Plan],
) -> EditResult:
    """Run one edit end to end and return its GraphQL result; every attempt is audited."""
    ctx = context_of(info)
    started = time.monotonic()
    key = idempotency_key_of(ctx, argument_key)
    edit: Edit | None = None
    outcome: EditOutcome
    try:
        build, write = prepare()
        if isinstance(key, Refused):
            outcome, replayed = key, False
        else:
            target = await address(ctx, ref)
            if isinstance(target, Refused):
                outcome, replayed = target, False
            else:
                edit = build(target[0], target[1])
                erp, this_edit, this_key = target[2], edit, key

                async def send(ready: Ready) -> EditOutcome:
                    return await _send(erp, this_edit, this_key, write, ready)

                async def audit_abandoned(
                    first: Edit, abandoned: EditOutcome | Abandoned, note: str
                ) -> None:
                    await _audit(
                        ctx, operation, ref, first, abandoned, this_key, False, started, note=note
                    )

                runner = EditRunner(ctx, erp, audit_abandoned=audit_abandoned)
                outcome, replayed = await runner.run(edit, key, send)
    except InvalidEdit as problem:
        outcome, replayed = Refused(EditCode.BAD_INPUT, problem.message, problem.field), False
    key_text = key if isinstance(key, str) else ""
    await _audit(ctx, operation, ref, edit, outcome, key_text, replayed, started)
    if key_text:
        ctx.idempotency_report.append(
            {"path": info.path.key, "key": key_text, "replayed": replayed}
        )
    return result_from_outcome(outcome, key=key_text)


async def _send(
    erp: EditableErp,
    edit: Edit,
    key: str,
    write: Callable[[EditableErp, Edit, str], Awaitable[Any]],
    ready: Ready,
) -> EditOutcome:
    order, line = await _order_and_line(erp, edit.order_key, edit.line_key)
    if order is not None:
        edit.customer_key = order.customer_key
    refused = _precheck(edit.system, edit.order_key, order, edit.line_key, line)
    if refused is not None:
        return refused
    assert order is not None
    if line is not None:
        edit.before = line
        if line.product_key:
            edit.products.append(line.product_key)
    if edit.operation == "add_line":
        lines = await erp.order_lines([edit.order_key])
        edit.before_line_ids = [ln.key for ln in lines.get(edit.order_key, [])]
    await ready()  # the record now holds all a later request needs to check the write
    started = time.monotonic()
    try:
        answer = await write(erp, edit, key)
    finally:
        edit.erp_latency_ms = elapsed_ms(started)
    if edit.operation == "remove_line":
        assert line is not None
        return success(edit.system, answer, removed=line)
    return success(edit.system, answer)


def _clip(value: str | None, limit: int) -> str | None:
    """Client-supplied text made fit for the audit: no control characters, bounded, or None."""
    if value is None:
        return None
    cleaned = "".join(ch for ch in value if ord(ch) >= 32)[:limit]
    return cleaned or None


async def _audit(
    ctx: Context,
    operation: str,
    ref: OrderRef,
    edit: Edit | None,
    outcome: EditOutcome | Abandoned,
    key: str,
    replayed: bool,
    started: float,
    *,
    note: str | None = None,
) -> None:
    """One audit event for one attempt; ``note`` replaces the detail (an abandoned attempt
    recorded by the request that settled it)."""
    code = audit_code(outcome)
    after = record_to_json(outcome.line) if isinstance(outcome, Saved) else None
    customer = outcome.order.customer_key if isinstance(outcome, Saved | Removed) else None
    if customer is None and edit is not None:
        customer = edit.customer_key
    detail = None if isinstance(outcome, Saved | Removed) else _clip(outcome.message, 500)
    await ctx.audit.record(
        actor=ctx.principal,
        operation=operation,
        system=_clip(edit.system if edit else ref.system, 64) or "?",
        order_key=_clip(edit.order_key if edit else ref.key, MAX_KEY),
        line_key=(edit.line_key if edit else None)
        or (after["key"] if isinstance(after, dict) else None),
        fields=edit.fields if edit else (),
        before=record_to_json(edit.before) if edit and edit.before else None,
        after=after,
        idempotency_key=_clip(key, MAX_KEY),
        replay=replayed,
        outcome=code,
        erp_latency_ms=(edit.erp_latency_ms if edit and not replayed and note is None else None),
        detail=_clip(note, 500) if note is not None else detail,
        customer_key=_clip(customer, MAX_KEY) if isinstance(customer, str) else None,
    )
    _ = started


def _draft(data: AddOrderLineInput | PreviewOrderLineInput) -> LineDraft:
    check_text("product", data.product, limit=MAX_KEY, required=True)
    check_quantity(data.quantity, required=True)
    check_discount(data.discount_percent)
    check_date(data.delivery_date)
    check_text("description", data.description)
    check_unit_price(data.unit_price)
    assert data.product is not None and data.quantity is not None
    return LineDraft(
        product_key=data.product,
        quantity=data.quantity,
        discount_percent=data.discount_percent,
        delivery_date=data.delivery_date,
        description=data.description,
        unit_price=data.unit_price,
    )


def _changes(data: UpdateOrderLineInput | PreviewOrderLineInput) -> LineChanges:
    check_quantity(data.quantity, required=False)
    check_discount(data.discount_percent)
    check_date(data.delivery_date)
    check_text("description", data.description)
    check_unit_price(data.unit_price)
    changes = LineChanges(
        quantity=data.quantity,
        discount_percent=data.discount_percent,
        delivery_date=data.delivery_date,
        description=data.description,
        unit_price=data.unit_price,
    )
    if not changes.changed_fields():
        raise InvalidEdit("input", "nothing to change: give at least one field")
    return changes


def _version(value: str) -> str:
    check_text("expectedVersion", value, limit=64, required=True)
    return value


def _line_key(value: str) -> str:
    check_text("line", value, limit=MAX_KEY, required=True)
    return value


def _add_plan(data: AddOrderLineInput) -> Plan:
    draft = _draft(data)

    def build(system: str, order_key: str) -> Edit:
        return Edit(
            operation="add_line",
            system=system,
            order_key=order_key,
            request={"order": [system, order_key], **_requested(draft)},
            fields=tuple(n for n in ("product_key", *LINE_FIELDS) if getattr(draft, n) is not None),
            requested=_requested(draft),
            products=[draft.product_key],
        )

    async def write(erp: EditableErp, edit: Edit, key: str) -> Any:
        return await erp.add_order_line(edit.order_key, draft, idempotency_key=key)

    return build, write


def _update_plan(data: UpdateOrderLineInput) -> Plan:
    line_key, version, changes = (
        _line_key(data.line),
        _version(data.expected_version),
        _changes(data),
    )

    def build(system: str, order_key: str) -> Edit:
        return Edit(
            operation="update_line",
            system=system,
            order_key=order_key,
            line_key=line_key,
            expected_version=version,
            request={
                "order": [system, order_key],
                "line": line_key,
                "version": version,
                **_requested(changes),
            },
            fields=changes.changed_fields(),
            requested=_requested(changes),
        )

    async def write(erp: EditableErp, _edit: Edit, key: str) -> Any:
        return await erp.change_order_line(line_key, changes, version=version, idempotency_key=key)

    return build, write


def _remove_plan(data: RemoveOrderLineInput) -> Plan:
    line_key, version = _line_key(data.line), _version(data.expected_version)

    def build(system: str, order_key: str) -> Edit:
        return Edit(
            operation="remove_line",
            system=system,
            order_key=order_key,
            line_key=line_key,
            expected_version=version,
            request={"order": [system, order_key], "line": line_key, "version": version},
            fields=("removed",),
        )

    async def write(erp: EditableErp, _edit: Edit, key: str) -> Any:
        return await erp.remove_order_line(line_key, version=version, idempotency_key=key)

    return build, write


@strawberry.type
class Mutation(OnboardingMutation, LinkMutation):
    """Order-line edits, forwarded straight to the ERP. Each needs an idempotency key."""

    @strawberry.mutation(
        permission_classes=[CanEditOrders],
        description="Add a line to an ERP order; the ERP prices it.",
    )
    async def add_order_line(
        self, info: strawberry.Info, input: AddOrderLineInput, idempotency_key: str | None = None
    ) -> OrderLineResult:
        """Forward a new line to the ERP."""
        return await perform(
            info, "add_line", input.order, idempotency_key, lambda: _add_plan(input)
        )

    @strawberry.mutation(
        permission_classes=[CanEditOrders],
        description="Change a line at the version it was seen; a stale version is a CONFLICT.",
    )
    async def update_order_line(
        self,
        info: strawberry.Info,
        input: UpdateOrderLineInput,
        idempotency_key: str | None = None,
    ) -> OrderLineResult:
        """Forward a change of a line to the ERP."""
        return await perform(
            info, "update_line", input.order, idempotency_key, lambda: _update_plan(input)
        )

    @strawberry.mutation(
        permission_classes=[CanEditOrders],
        description="Remove a line at the version it was seen; a stale version is a CONFLICT.",
    )
    async def remove_order_line(
        self,
        info: strawberry.Info,
        input: RemoveOrderLineInput,
        idempotency_key: str | None = None,
    ) -> OrderLineResult:
        """Forward the removal of a line to the ERP."""
        return await perform(
            info, "remove_line", input.order, idempotency_key, lambda: _remove_plan(input)
        )


def _as_rejection(outcome: Refused | Conflicted) -> OrderLineRejected:
    """A preview's refusal: the ERP's version conflict too is a rejection with ``CONFLICT``
    here (a preview that finds a stale version itself answers ``VersionConflict``)."""
    if isinstance(outcome, Conflicted):
        return OrderLineRejected(code=EditCode.CONFLICT, message=outcome.message, field=None)
    return rejection(outcome)


async def preview(
    info: strawberry.Info, data: PreviewOrderLineInput
) -> OrderLinePreview | OrderLineRejected | VersionConflict:
    """Ask the ERP to price a new line or a change, without saving anything; a preview
    answers as the edit of the same line would (NOT_FOUND, ORDER_LOCKED, CONFLICT)."""
    ctx = context_of(info)
    system = data.order.system
    try:
        target = await address(ctx, data.order)
        if isinstance(target, Refused):
            return _as_rejection(target)
        system, order_key, erp = target
        line_key = _line_key(data.line) if data.line is not None else None
        order, line = await _order_and_line(erp, order_key, line_key)
        refused = _precheck(system, order_key, order, line_key, line)
        if refused is not None:
            return _as_rejection(refused)
        if line is not None and data.expected_version not in (None, line.version):
            return VersionConflict(
                code=EditCode.CONFLICT,
                message=f"{system}: the line was changed since version {data.expected_version}",
                current=OrderLineType.of(system, line),
            )
        if line_key is not None:
            answer = await erp.preview_line_change(line_key, _changes(data))
        else:
            answer = await erp.preview_order_line(order_key, _draft(data))
    except InvalidEdit as problem:
        return OrderLineRejected(
            code=EditCode.BAD_INPUT, message=problem.message, field=problem.field
        )
    except SourceError as error:
        return _as_rejection(outcome_of_error(system, error) or failure(error))
    assert answer.line is not None
    return OrderLinePreview(
        line=OrderLineType.of(system, answer.line), order=SalesOrderType.of(system, answer.order)
    )


__all__ = ["Mutation", "OrderLinePreviewResult", "preview"]
