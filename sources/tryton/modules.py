"""Which of Tryton's optional modules a database has activated, asked once.

Keylink reads purchases, line discounts, amendments, credit limits and project billing
only where Tryton's own modules for them are active. It never assumes: the first read
that needs to know asks ``ir.module`` for the activated modules (one ``search_read``),
and the answer is kept for the life of the adapter (activating a module in Tryton is an
upgrade, after which Keylink is restarted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

PURCHASE = "purchase"
SALE_DISCOUNT = "sale_discount"
SALE_AMENDMENT = "sale_amendment"
CREDIT_LIMIT = "account_credit_limit"
PROJECT_INVOICE = "project_invoice"

SearchRead = Callable[[str, list[Any], Sequence[str]], Awaitable[list[dict[str, Any]]]]


class ActiveModules:
    """The names of the modules activated in one Tryton database, read on first use,
    less those the configuration tells Keylink to leave alone (``ignored``)."""

    def __init__(self, search_read: SearchRead, ignored: frozenset[str] = frozenset()) -> None:
        self._search_read = search_read
        self._ignored = ignored
        self._names: frozenset[str] | None = None
        self._lock = asyncio.Lock()

    @property
    def known(self) -> frozenset[str] | None:
        """The active modules if already asked, else None (nothing is assumed)."""
        return self._names

    async def names(self) -> frozenset[str]:
        """The activated modules (asked of Tryton once; a failed ask is asked again)."""
        if self._names is None:
            async with self._lock:
                if self._names is None:
                    rows = await self._search_read(
                        "ir.module", [["state", "=", "activated"]], ["name"]
                    )
                    names = frozenset(str(row["name"]) for row in rows)
                    self._names = names - self._ignored
        return self._names

    async def has(self, name: str) -> bool:
        """Whether module ``name`` is activated."""
        return name in await self.names()


__all__ = [
    "CREDIT_LIMIT",
    "PROJECT_INVOICE",
    "PURCHASE",
    "SALE_AMENDMENT",
    "SALE_DISCOUNT",
    "ActiveModules",
]
