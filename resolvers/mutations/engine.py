"""The life of one order-line edit: validate, claim the idempotency key, forward once,
learn the outcome (re-reading when the ERP did not answer), store it, invalidate caches,
audit it.

Guarantees: a write is sent to the ERP at most once per idempotency key; a replay returns
the stored outcome with no ERP call; a request whose outcome cannot be known is answered
``OUTCOME_UNKNOWN`` and resolved by the next request with the same key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from linkmap.idempotency import IdempotencyRecord
from resolvers.cache import order_edit_keys
from resolvers.context import Context
from resolvers.mutations.outcome import record_to_json
from resolvers.mutations.resolve import Resolution, resolve_outcome
from resolvers.mutations.types import EditCode, rejected
from resolvers.mutations.validation import MAX_KEY
from sources.base import EditableErp
from sources.errors import (
    Conflict,
    NotFound,
    Rejected,
    SourceError,
    SourceTimeout,
    Unsupported,
)
from sources.records import LineWrite, OrderLine

log = logging.getLogger("keylink.edits")

Operation = Literal["add_line", "update_line", "remove_line"]


@dataclass
class Edit:
    """One requested edit, already validated and addressed to an ERP order."""

    operation: Operation
    system: str
    order_key: str
    request: dict[str, Any]
    line_key: str | None = None
    expected_version: str | None = None
    fields: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)


def fingerprint(operation: str, request: dict[str, Any]) -> str:
    """A stable hash of what was asked: same request, same fingerprint."""
    canonical = json.dumps({"op": operation, "request": request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_of(ctx: Context, argument: str | None) -> str | dict[str, Any]:
    """The request's idempotency key (argument, else header), or a rejection outcome."""
    key = argument if argument is not None else ctx.idempotency_header
    if key is None or key == "":
        return rejected(
            EditCode.BAD_INPUT,
            "an idempotency key is required (argument idempotencyKey or Idempotency-Key header)",
            "idempotencyKey",
        )
    if len(key) > MAX_KEY or not key.isprintable():
        return rejected(
            EditCode.BAD_INPUT,
            f"the idempotency key must be 1 to {MAX_KEY} printable characters",
            "idempotencyKey",
        )
    return key


def _failure(error: SourceError) -> dict[str, Any]:
    code = (
        EditCode.SOURCE_TIMEOUT if isinstance(error, SourceTimeout) else EditCode.SOURCE_UNAVAILABLE
    )
    return rejected(
        code, f"{error.system}: {error.message} Nothing was written; it is safe to retry."
    )


def _from_error(system: str, error: SourceError) -> dict[str, Any] | None:
    """The outcome of a write the ERP refused, or None when the error is not a refusal."""
    if isinstance(error, Conflict):
        current = error.current if isinstance(error.current, OrderLine) else None
        return {
            "kind": "conflict",
            "system": system,
            "message": f"{system}: {error.message}",
            "current": None if current is None else record_to_json(current),
        }
    if isinstance(error, Rejected):
        try:
            code = EditCode(error.code)
        except ValueError:
            code = EditCode.REJECTED
        return rejected(code, f"{system}: {error.message}", error.field)
    if isinstance(error, NotFound):
        return rejected(EditCode.NOT_FOUND, f"{system}: {error.message}")
    if isinstance(error, Unsupported):
        return rejected(EditCode.NOT_SUPPORTED, f"{system}: {error.message}")
    return None


def success(system: str, write: LineWrite, *, removed: OrderLine | None = None) -> dict[str, Any]:
    """The outcome of an applied write."""
    if removed is not None:
        return {
            "kind": "removed",
            "system": system,
            "line": record_to_json(removed),
            "order": record_to_json(write.order),
        }
    assert write.line is not None
    return {
        "kind": "saved",
        "system": system,
        "line": record_to_json(write.line),
        "order": record_to_json(write.order),
    }


class EditRunner:
    """Runs edits for one request context."""

    def __init__(self, ctx: Context, erp: EditableErp) -> None:
        self.ctx = ctx
        self.erp = erp

    async def run(
        self, edit: Edit, key: str, send: Callable[[], Awaitable[dict[str, Any]]]
    ) -> tuple[dict[str, Any], bool]:
        """The edit's outcome and whether it is a replay; ``send`` performs the ERP write."""
        store = self.ctx.idempotency
        scope = self.ctx.principal
        print_ = fingerprint(edit.operation, edit.request)
        for _ in range(3):
            claimed, record = await store.claim(scope, key, print_, context=edit.context)
            if claimed:
                return await self._execute(edit, key, send), False
            if record.fingerprint != print_:
                return rejected(
                    EditCode.IDEMPOTENCY_MISMATCH,
                    "this idempotency key was used for a different request",
                    "idempotencyKey",
                ), True
            if record.state == "done" and record.outcome is not None:
                return record.outcome, True
            if record.state == "unknown" and await store.take_over(scope, key):
                return await self._settle_unknown(edit, key, record, send), True
            waited = await store.wait_for_outcome(scope, key, timeout=self.ctx.write_wait)
            if waited is None:
                continue  # released: the first attempt certainly did not write; try again
            if waited.state == "done" and waited.outcome is not None:
                return waited.outcome, True
            if waited.state == "in_progress":
                break
        return rejected(
            EditCode.IN_PROGRESS,
            "a request with this idempotency key is still being processed; retry later",
        ), True

    async def _execute(
        self, edit: Edit, key: str, send: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        store = self.ctx.idempotency
        scope = self.ctx.principal
        try:
            outcome = await send()
        except SourceError as error:
            refused = _from_error(edit.system, error)
            if refused is not None:
                outcome = refused
            elif not error.maybe_applied:
                await store.release(scope, key)
                return _failure(error)
            else:
                log.warning("write outcome unknown for %s %s: %r", edit.operation, key, error)
                resolution = await resolve_outcome(self.erp, edit)
                if resolution.outcome is None:
                    return await self._unknown(edit, key, resolution)
                if resolution.applied is False:
                    await store.release(scope, key)
                    return _failure(error)
                outcome = resolution.outcome
        except BaseException:
            await store.mark_unknown(scope, key, edit.context)
            raise
        await store.complete(scope, key, outcome)
        await self.invalidate(edit, outcome)
        return outcome

    async def _settle_unknown(
        self,
        edit: Edit,
        key: str,
        record: IdempotencyRecord,
        send: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """A retry of an edit whose first attempt's outcome was unknown."""
        first = Edit(**{**edit.__dict__, "context": record.context or edit.context})
        resolution = await resolve_outcome(self.erp, first)
        if resolution.outcome is None:
            return await self._unknown(first, key, resolution)
        if resolution.applied is False:
            return await self._execute(first, key, send)
        await self.ctx.idempotency.complete(self.ctx.principal, key, resolution.outcome)
        await self.invalidate(first, resolution.outcome)
        return resolution.outcome

    async def _unknown(self, edit: Edit, key: str, resolution: Resolution) -> dict[str, Any]:
        await self.ctx.idempotency.mark_unknown(self.ctx.principal, key, edit.context)
        await self.invalidate(edit, None)
        return {
            "kind": "rejected",
            "code": EditCode.OUTCOME_UNKNOWN.value,
            "message": (
                f"{edit.system} did not confirm the edit and it could not be checked "
                f"({resolution.reason}). Resend with the same idempotency key."
            ),
            "field": None,
            "unknown": True,
        }

    async def invalidate(self, edit: Edit, outcome: dict[str, Any] | None) -> None:
        """Drop every cached read the edit may have made stale (before answering)."""
        cache = self.ctx.cache
        if cache is None:
            return
        customer = None
        products: set[str] = set(edit.context.get("products", []))
        lines: set[str] = {edit.line_key} if edit.line_key else set()
        if outcome is not None and "order" in outcome:
            customer = outcome["order"].get("customer_key")
        if outcome is not None and isinstance(outcome.get("line"), dict):
            lines.add(outcome["line"]["key"])
            if outcome["line"].get("product_key"):
                products.add(outcome["line"]["product_key"])
        customer = customer or edit.context.get("customer_key")
        await cache.invalidate(
            order_edit_keys(
                edit.system,
                order_key=edit.order_key,
                customer_key=customer,
                line_keys=lines,
                product_keys=products,
            )
        )


def elapsed_ms(started: float) -> int:
    """Milliseconds since ``started`` (a ``time.monotonic()`` reading)."""
    return int((time.monotonic() - started) * 1000)
