"""Tryton as an ERP and a timesheet system, read and written over its JSON-RPC API.

One Tryton database serves kind ``erp`` (parties as customers and suppliers, sales and
their lines, customer and supplier invoices, projects) and kind ``timesheet`` (parties as
clients, projects as timesheet projects, timesheet lines as time entries). Keys are what a
CRM can hold: party codes for customers, suppliers and clients, product codes for products,
and Tryton's record ids for sales, lines, invoices and projects.

Every read is one ``search_read`` per batch of keys (at most ``batch_size`` keys), asking
for the fields Keylink's records need and nothing more. Line edits go through Tryton's own
model methods (``on_change`` pricing, ``create``/``write``/``delete``), so its rules apply:
a stale record timestamp is refused by Tryton and raised as ``Conflict``; a user error of a
sale Tryton no longer lets anyone edit is raised as ``Rejected`` with code ``ORDER_LOCKED``
and Tryton's message.

Example ``systems:`` entry (the password comes from the environment)::

    tryton:
      kind: [erp, timesheet]
      adapter: tryton
      url: http://127.0.0.1:8069
      database: keylink
      auth: {username: admin, password_env: KEYLINK_TRYTON_PASSWORD}
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import httpx
from pydantic import Field

from sources.base import ORDER_LINE_WRITES
from sources.config import SecretFromEnv, SystemConfigBase, read_secret
from sources.errors import Conflict, Rejected, SourceUnavailable, Unsupported
from sources.http import make_client
from sources.money import Money
from sources.operations import ReadOperations, ReadTable, list_per_key, one_per_key
from sources.records import (
    ISSUED_INVOICE_STATUSES,
    Client,
    Customer,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    LineChanges,
    LineDraft,
    LineWrite,
    OrderLine,
    OrderStatus,
    Payable,
    Product,
    Project,
    ProjectStatus,
    PurchaseOrder,
    SalesOrder,
    StockLevel,
    Supplier,
    TimeEntry,
    TimesheetProject,
)
from sources.registry import Reach, register_adapter
from sources.translate import log_unknown_code
from sources.tryton.rpc import TrytonFault, TrytonRpc

Row = dict[str, Any]

SALE_FIELDS = [
    "number",
    "party.code",
    "state",
    "invoice_state",
    "invoice_method",
    "sale_date",
    "create_date",
    "untaxed_amount",
    "total_amount",
    "currency.code",
    "lines",
    "_timestamp",
]
LINE_FIELDS = [
    "sale",
    "sale.currency.code",
    "type",
    "product.code",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "shipping_date",
    "_timestamp",
]
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
    "sales",
]
WORK_FIELDS = ["name", "party.code", "status.progress", "status.name", "timesheet_start_date"]
ENTRY_FIELDS = ["date", "duration", "employee.rec_name", "work", "description"]
INVOICED_STATES = frozenset({"posted", "paid"})
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
UNKNOWN_INVOICE = InvoiceStatus.UNKNOWN
POSTED_INVOICE_STATES = frozenset({"awaiting payment", "partially paid", "paid"})
"""A sale's ``invoice_state`` once at least one of its invoices is posted (or paid)."""
SALE_STATES = {
    "draft": OrderStatus.DRAFT,
    "quotation": OrderStatus.QUOTED,
    "confirmed": OrderStatus.CONFIRMED,
    "cancelled": OrderStatus.CANCELLED,
}
"""Tryton's sale states that translate without looking at the invoices."""


class TrytonLogin(SecretFromEnv):
    """The Tryton user Keylink logs in as; the password is read from the environment."""

    username: str
    password_env: str


class TrytonConfig(SystemConfigBase):
    """A ``systems:`` entry served by a Tryton database over JSON-RPC."""

    adapter: Literal["tryton"]
    url: str
    database: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    auth: TrytonLogin
    language: str = "en"
    batch_size: int = Field(default=200, ge=1, le=1000)
    max_connections: int = Field(default=20, ge=1, le=200)


def _ids(keys: Sequence[str]) -> list[int]:
    return sorted({int(key) for key in keys if key.isdigit() and len(key) < 12})


def _sale_id(order_key: str) -> int:
    """The Tryton id an order key names; -1 (no record) for a key that is not an id."""
    ids = _ids([order_key])
    return ids[0] if ids else -1


def _nested(row: Mapping[str, Any], field: str, name: str) -> Any:
    value = row.get(f"{field}.")
    return value.get(name) if isinstance(value, Mapping) else None


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if value is None:
        return Decimal(0)
    return Decimal(str(value))


def _hours(duration: Any) -> Decimal:
    seconds = Decimal(str(duration.total_seconds())) if duration is not None else Decimal(0)
    return (seconds / 3600).quantize(Decimal("0.01"))


def _order_status(
    row: Mapping[str, Any],
    partly_invoiced: bool = False,
    overrides: Mapping[str, enum.Enum] | None = None,
) -> OrderStatus:
    """A sale's state as FIGURES.md means it: a quotation is QUOTED; a processing or done
    sale is INVOICED once one of its invoices is posted and nothing remains to invoice,
    else CONFIRMED (a draft invoice is not an invoice to the customer); a state Keylink
    does not know is UNKNOWN. ``overrides`` (the system's ``order_status`` table) decides
    the states it names, before any of these rules."""
    state = row.get("state")
    override = (overrides or {}).get(str(state))
    if override is not None:
        return OrderStatus(override.value)
    known = SALE_STATES.get(str(state))
    if known is not None:
        return known
    if state not in ("processing", "done"):
        return OrderStatus.UNKNOWN
    if row.get("invoice_state") not in POSTED_INVOICE_STATES or partly_invoiced:
        return OrderStatus.CONFIRMED
    return OrderStatus.INVOICED


def _may_be_partly_invoiced(row: Mapping[str, Any]) -> bool:
    """Whether a sale with a posted invoice may still have quantities to invoice: only a
    processing sale invoiced on shipment (or fulfilment); one invoiced on order is
    invoiced whole at once, and a done sale has nothing left."""
    return (
        row.get("state") == "processing"
        and row.get("invoice_state") in POSTED_INVOICE_STATES
        and row.get("invoice_method") != "order"
    )


class TrytonSource:
    """A Tryton database read and written as one user with a renewed JSON-RPC session.

    Serves the ``erp`` and ``timesheet`` protocols and order-line edits. Purchase orders
    need Tryton's ``purchase`` module and project invoices its ``project_invoice`` module,
    which Keylink's set-up does not activate: they are ``Unsupported`` (null with
    NOT_SUPPORTED, never an empty list). Timesheet lines carry no billing flags
    (``keeps_billing_flags``): every hour counts as billable and unbilled, and answers say
    so.
    """

    keeps_billing_flags = False
    write_operations: frozenset[str] = ORDER_LINE_WRITES
    """Every method that changes upstream data (``sources.base.DeclaresWrites``): never
    retried. The rest (previews included, which save nothing) are reads."""

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
            self._currency = str(_nested(rows[0], "currency", "code"))
        return self._currency

    def _money(self, amount: Any, currency: Any) -> Money:
        return Money(_decimal(amount), str(currency))

    # --- parties ----------------------------------------------------------------------

    async def _parties(self, codes: Sequence[str]) -> dict[str, Row]:
        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "party.party",
                [["code", "in", batch]],
                [
                    "code",
                    "name",
                    "addresses.country.code",
                    "tax_identifier.code",
                    "identifiers.code",
                ],
            )

        rows = await self._batched([c for c in codes if c], read)
        return {row["code"]: row for row in rows if row.get("code")}

    @staticmethod
    def _vat_id(row: Row) -> str | None:
        """The party's tax identifier (VAT) as Tryton chooses it, else its first
        identifier (an organisation number)."""
        code = _nested(row, "tax_identifier", "code")
        if code:
            return str(code)
        for identifier in row.get("identifiers.") or []:
            if identifier.get("code"):
                return str(identifier["code"])
        return None

    @staticmethod
    def _country(row: Row) -> str | None:
        for address in row.get("addresses.") or []:
            code = _nested(address, "country", "code")
            if code:
                return str(code)
        return None

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        """Customers (parties) by party code, in the company's currency."""
        parties, currency = await asyncio.gather(self._parties(keys), self.company_currency())
        return {
            code: Customer(
                key=code,
                name=row["name"],
                currency=currency,
                country=self._country(row),
                vat_id=self._vat_id(row),
            )
            for code, row in parties.items()
        }

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

    # --- sales --------------------------------------------------------------------------

    async def _partly_invoiced(self, rows: Sequence[Row]) -> set[int]:
        """Ids of the sales among ``rows`` with a line whose quantity is not yet all on
        posted (or paid) invoices."""
        candidates = [int(row["id"]) for row in rows if _may_be_partly_invoiced(row)]
        if not candidates:
            return set()
        lines = await self._batched(
            candidates,
            lambda batch: self.search_read(
                "sale.line",
                [["sale", "in", batch], ["type", "=", "line"]],
                ["sale", "quantity", "invoice_lines.quantity", "invoice_lines.invoice.state"],
            ),
        )
        partly: set[int] = set()
        for line in lines:
            invoiced = sum(
                (
                    _decimal(inv_line.get("quantity"))
                    for inv_line in line.get("invoice_lines.") or []
                    if _nested(inv_line, "invoice", "state") in INVOICED_STATES
                ),
                Decimal(0),
            )
            if invoiced < abs(_decimal(line.get("quantity"))):
                partly.add(int(line["sale"]))
        return partly

    async def _sales(self, rows: Sequence[Row]) -> list[SalesOrder]:
        """Sales as Keylink's records, their states told apart as FIGURES.md means them."""
        partly = await self._partly_invoiced(rows)
        return [self._sale(row, int(row["id"]) in partly) for row in rows]

    def _sale(self, row: Row, partly_invoiced: bool = False) -> SalesOrder:
        currency = _nested(row, "currency", "code")
        created = row.get("create_date")
        when = row.get("sale_date") or (created.date() if created is not None else date.today())
        status = _order_status(row, partly_invoiced, self._sale_overrides)
        if status is OrderStatus.UNKNOWN:
            log_unknown_code(self.name, "order_status", str(row.get("state")))
        return SalesOrder(
            key=str(row["id"]),
            customer_key=str(_nested(row, "party", "code") or ""),
            status=status,
            order_date=when,
            total_untaxed=self._money(row.get("untaxed_amount"), currency),
            total=self._money(row.get("total_amount"), currency),
            line_count=len(row.get("lines") or []),
            version=row.get("_timestamp"),
            number=row.get("number") or None,
            status_raw=str(row.get("state")),
        )

    def _line(self, row: Row) -> OrderLine:
        currency = _nested(row, "sale", "currency.")
        code = currency.get("code") if isinstance(currency, Mapping) else None
        code = code or self._currency
        if code is None:
            raise SourceUnavailable(self.name, f"sale line {row.get('id')}: no currency")
        return OrderLine(
            key=str(row["id"]),
            order_key=str(row["sale"]),
            product_key=_nested(row, "product", "code"),
            description=row.get("description"),
            quantity=_decimal(row.get("quantity")),
            unit_price=self._money(row.get("unit_price"), code),
            discount_percent=Decimal(0),
            amount=self._money(row.get("amount"), code),
            delivery_date=row.get("shipping_date"),
            version=str(row.get("_timestamp") or ""),
        )

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        """Sales by party code, optionally only in ``statuses`` (and always those in a
        state Keylink does not know: never dropped)."""

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "sale.sale",
                [["party.code", "in", batch]],
                SALE_FIELDS,
                [["sale_date", "DESC"], ["id", "DESC"]],
            )

        grouped: dict[str, list[SalesOrder]] = {key: [] for key in customer_keys}
        for sale in await self._sales(await self._batched(customer_keys, read)):
            if statuses is None or sale.status in statuses or sale.status is OrderStatus.UNKNOWN:
                grouped.setdefault(sale.customer_key, []).append(sale)
        return grouped

    async def sales_orders(self, keys: Sequence[str]) -> Mapping[str, SalesOrder]:
        """Sales by id."""

        async def read(batch: list[int]) -> list[Row]:
            return await self.search_read("sale.sale", [["id", "in", batch]], SALE_FIELDS)

        sales = await self._sales(await self._batched(_ids(keys), read))
        return {sale.key: sale for sale in sales}

    async def order_lines(self, order_keys: Sequence[str]) -> Mapping[str, Sequence[OrderLine]]:
        """Product lines (no comments or subtotals) by sale id, in Tryton's order."""

        async def read(batch: list[int]) -> list[Row]:
            return await self.search_read(
                "sale.line",
                [["sale", "in", batch], ["type", "=", "line"]],
                LINE_FIELDS,
                [["sequence", "ASC"], ["id", "ASC"]],
            )

        await self.company_currency()
        grouped: dict[str, list[OrderLine]] = {key: [] for key in order_keys}
        for row in await self._batched(_ids(order_keys), read):
            line = self._line(row)
            grouped.setdefault(line.order_key, []).append(line)
        return grouped

    async def order_lines_by_key(self, line_keys: Sequence[str]) -> Mapping[str, OrderLine]:
        """Product lines by line id."""

        async def read(batch: list[int]) -> list[Row]:
            return await self.search_read(
                "sale.line", [["id", "in", batch], ["type", "=", "line"]], LINE_FIELDS
            )

        await self.company_currency()
        rows = await self._batched(_ids(line_keys), read)
        return {str(row["id"]): self._line(row) for row in rows}

    async def _warehouses(self) -> list[Row]:
        """The company's warehouses (Tryton ``stock.location`` of type warehouse)."""
        return await self.search_read(
            "stock.location", [["type", "=", "warehouse"]], ["name", "code"], [["id", "ASC"]]
        )

    async def products(self, keys: Sequence[str]) -> Mapping[str, Product]:
        """Salable products by product code, with the quantity on hand in each warehouse
        and in total, as Tryton's product form computes it (``quantity`` in the context
        of the warehouse's locations); services keep no stock (None)."""
        warehouses = await self._warehouses()

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "product.product",
                [["code", "in", batch], ["salable", "=", True]],
                ["code", "name", "type", "default_uom.rec_name"],
            )

        async def stock_in(warehouse: Row, codes: list[str]) -> dict[str, Decimal]:
            rows = await self._batched(
                codes,
                lambda batch: self.search_read(
                    "product.product",
                    [["code", "in", batch]],
                    ["code", "quantity"],
                    context={"locations": [warehouse["id"]], "with_childs": True},
                ),
            )
            return {row["code"]: _decimal(row.get("quantity")) for row in rows}

        rows = await self._batched(keys, read)
        stocked = sorted(row["code"] for row in rows if row.get("type") != "service")
        levels = await asyncio.gather(*(stock_in(wh, stocked) for wh in warehouses))
        found: dict[str, Product] = {}
        for row in rows:
            code = row["code"]
            stock = None
            if row.get("type") != "service":
                stock = tuple(
                    StockLevel(
                        warehouse_key=str(wh.get("code") or wh["id"]),
                        warehouse_name=str(wh.get("name") or ""),
                        quantity=level.get(code, Decimal(0)),
                    )
                    for wh, level in zip(warehouses, levels, strict=True)
                )
            found[code] = Product(
                key=code,
                name=row["name"],
                unit=_nested(row, "default_uom", "rec_name"),
                on_hand=None
                if stock is None
                else sum((level.quantity for level in stock), Decimal(0)),
                stock=stock,
            )
        return found

    # --- invoices -------------------------------------------------------------------------

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
            known = sorted(code for code, mapped in table.items() if mapped is not UNKNOWN_INVOICE)
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

    def _invoice(self, row: Row) -> Invoice:
        currency = _nested(row, "currency", "code")
        sales = row.get("sales") or []
        created = row.get("create_date")
        state = str(row["state"])
        status = self._invoice_states.get(state, InvoiceStatus.UNKNOWN)
        if status is InvoiceStatus.UNKNOWN:
            log_unknown_code(self.name, "invoice_status", state)
        return Invoice(
            key=str(row["id"]),
            customer_key=str(_nested(row, "party", "code") or ""),
            # a draft may have no date yet: the day it was drawn up stands in
            issue_date=row.get("invoice_date") or (created.date() if created else date.today()),
            due_date=self._due_date(row),
            total=self._money(row.get("total_amount"), currency),
            total_untaxed=self._money(row.get("untaxed_amount"), currency),
            amount_due=self._money(row.get("amount_to_pay"), currency),
            status=status,
            order_key=str(sales[0]) if sales else None,
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

    async def purchase_orders(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[PurchaseOrder]]:
        """Unsupported: purchases need Tryton's ``purchase`` module, which Keylink's set-up
        does not activate; the answer says so rather than showing no orders."""
        raise Unsupported(self.name, "purchase orders need Tryton's purchase module")

    async def project_invoices(
        self, project_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Invoice]]:
        """Unsupported: invoices reach projects only through Tryton's ``project_invoice``
        module, which Keylink's set-up does not activate; the answer says so rather than
        showing no invoices."""
        raise Unsupported(self.name, "project invoices need Tryton's project_invoice module")

    # --- projects ---------------------------------------------------------------------------

    async def _works(self, domain: list[Any], keys: Sequence[Any]) -> list[Row]:
        async def read(batch: list[Any]) -> list[Row]:
            return await self.search_read(
                "project.work",
                [["type", "=", "project"], [*domain, batch]],
                WORK_FIELDS,
                [["id", "ASC"]],
            )

        return await self._batched(keys, read)

    def _project(self, row: Row) -> Project:
        """A project; its phase (Tryton's work status) is CLOSED when done (progress 1),
        else OPEN, unless the system's ``project_phase`` table names the status."""
        progress = _nested(row, "status", "progress")
        phase = _nested(row, "status", "name")
        status = ProjectStatus.CLOSED if progress == 1 else ProjectStatus.OPEN
        override = self._phase_overrides.get(str(phase))
        if override is not None:
            status = ProjectStatus(override.value)
            if status is ProjectStatus.UNKNOWN:
                log_unknown_code(self.name, "project_phase", str(phase))
        return Project(
            key=str(row["id"]),
            customer_key=_nested(row, "party", "code"),
            name=row["name"],
            budget=None,
            status=status,
            start_date=row.get("timesheet_start_date"),
            status_raw=None if phase is None else str(phase),
        )

    async def projects(self, keys: Sequence[str]) -> Mapping[str, Project]:
        """Projects (``project.work`` of type project) by id."""
        rows = await self._works(["id", "in"], _ids(keys))
        return {str(row["id"]): self._project(row) for row in rows}

    async def customer_projects(
        self, customer_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Project]]:
        """Projects by the party code of their customer."""
        rows = await self._works(["party.code", "in"], customer_keys)
        grouped: dict[str, list[Project]] = {key: [] for key in customer_keys}
        for row in rows:
            project = self._project(row)
            grouped.setdefault(project.customer_key or "", []).append(project)
        return grouped

    async def timesheet_projects(self, keys: Sequence[str]) -> Mapping[str, TimesheetProject]:
        """Projects by id, as the timesheet side sees them."""
        rows = await self._works(["id", "in"], _ids(keys))
        return {
            str(row["id"]): TimesheetProject(
                key=str(row["id"]),
                client_key=str(_nested(row, "party", "code") or ""),
                name=row["name"],
            )
            for row in rows
        }

    # --- time entries ------------------------------------------------------------------------

    async def _entries(self, roots: list[Row], query: EntryQuery) -> list[tuple[Row, TimeEntry]]:
        """Timesheet lines on ``roots`` (projects) and all their tasks, each with its root."""
        if not roots:
            return []
        if query.billable is False or query.invoiced is True:
            # Tryton's timesheet lines carry no billing flags: all billable, none invoiced
            return []
        by_id = {row["id"]: row for row in roots}
        works = await self._batched(
            list(by_id),
            lambda batch: self.search_read(
                "project.work", [["parent", "child_of", batch]], ["path", "timesheet_works"]
            ),
        )
        root_of: dict[int, Row] = {}
        for work in works:
            path = str(work.get("path") or "")
            root_ids = [int(part) for part in path.split("/") if part.isdigit()]
            root = next((by_id[i] for i in root_ids if i in by_id), None)
            if root is not None:
                for timesheet_work in work.get("timesheet_works") or []:
                    root_of[timesheet_work] = root
        dates: list[Any] = []
        if query.date_from is not None:
            dates.append(["date", ">=", query.date_from])
        if query.date_to is not None:
            dates.append(["date", "<=", query.date_to])
        lines = await self._batched(
            list(root_of),
            lambda batch: self.search_read(
                "timesheet.line",
                [["work", "in", batch], *dates],
                ENTRY_FIELDS,
                [["date", "DESC"], ["id", "DESC"]],
            ),
        )
        found: list[tuple[Row, TimeEntry]] = []
        for line in lines:
            root = root_of[line["work"]]
            found.append(
                (
                    root,
                    TimeEntry(
                        key=str(line["id"]),
                        client_key=str(_nested(root, "party", "code") or ""),
                        project_key=str(root["id"]),
                        employee=str(_nested(line, "employee", "rec_name") or ""),
                        date=line["date"],
                        hours=_hours(line.get("duration")),
                        billable=True,
                        invoiced=False,
                        description=line.get("description"),
                    ),
                )
            )
        return found

    async def time_entries(
        self, client_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Timesheet lines on the projects of each party code (tasks included)."""
        roots = await self._works(["party.code", "in"], client_keys)
        grouped: dict[str, list[TimeEntry]] = {key: [] for key in client_keys}
        for _root, entry in await self._entries(roots, query):
            grouped.setdefault(entry.client_key, []).append(entry)
        return grouped

    async def project_time_entries(
        self, project_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Timesheet lines on each project id (tasks included)."""
        roots = await self._works(["id", "in"], _ids(project_keys))
        grouped: dict[str, list[TimeEntry]] = {key: [] for key in project_keys}
        for root, entry in await self._entries(roots, query):
            grouped.setdefault(str(root["id"]), []).append(entry)
        return grouped

    # --- order-line edits ------------------------------------------------------------------

    async def _one_line(self, line_key: str) -> Row:
        await self.company_currency()
        rows = await self.search_read(
            "sale.line",
            [["id", "=", int(line_key)], ["type", "=", "line"]]
            if line_key.isdigit()
            else [["id", "=", -1]],
            [*LINE_FIELDS, "unit", "taxes", "product"],
        )
        if not rows:
            raise Rejected(self.name, f"no sale line {line_key}", code="NOT_FOUND", field="line")
        return rows[0]

    async def _one_sale(self, sale_id: int) -> SalesOrder:
        rows = await self.search_read("sale.sale", [["id", "=", sale_id]], SALE_FIELDS)
        if not rows:
            raise Rejected(self.name, f"no sale {sale_id}", code="NOT_FOUND", field="order")
        (sale,) = await self._sales(rows[:1])
        return sale

    async def _editable_sale(self, sale_id: int) -> SalesOrder:
        """The sale, when Tryton still lets its lines change (a draft); otherwise the
        answer an edit of it gets: NOT_FOUND for no such sale, ORDER_LOCKED for one that is
        quoted, confirmed, processing, done or cancelled."""
        sale = await self._one_sale(sale_id)
        if sale.locked:
            raise Rejected(
                self.name,
                f"sale {sale_id} is {sale.status_raw}",
                code="ORDER_LOCKED",
                message=(
                    f"The order is {sale.status_raw} in the ERP: only a draft order's lines "
                    "can be changed."
                ),
                field="order",
            )
        return sale

    async def _product_id(self, code: str) -> int:
        rows = await self.search_read(
            "product.product", [["code", "=", code], ["salable", "=", True]], ["id"]
        )
        if not rows:
            raise Rejected(
                self.name,
                f"no salable product {code}",
                code="BAD_INPUT",
                message=f"The ERP sells no product {code}.",
                field="product",
            )
        return int(rows[0]["id"])

    async def _current_line(self, line_key: str | None) -> OrderLine | None:
        """The line as Tryton has it now, or None when it is gone (or none was named)."""
        if line_key is None:
            return None
        try:
            return self._line(await self._one_line(line_key))
        except Rejected:
            return None

    async def _refusal(
        self, fault: TrytonFault, sale_id: int, what: str, line_key: str | None = None
    ) -> Exception:
        """Tryton's refusal of a write as Keylink's typed error, its message kept: a stale
        timestamp is a ``Conflict`` carrying the line as it is now; a refused change of a
        line that is gone is NOT_FOUND, of a sale that is no longer a draft ORDER_LOCKED."""
        message = fault.tryton_message or "Tryton refused the change."
        if fault.fault == "ConcurrencyException":
            current = await self._current_line(line_key)
            if current is None and line_key is not None:
                return Rejected(self.name, f"{what}: line gone", code="NOT_FOUND", field="line")
            return Conflict(self.name, f"{what}: {fault.detail}", current=current, message=message)
        if fault.fault in ("UserError", "UserWarning"):
            if line_key is not None and await self._current_line(line_key) is None:
                return Rejected(self.name, f"{what}: line gone", code="NOT_FOUND", field="line")
            sale = await self._one_sale(sale_id)
            code = "ORDER_LOCKED" if sale.status is not OrderStatus.DRAFT else "BAD_INPUT"
            return Rejected(self.name, f"{what}: {fault.detail}", code=code, message=message)
        return fault

    @staticmethod
    def _timestamp(line_key: str, version: str) -> dict[str, Any]:
        return {"_timestamp": {f"sale.line,{int(line_key)}": version}}

    def _refuse_unsupported(self, values: LineDraft | LineChanges) -> None:
        if values.discount_percent not in (None, Decimal(0)):
            raise Rejected(
                self.name,
                "line discounts need Tryton's sale_discount module",
                code="BAD_INPUT",
                message="This ERP takes no line discounts.",
                field="discountPercent",
            )
        if values.delivery_date is not None:
            raise Rejected(
                self.name,
                "Tryton computes a line's shipping date",
                code="BAD_INPUT",
                message="This ERP sets delivery dates itself.",
                field="deliveryDate",
            )

    async def _priced_draft(self, sale_id: int, draft: LineDraft) -> Row:
        """A new line's values as Tryton's own ``on_change`` prices them."""
        product = await self._product_id(draft.product_key)
        changes = await self.rpc.call(
            "model.sale.line.on_change",
            [
                {
                    "sale": sale_id,
                    "type": "line",
                    "product": product,
                    "quantity": float(draft.quantity),
                },
                ["product"],
            ],
        )
        taxes = changes.get("taxes") or {}
        tax_ids = [item[1]["id"] for item in taxes.get("add", []) if isinstance(item, list)]
        values: Row = {
            "sale": sale_id,
            "type": "line",
            "product": product,
            "quantity": float(draft.quantity),
            "unit": changes.get("unit"),
            "unit_price": draft.unit_price
            if draft.unit_price is not None
            else changes.get("unit_price"),
            "description": draft.description or _nested(changes, "product", "rec_name") or "",
            "taxes": tax_ids,
        }
        quantity = _decimal(values["quantity"])
        values["amount"] = (quantity * _decimal(values["unit_price"])).quantize(Decimal("0.01"))
        return values

    async def _answer(self, line_id: int | None, sale_id: int) -> LineWrite:
        line = None
        if line_id is not None:
            line = self._line(await self._one_line(str(line_id)))
        return LineWrite(line=line, order=await self._one_sale(sale_id))

    async def add_order_line(
        self, order_key: str, draft: LineDraft, *, idempotency_key: str
    ) -> LineWrite:
        """Create a line priced by Tryton's ``on_change``; Tryton's rules decide."""
        self._refuse_unsupported(draft)
        sale_id = _sale_id(order_key)
        await self._editable_sale(sale_id)
        values = await self._priced_draft(sale_id, draft)
        values.pop("amount")
        values["taxes"] = [["add", values["taxes"]]]
        try:
            created = await self.rpc.call("model.sale.line.create", [[values]], write=True)
        except TrytonFault as fault:
            raise await self._refusal(fault, sale_id, "sale.line.create") from fault
        return await self._answer(int(created[0]), sale_id)

    async def change_order_line(
        self, line_key: str, changes: LineChanges, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Write the changed fields with the line's timestamp: Tryton refuses a stale one."""
        self._refuse_unsupported(changes)
        current = await self._one_line(line_key)
        values: Row = {}
        if changes.quantity is not None:
            values["quantity"] = float(changes.quantity)
            if changes.unit_price is None:
                repriced = await self._repriced(current, changes.quantity)
                if repriced is not None:
                    values["unit_price"] = repriced
        if changes.unit_price is not None:
            values["unit_price"] = changes.unit_price
        if changes.description is not None:
            values["description"] = changes.description
        try:
            await self.rpc.call(
                "model.sale.line.write",
                [[int(line_key)], values],
                context=self._timestamp(line_key, version),
                write=True,
            )
        except TrytonFault as fault:
            raise await self._refusal(
                fault, int(current["sale"]), "sale.line.write", line_key
            ) from fault
        return await self._answer(int(line_key), int(current["sale"]))

    async def _repriced(self, current: Row, quantity: Decimal) -> Decimal | None:
        """The unit price Tryton's ``on_change`` gives the line at ``quantity``, if new."""
        changes = await self.rpc.call(
            "model.sale.line.on_change",
            [
                {
                    "id": current["id"],
                    "sale": current["sale"],
                    "type": "line",
                    "product": current.get("product"),
                    "unit": current.get("unit"),
                    "quantity": float(quantity),
                    "unit_price": current.get("unit_price"),
                },
                ["quantity"],
            ],
        )
        price = changes.get("unit_price") if isinstance(changes, dict) else None
        return _decimal(price) if price is not None else None

    async def remove_order_line(
        self, line_key: str, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Delete the line with its timestamp: Tryton refuses a stale one."""
        current = await self._one_line(line_key)
        try:
            await self.rpc.call(
                "model.sale.line.delete",
                [[int(line_key)]],
                context=self._timestamp(line_key, version),
                write=True,
            )
        except TrytonFault as fault:
            raise await self._refusal(
                fault, int(current["sale"]), "sale.line.delete", line_key
            ) from fault
        return await self._answer(None, int(current["sale"]))

    async def _preview(self, sale_id: int, line: Row, replaces: int | None) -> LineWrite:
        """The sale's totals with ``line`` added (or replacing line ``replaces``), as
        Tryton's ``on_change`` of the sale computes them; nothing is saved."""
        order = await self._one_sale(sale_id)
        rows = await self.search_read(
            "sale.line",
            [["sale", "=", sale_id]],
            ["type", "product", "unit", "quantity", "unit_price", "amount", "taxes"],
        )
        lines = [row for row in rows if row["id"] != replaces]
        sent = {k: v for k, v in line.items() if k != "sale" and "." not in k}
        lines.append({**sent, "id": replaces or -1})
        parties = await self.search_read(
            "sale.sale", [["id", "=", sale_id]], ["party", "currency", "company"]
        )
        totals = await self.rpc.call(
            "model.sale.sale.on_change", [{**parties[0], "lines": lines}, ["lines"]]
        )
        currency = order.total.currency
        priced = OrderLine(
            key=str(replaces or ""),
            order_key=str(sale_id),
            product_key=line.get("product.code"),
            description=line.get("description"),
            quantity=_decimal(line["quantity"]),
            unit_price=Money(_decimal(line["unit_price"]), currency),
            discount_percent=Decimal(0),
            amount=Money(_decimal(line["amount"]), currency),
            delivery_date=None,
            version="",
        )
        return LineWrite(
            line=priced,
            order=SalesOrder(
                key=order.key,
                customer_key=order.customer_key,
                status=order.status,
                order_date=order.order_date,
                total_untaxed=Money(_decimal(totals.get("untaxed_amount")), currency),
                total=Money(_decimal(totals.get("total_amount")), currency),
                line_count=order.line_count,
                version=order.version,
            ),
        )

    async def preview_order_line(self, order_key: str, draft: LineDraft) -> LineWrite:
        """A new line and the sale's totals as Tryton would price them; nothing saved."""
        self._refuse_unsupported(draft)
        sale_id = _sale_id(order_key)
        await self._editable_sale(sale_id)
        values = await self._priced_draft(sale_id, draft)
        values["product.code"] = draft.product_key
        return await self._preview(sale_id, values, None)

    async def preview_line_change(self, line_key: str, changes: LineChanges) -> LineWrite:
        """A changed line and the sale's totals as Tryton would price them; nothing saved."""
        self._refuse_unsupported(changes)
        current = await self._one_line(line_key)
        await self._editable_sale(int(current["sale"]))
        quantity = (
            changes.quantity if changes.quantity is not None else _decimal(current["quantity"])
        )
        price = changes.unit_price
        if price is None and changes.quantity is not None:
            price = await self._repriced(current, quantity)
        price = price if price is not None else _decimal(current["unit_price"])
        line = {
            "type": "line",
            "product": current.get("product"),
            "product.code": _nested(current, "product", "code"),
            "unit": current.get("unit"),
            "quantity": float(quantity),
            "unit_price": price,
            "amount": (quantity * price).quantize(Decimal("0.01")),
            "taxes": current.get("taxes") or [],
            "description": changes.description or current.get("description"),
        }
        return await self._preview(int(current["sale"]), line, int(line_key))

    # --- batched reads, as loaders and resilience find them (sources.operations) --------

    batched_reads = ReadTable(
        one_per_key(customers),
        list_per_key(invoices),
        list_per_key(project_invoices),
        list_per_key(orders),
        list_per_key(order_lines),
        one_per_key(projects),
        list_per_key(customer_projects),
        one_per_key(suppliers),
        list_per_key(purchase_orders),
        list_per_key(payables),
        one_per_key(sales_orders),
        one_per_key(order_lines_by_key),
        one_per_key(products),
        one_per_key(clients),
        one_per_key(timesheet_projects),
        list_per_key(time_entries),
        list_per_key(project_time_entries),
    )
    """Every read batched by key (``purchase_orders`` and ``project_invoices`` are declared
    and raise ``Unsupported``, so their fields say so instead of failing)."""

    def read_operations(self) -> ReadOperations:
        """This source's batched reads, bound to it (``sources.operations.DeclaresReads``)."""
        return self.batched_reads.bind(self)


def _build(name: str, config: SystemConfigBase, reach: Reach) -> TrytonSource:
    assert isinstance(config, TrytonConfig)
    return TrytonSource(name, config, reach.http_transport)


register_adapter(
    "tryton",
    config=TrytonConfig,
    implementation=TrytonSource,
    factory=_build,
    kinds=frozenset({"erp", "timesheet"}),
)

__all__ = ["TrytonConfig", "TrytonLogin", "TrytonSource"]
