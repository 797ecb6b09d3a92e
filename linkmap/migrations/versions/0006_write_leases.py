"""Leases on in-progress idempotency records, and the customer of each audit event.

* ``idempotency_records.owner``: the attempt holding an ``in_progress`` record;
  ``idempotency_records.lease_until``: until when it holds it. Past the lease another
  request with the same key may take the record over (a gateway killed mid-write leaves
  its record behind). Existing rows keep NULL: no lease, as before this revision.
* ``audit_events.customer_key``: the ERP customer of the edited order, so that an admin
  with a row scope reads only the audit of orders of customers in scope. Existing events
  keep NULL: only principals without a scope (or with the order itself in scope) see them.

Columns are added and dropped with plain ``ALTER TABLE`` (no table copy): the append-only
triggers of ``audit_events`` stay as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable lease and customer columns."""
    op.add_column("idempotency_records", sa.Column("owner", sa.String(length=64), nullable=True))
    op.add_column(
        "idempotency_records",
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("audit_events", sa.Column("customer_key", sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Drop the lease and customer columns (records then have no lease, as before)."""
    op.drop_column("audit_events", "customer_key")
    op.drop_column("idempotency_records", "lease_until")
    op.drop_column("idempotency_records", "owner")
