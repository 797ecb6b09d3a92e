"""Customer and supplier invoices read from Tryton, keyed by their number."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sources.records import (
    ISSUED_INVOICE_STATUSES,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    Payable,
)
from sources.translate import log_unknown_code
from sources.tryton.common import Row, nested
from sources.tryton.core import TrytonCore
from sources.tryton.keys import by_asked_key, keys_domain, record_key

INVOICE_FIELDS = [
    "number",
    "party.code",
    "invoice_date",
    "create_date",
    "state",
    "untaxed_amount",
    "total_amount",
    "amount_to_pay",
    "currency.code",
    "lines_to_pay.maturity_date",
    "lines_to_pay.reconciliation",
    "sales.number",
]


class InvoiceReads(TrytonCore):
    """Customer invoices (by customer, by number) and supplier invoices (payables)."""

    def _invoice_rows_domain(
        self, kind: str, query: InvoiceQuery | None, open_only: bool, every_state: bool = False
    ) -> list[Any]:
        """The domain of the invoices asked for. Every state: no condition on the state,
        so invoices in a state no table knows are read too (as UNKNOWN); one state: the
        states translating to it, and those no table knows; otherwise (payables) the
        issued ones (or only the open ones), through the system's translation table."""
        table = self._invoice_states
        status = query.status if query is not None else None
        domain: list[Any] = [["type", "=", kind]]
        if every_state and status is not None:
            wanted = sorted(code for code, mapped in table.items() if mapped is status)
            known = sorted(
                code for code, mapped in table.items() if mapped is not InvoiceStatus.UNKNOWN
            )
            domain.append(["OR", ["state", "in", wanted], ["state", "not in", known]])
        elif not every_state:
            kept = {InvoiceStatus.OPEN} if open_only else set(ISSUED_INVOICE_STATUSES)
            domain.append(["state", "in", sorted(c for c, m in table.items() if m in kept)])
        if query is not None and query.issued_from is not None:
            domain.append(["invoice_date", ">=", query.issued_from])
        if query is not None and query.issued_to is not None:
            domain.append(["invoice_date", "<=", query.issued_to])
        return domain

    async def _invoice_rows(
        self,
        codes: Sequence[str],
        kind: str,
        query: InvoiceQuery | None,
        open_only: bool,
        every_state: bool = False,
    ) -> list[Row]:
        domain = self._invoice_rows_domain(kind, query, open_only, every_state)

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "account.invoice",
                [["party.code", "in", batch], *domain],
                INVOICE_FIELDS,
                [["invoice_date", "DESC"], ["id", "DESC"]],
            )

        return await self._batched(codes, read)

    @staticmethod
    def _due_date(row: Row) -> date | None:
        """The earliest maturity date of the lines still to pay (all of them once the
        invoice is paid); None when Tryton sets none."""
        lines = row.get("lines_to_pay.") or []
        unpaid = [line for line in lines if not line.get("reconciliation")]
        dates = [
            line["maturity_date"]
            for line in (unpaid or lines)
            if line.get("maturity_date") is not None
        ]
        return min(dates) if dates else None

    def _invoice(self, row: Row, project_key: str | None = None) -> Invoice:
        currency = nested(row, "currency", "code")
        sales = row.get("sales.") or []
        created = row.get("create_date")
        state = str(row["state"])
        status = self._invoice_states.get(state, InvoiceStatus.UNKNOWN)
        if status is InvoiceStatus.UNKNOWN:
            log_unknown_code(self.name, "invoice_status", state)
        return Invoice(
            key=record_key(row),
            customer_key=str(nested(row, "party", "code") or ""),
            # a draft may have no date yet: the day it was drawn up stands in
            issue_date=row.get("invoice_date") or (created.date() if created else date.today()),
            due_date=self._due_date(row),
            total=self._money(row.get("total_amount"), currency),
            total_untaxed=self._money(row.get("untaxed_amount"), currency),
            amount_due=self._money(row.get("amount_to_pay"), currency),
            status=status,
            order_key=record_key(sales[0]) if sales else None,
            project_key=project_key,
            number=row.get("number") or None,
            status_raw=state,
        )

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        """Customer invoices matching ``query`` in every state (drafts and cancelled ones
        too, as such: no figure counts them), by party code."""
        grouped: dict[str, list[Invoice]] = {key: [] for key in customer_keys}
        for row in await self._invoice_rows(customer_keys, "out", query, False, True):
            invoice = self._invoice(row)
            grouped.setdefault(invoice.customer_key, []).append(invoice)
        return grouped

    async def invoices_by_key(self, keys: Sequence[str]) -> Mapping[str, Invoice]:
        """Customer invoices (and credit notes) by key: the invoice's number, or
        ``draft-<id>`` for one not yet posted (``sources.base.InvoicesByKey``)."""

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "account.invoice", [keys_domain(batch), ["type", "=", "out"]], INVOICE_FIELDS
            )

        rows = by_asked_key(keys, await self._batched(list(keys), read))
        return {key: self._invoice(row) for key, row in rows.items()}

    async def payables(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[Payable]]:
        """Posted (and, unless ``open_only``, paid) supplier invoices by party code."""
        grouped: dict[str, list[Payable]] = {key: [] for key in supplier_keys}
        for row in await self._invoice_rows(supplier_keys, "in", None, open_only):
            invoice = self._invoice(row)
            grouped.setdefault(invoice.customer_key, []).append(
                Payable(
                    key=invoice.key,
                    supplier_key=invoice.customer_key,
                    issue_date=invoice.issue_date,
                    due_date=invoice.due_date or invoice.issue_date,
                    total=invoice.total,
                    amount_due=invoice.amount_due,
                    status=invoice.status,
                )
            )
        return grouped


__all__ = ["INVOICE_FIELDS", "InvoiceReads"]
