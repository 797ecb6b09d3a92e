"""The life of one order-line edit: validate, claim the idempotency key, forward once,
learn the outcome (re-reading when the ERP did not answer), store it, invalidate caches,
audit it.

Guarantees: a write is sent to the ERP at most once per idempotency key; a replay returns
the stored outcome with no ERP call; a request whose outcome cannot be known is answered
``OUTCOME_UNKNOWN`` and resolved by the next request with the same key.

Each attempt holds its idempotency record under a lease (see :mod:`linkmap.idempotency`).
Just before the ERP write it renews the lease and stores what a later request needs to
learn whether the write landed (``phase: sending``, the line before, the order's lines
before). If its gateway dies mid-write (SIGKILL), the record stays ``in_progress``; once
the lease has run out, a request with the same key takes it over, re-reads the ERP (the
line's version tells whether the edit landed), then completes the record with the applied
outcome, or sends the write itself when it certainly did not land, or marks the record
``unknown``. The abandoned attempt gets its own audit event, which it could not write.

Outcomes are the typed :data:`~resolvers.mutations.outcome.EditOutcome`; they are stored
and read back only through :func:`~resolvers.mutations.outcome.outcome_to_json` and
:func:`~resolvers.mutations.outcome.outcome_from_json`, and what the attempt learns through
:meth:`Edit.context_json` and :meth:`Edit.learn`. An ERP's refusal is mapped by
:func:`~resolvers.mutations.outcome.outcome_of_error` (the one table of codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from linkmap.errors import IdempotencyStateError
from linkmap.idempotency import IdempotencyLeaseLost, IdempotencyRecord, new_owner
from resolvers.cache import order_edit_keys
from resolvers.context import Context
from resolvers.error_codes import EditCode
from resolvers.mutations.edit import Edit
from resolvers.mutations.outcome import (
    Abandoned,
    EditOutcome,
    Refused,
    Removed,
    Saved,
    Unknown,
    failure,
    outcome_from_json,
    outcome_of_error,
    outcome_to_json,
)
from resolvers.mutations.resolve import Resolution, resolve_outcome
from resolvers.mutations.validation import MAX_KEY
from sources.base import EditableErp
from sources.errors import SourceError

log = logging.getLogger("keylink.edits")

Ready = Callable[[], Awaitable[None]]
"""Called by a sender right before the ERP write; raises IdempotencyLeaseLost if the
attempt no longer holds its record (then nothing may be sent)."""

Send = Callable[[Ready], Awaitable[EditOutcome]]
"""Performs the ERP write of an edit and returns its outcome (calls ``ready`` first)."""

AbandonedAudit = Callable[[Edit, EditOutcome | Abandoned, str], Awaitable[None]]
"""Records the audit event of an abandoned attempt: the edit, its outcome, a note."""

WAIT_SHARE: Final = 0.8
"""Share of ``write_wait`` (the request deadline) a duplicate waits for the attempt in
progress, so that it answers ``IN_PROGRESS`` before the deadline rather than a 504."""

_ROUNDS: Final = 5


def fingerprint(operation: str, request: dict[str, Any]) -> str:
    """A stable hash of what was asked: same request, same fingerprint."""
    canonical = json.dumps({"op": operation, "request": request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_of(ctx: Context, argument: str | None) -> str | Refused:
    """The request's idempotency key (argument, else header), or a rejection outcome."""
    key = argument if argument is not None else ctx.idempotency_header
    if key is None or key == "":
        return Refused(
            EditCode.BAD_INPUT,
            "an idempotency key is required (argument idempotencyKey or Idempotency-Key header)",
            "idempotencyKey",
        )
    if len(key) > MAX_KEY or not (key.isascii() and key.isprintable()):
        # it travels on to the ERP as an Idempotency-Key header: an HTTP header value is
        # ASCII (the IETF draft makes it a structured-field string)
        return Refused(
            EditCode.BAD_INPUT,
            f"the idempotency key must be 1 to {MAX_KEY} printable ASCII characters",
            "idempotencyKey",
        )
    return key


class EditRunner:
    """Runs edits for one request context; ``audit_abandoned`` records the audit event of
    an abandoned attempt this request settles (see the module docstring)."""

    def __init__(
        self, ctx: Context, erp: EditableErp, *, audit_abandoned: AbandonedAudit | None = None
    ) -> None:
        self.ctx = ctx
        self.erp = erp
        self.audit_abandoned = audit_abandoned
        self.owner = new_owner()

    async def run(self, edit: Edit, key: str, send: Send) -> tuple[EditOutcome, bool]:
        """The edit's outcome and whether it is a replay; ``send`` performs the ERP write."""
        store = self.ctx.idempotency
        scope = self.ctx.principal
        print_ = fingerprint(edit.operation, edit.request)
        edit.phase = "claimed"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ctx.write_wait * WAIT_SHARE
        for _ in range(_ROUNDS):
            claimed, record = await store.claim(
                scope, key, print_, context=edit.context_json(), owner=self.owner
            )
            if claimed:
                return await self._execute(edit, key, send), False
            if record.fingerprint != print_:
                return Refused(
                    EditCode.IDEMPOTENCY_MISMATCH,
                    "this idempotency key was used for a different request",
                    "idempotencyKey",
                ), True
            if record.state == "done" and record.outcome is not None:
                return self._replay(edit, record), True
            if record.state == "unknown" and await store.take_over(scope, key, owner=self.owner):
                return await self._settle(edit, key, record, send, abandoned=False)
            if record.state == "in_progress" and await store.take_over_abandoned(
                scope, key, owner=self.owner
            ):
                return await self._settle(edit, key, record, send, abandoned=True)
            waited = await store.wait_for_outcome(scope, key, timeout=deadline - loop.time())
            if waited is None:
                continue  # released: the first attempt certainly did not write; try again
            if waited.state == "done" and waited.outcome is not None:
                return self._replay(edit, waited), True
            if waited.state == "in_progress" and not waited.abandoned(store.now()):
                break  # a live attempt still holds it past our wait
            # unknown, or the holder's lease ran out: try to take it over
        return Refused(
            EditCode.IN_PROGRESS,
            "a request with this idempotency key is still being processed; retry later",
        ), True

    @staticmethod
    def _replay(edit: Edit, record: IdempotencyRecord) -> EditOutcome:
        """The stored outcome; the edit learns the order's customer (for its audit)."""
        customer = (record.context or {}).get("customer_key")
        if customer is not None and edit.customer_key is None:
            edit.customer_key = str(customer)
        assert record.outcome is not None
        return outcome_from_json(record.outcome)

    async def _execute(self, edit: Edit, key: str, send: Send) -> EditOutcome:
        store = self.ctx.idempotency
        scope = self.ctx.principal

        async def ready() -> None:
            edit.phase = "sending"
            await store.renew(scope, key, self.owner, context=edit.context_json())

        try:
            outcome = await send(ready)
        except IdempotencyLeaseLost:
            log.warning(
                "%s %s: another request took the key over; nothing sent", edit.operation, key
            )
            return Refused(
                EditCode.IN_PROGRESS,
                "another request with this idempotency key took it over; retry later",
            )
        except SourceError as error:
            refused = outcome_of_error(edit.system, error)
            if refused is not None:
                outcome = refused
            elif not error.maybe_applied:
                await self._release(key)
                return failure(error)
            else:
                log.warning("write outcome unknown for %s %s: %r", edit.operation, key, error)
                resolution = await resolve_outcome(self.erp, edit)
                if resolution.outcome is None:
                    return await self._unknown(edit, key, resolution)
                if resolution.applied is False:
                    await self._release(key)
                    return failure(error)
                outcome = resolution.outcome
        except BaseException:
            with contextlib.suppress(IdempotencyStateError):
                await store.mark_unknown(scope, key, edit.context_json(), owner=self.owner)
            raise
        outcome = await self._complete(key, outcome)
        await self.invalidate(edit, outcome)
        return outcome

    async def _settle(
        self,
        edit: Edit,
        key: str,
        record: IdempotencyRecord,
        send: Send,
        *,
        abandoned: bool,
    ) -> tuple[EditOutcome, bool]:
        """A retry that took over the record of an earlier attempt: its outcome was unknown,
        or (``abandoned``) its gateway stopped before finishing and its lease ran out. The
        outcome, and whether it is a replay (False when this request sent the write, the
        earlier attempt's having certainly not landed)."""
        held = await self.ctx.idempotency.get(self.ctx.principal, key)
        stored = (held or record).context or {}
        edit.learn(stored)  # what the first attempt learnt before it wrote
        if stored.get("phase") == "claimed":
            resolution = Resolution(False, None, "the first attempt never sent its write")
        else:
            resolution = await resolve_outcome(self.erp, edit)
            if resolution.applied is False and not abandoned:
                resolution = self._not_landed_yet(edit, held or record, resolution)
        if abandoned:
            await self._record_abandoned(edit, record, resolution)
        if resolution.applied is False:  # certainly not landed: send it now, once
            return await self._execute(edit, key, send), False
        if resolution.outcome is None:
            return await self._unknown(edit, key, resolution), True
        outcome = await self._complete(key, resolution.outcome)
        await self.invalidate(edit, outcome)
        return outcome, True

    def _not_landed_yet(
        self, edit: Edit, record: IdempotencyRecord, resolution: Resolution
    ) -> Resolution:
        """``resolution`` (not applied), unless the first attempt's write, sent before its
        outcome became unknown, could still reach the ERP: a new line carries no version
        that would make a late first write fail, so an add is sent again only once a lease
        has passed since then (a change or removal at the old version would conflict)."""
        settled = record.updated_at + self.ctx.idempotency.lease
        if edit.operation != "add_line" or self.ctx.idempotency.now() >= settled:
            return resolution
        return Resolution(
            None,
            None,
            f"no new line yet, but the first attempt's write may still reach the ERP; "
            f"retry after {settled.isoformat(timespec='seconds')}",
        )

    async def _record_abandoned(
        self, edit: Edit, record: IdempotencyRecord, resolution: Resolution
    ) -> None:
        """Audit the abandoned attempt as the ERP shows it, once per take-over."""
        if self.audit_abandoned is None:
            return
        until = record.lease_until.isoformat() if record.lease_until else "?"
        note = f"the gateway handling this attempt stopped before it finished (lease until {until})"
        outcome: EditOutcome | Abandoned
        if resolution.outcome is not None:
            outcome = resolution.outcome
            note += "; the ERP shows the edit applied"
        elif resolution.applied is False:
            outcome = Abandoned(f"{note}; the ERP shows no such edit")
            note += f"; the ERP shows no such edit ({resolution.reason})"
        else:
            outcome = Unknown(note)
            note += f"; whether the edit landed is unknown ({resolution.reason})"
        log.warning("settling an abandoned %s: %s", edit.operation, note)
        await self.audit_abandoned(edit, outcome, note + "; recorded by a retry with the same key")

    async def _complete(self, key: str, outcome: EditOutcome) -> EditOutcome:
        """Store ``outcome``; if another attempt stored one first, that one stands."""
        store = self.ctx.idempotency
        try:
            await store.complete(self.ctx.principal, key, outcome_to_json(outcome))
        except IdempotencyStateError:
            record = await store.get(self.ctx.principal, key)
            if record is None or record.state != "done" or record.outcome is None:
                raise
            return outcome_from_json(record.outcome)
        return outcome

    async def _release(self, key: str) -> None:
        """Free the key (the write certainly did not happen), unless another attempt holds
        it now."""
        with contextlib.suppress(IdempotencyLeaseLost):
            await self.ctx.idempotency.release(self.ctx.principal, key, owner=self.owner)

    async def _unknown(self, edit: Edit, key: str, resolution: Resolution) -> EditOutcome:
        try:
            await self.ctx.idempotency.mark_unknown(
                self.ctx.principal, key, edit.context_json(), owner=self.owner
            )
        except IdempotencyStateError:
            record = await self.ctx.idempotency.get(self.ctx.principal, key)
            if record is not None and record.state == "done" and record.outcome is not None:
                return outcome_from_json(record.outcome)
        await self.invalidate(edit, None)
        return Unknown(
            f"{edit.system} did not confirm the edit and it could not be checked "
            f"({resolution.reason}). Resend with the same idempotency key."
        )

    async def invalidate(self, edit: Edit, outcome: EditOutcome | None) -> None:
        """Drop every cached read the edit may have made stale (before answering)."""
        cache = self.ctx.cache
        if cache is None:
            return
        customer = None
        products: set[str] = set(edit.products)
        lines: set[str] = {edit.line_key} if edit.line_key else set()
        if isinstance(outcome, Saved | Removed):
            customer = outcome.order.customer_key
            lines.add(outcome.line.key)
            if outcome.line.product_key:
                products.add(outcome.line.product_key)
        customer = customer or edit.customer_key
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
