"""What every part of the Tryton adapter stands on: the session, batched ``search_read``,
the company's currency, the active modules, and the parties (customers, suppliers,
clients), whose figures need nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from sources.config import read_secret
from sources.declarative import NotedAnswer
from sources.errors import SourceUnavailable
from sources.http import make_client
from sources.money import Money
from sources.records import Client, Customer, InvoiceStatus, Supplier
from sources.tryton.common import Row, decimal, nested
from sources.tryton.config import TrytonConfig
from sources.tryton.modules import CREDIT_LIMIT, ActiveModules
from sources.tryton.rpc import TrytonRpc

INVOICE_STATES = {
    "draft": InvoiceStatus.DRAFT,
    "validated": InvoiceStatus.DRAFT,
    "posted": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "cancelled": InvoiceStatus.CANCELLED,
}
"""Tryton's invoice states as Keylink's: a validated invoice is not yet posted (a draft
to the customer). A system's ``invoice_status`` table overrides it per state; a state
neither knows is UNKNOWN (never guessed as another)."""

PARTY_FIELDS = ["code", "name", "addresses.country.code", "tax_identifier.code", "identifiers.code"]
CREDIT_FIELDS = ["credit_limit_amount", "credit_amount"]
NO_CREDIT_MODULE = (
    "keeps no credit limits: creditLimit and creditUsed need Tryton's account_credit_limit module"
)
"""The note of a customers answer where the module is not active (credit figures null)."""


class TrytonCore:
    """A Tryton database read as one user through a renewed JSON-RPC session."""

    def __init__(
        self, name: str, config: TrytonConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.name = name
        self.kinds = config.kinds
        self.config = config
        self.client = make_client(
            config.url,
            timeout=config.timeout,
            max_connections=config.max_connections,
            max_keepalive=config.max_connections,
            transport=transport,
        )
        self.rpc = TrytonRpc(
            name,
            self.client,
            config.database,
            config.auth.username,
            read_secret(config.auth.password_env),
            config.language,
        )
        self.modules = ActiveModules(self._search_plain, config.ignore_modules)
        self._currency: str | None = None
        tables = config.translations
        self._sale_overrides = tables.states("order_status")
        self._invoice_states: dict[str, InvoiceStatus] = {
            **INVOICE_STATES,
            **{code: InvoiceStatus(s.value) for code, s in tables.states("invoice_status").items()},
        }
        self._phase_overrides = tables.states("project_phase")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    # --- plumbing -------------------------------------------------------------------

    async def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: Sequence[str],
        order: list[list[str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[Row]:
        """Rows of ``model`` matching ``domain`` with ``fields`` (Tryton's ``search_read``),
        computed in ``context`` added to the user's (e.g. the stock locations)."""
        rows = await self.rpc.call(
            f"model.{model}.search_read",
            [domain, 0, None, order, list(fields)],
            context=context,
        )
        if not isinstance(rows, list):
            raise SourceUnavailable(self.name, f"{model}.search_read: not a list")
        return rows

    async def _search_plain(
        self, model: str, domain: list[Any], fields: Sequence[str]
    ) -> list[Row]:
        return await self.search_read(model, domain, fields)

    async def _batched(
        self, keys: Sequence[Any], read: Callable[[list[Any]], Awaitable[list[Row]]]
    ) -> list[Row]:
        unique = list(dict.fromkeys(keys))
        size = self.config.batch_size
        if not unique:
            return []
        parts = await asyncio.gather(
            *(read(unique[i : i + size]) for i in range(0, len(unique), size))
        )
        return [row for part in parts for row in part]

    async def company_currency(self) -> str:
        """The ISO code of the company's currency (parties carry none in Tryton)."""
        if self._currency is None:
            rows = await self.search_read("company.company", [], ["currency.code"])
            if not rows:
                raise SourceUnavailable(self.name, "Tryton has no company")
            self._currency = str(nested(rows[0], "currency", "code"))
        return self._currency

    def _money(self, amount: Any, currency: Any) -> Money:
        return Money(decimal(amount), str(currency))

    # --- parties ----------------------------------------------------------------------

    async def _parties(self, codes: Sequence[str], extra: Sequence[str] = ()) -> dict[str, Row]:
        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "party.party", [["code", "in", batch]], [*PARTY_FIELDS, *extra]
            )

        rows = await self._batched([c for c in codes if c], read)
        return {row["code"]: row for row in rows if row.get("code")}

    @staticmethod
    def _vat_id(row: Row) -> str | None:
        """The party's tax identifier (VAT) as Tryton chooses it, else its first
        identifier (an organisation number)."""
        code = nested(row, "tax_identifier", "code")
        if code:
            return str(code)
        for identifier in row.get("identifiers.") or []:
            if identifier.get("code"):
                return str(identifier["code"])
        return None

    @staticmethod
    def _country(row: Row) -> str | None:
        for address in row.get("addresses.") or []:
            code = nested(address, "country", "code")
            if code:
                return str(code)
        return None

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        """Customers (parties) by party code, in the company's currency, with the credit
        limit and the credit used (the party's credit amount: its receivable balance)
        Tryton's ``account_credit_limit`` keeps; without that module both are None and
        the answer's note says why."""
        credit = await self.modules.has(CREDIT_LIMIT)
        parties, currency = await asyncio.gather(
            self._parties(keys, CREDIT_FIELDS if credit else ()), self.company_currency()
        )
        found = {
            code: Customer(
                key=code,
                name=row["name"],
                currency=currency,
                country=self._country(row),
                vat_id=self._vat_id(row),
                credit_limit=self._credit(row.get("credit_limit_amount"), currency),
                credit_used=self._credit(row.get("credit_amount"), currency) if credit else None,
            )
            for code, row in parties.items()
        }
        return found if credit else NotedAnswer(found, [NO_CREDIT_MODULE])

    def _credit(self, amount: Any, currency: str) -> Money | None:
        return None if amount is None else Money(decimal(amount), currency)

    async def suppliers(self, keys: Sequence[str]) -> Mapping[str, Supplier]:
        """Suppliers (parties) by party code."""
        parties, currency = await asyncio.gather(self._parties(keys), self.company_currency())
        return {
            code: Supplier(
                key=code, name=row["name"], currency=currency, country=self._country(row)
            )
            for code, row in parties.items()
        }

    async def clients(self, keys: Sequence[str]) -> Mapping[str, Client]:
        """Timesheet clients (parties) by party code."""
        parties = await self._parties(keys)
        return {code: Client(key=code, name=row["name"]) for code, row in parties.items()}


__all__ = ["INVOICE_STATES", "NO_CREDIT_MODULE", "TrytonCore"]
