"""The ``AuditEvent`` type: one attempted order-line edit, as the audit trail keeps it."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from linkmap.audit import AuditEvent


@strawberry.type(name="AuditEvent", description="One attempted edit: who, when, what, outcome.")
class AuditEventType:
    """An audit row; rows are append-only."""

    id: strawberry.ID
    at: datetime
    actor: str
    operation: str
    system: str
    order_key: str | None
    line_key: str | None
    fields: list[str]
    before: JSON | None = strawberry.field(description="The line before the edit.")
    after: JSON | None = strawberry.field(description="The line after the edit.")
    idempotency_key: str | None
    replay: bool
    outcome: str = strawberry.field(description="APPLIED, or the stable code of the refusal.")
    erp_latency_ms: int | None

    @staticmethod
    def of(event: AuditEvent) -> AuditEventType:
        """The GraphQL form of an audit event."""
        return AuditEventType(
            id=strawberry.ID(str(event.id)),
            at=event.at,
            actor=event.actor,
            operation=event.operation,
            system=event.system,
            order_key=event.order_key,
            line_key=event.line_key,
            fields=list(event.fields),
            before=cast(JSON, event.before),
            after=cast(JSON, event.after),
            idempotency_key=event.idempotency_key,
            replay=event.replay,
            outcome=event.outcome,
            erp_latency_ms=event.erp_latency_ms,
        )
