"""Role checks: who may call what. A refused field is null with ``FORBIDDEN``."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from resolvers.context import context_of

ROLES = ("viewer", "sales", "analyst", "admin", "operator", "metrics")
EDIT_ROLES = frozenset({"sales", "admin"})
ADMIN_ROLES = frozenset({"admin"})
ANALYST_ROLES = frozenset({"analyst", "admin"})


class _HasRole(BasePermission):
    allowed: frozenset[str] = frozenset()
    message = "You are not allowed to do this."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - strawberry reads a class attribute

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        """True when the caller holds one of the allowed roles."""
        return bool(context_of(info).roles & self.allowed)


class SeesFinancials(_HasRole):
    """Financial figures (balances, invoices, orders, budgets): every role but ``viewer``."""

    allowed = frozenset({"sales", "analyst", "admin"})
    message = "Financial figures need the sales, analyst or admin role."


FINANCIAL: list[type[BasePermission]] = [SeesFinancials]
"""``permission_classes`` for a financial field: null with ``FORBIDDEN`` for a viewer."""


class CanEditOrders(_HasRole):
    """Order-line edits and previews: roles ``sales`` and ``admin``."""

    allowed = EDIT_ROLES
    message = "Editing orders needs the sales or admin role."


class IsAdmin(_HasRole):
    """Link map, audit trail and keys: role ``admin``."""

    allowed = ADMIN_ROLES
    message = "This needs the admin role."


class IsAnalyst(_HasRole):
    """Lists and totals across linked entities: roles ``analyst`` and ``admin``."""

    allowed = ANALYST_ROLES
    message = "Lists and totals need the analyst or admin role."
