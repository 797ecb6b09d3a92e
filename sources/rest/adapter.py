"""A declarative REST/JSON adapter: one YAML spec maps each read to an endpoint.

The spec names, per operation, the endpoint, the query parameter that carries a batch of
keys, how pages are walked, which filters the endpoint understands and how item fields map
onto Keylink's records. One ``httpx.AsyncClient`` per system is shared by all operations.

Example spec (see ``demo/specs/`` for complete ones)::

    batch_size: 100
    pagination: {style: page, page_param: page, size_param: per_page, page_size: 500}
    operations:
      customers:
        path: /customers
        batch_param: ids
        fields:
          key: number
          name: name
          currency: currency
          credit_limit: {amount: credit_limit, currency: currency}
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import Field

from sources.base import (
    ORDER_LINE_WRITES,
    Account,
    AccountPage,
    AccountQuery,
    BrowsePage,
    Client,
    Contact,
    Customer,
    EntryQuery,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    Opportunity,
    OrderLine,
    OrderStatus,
    Payable,
    Project,
    PurchaseOrder,
    SalesOrder,
    Supplier,
    Task,
    TimeEntry,
    TimesheetProject,
)
from sources.config import AuthConfig, BasicAuth, BearerAuth, SystemConfigBase, read_secret
from sources.errors import SourceUnavailable, Unsupported
from sources.http import get_json_with_headers, make_client
from sources.kept import SpecFigures
from sources.operations import ReadOperations, ReadTable, list_per_key, one_per_key
from sources.registry import Reach, register_adapter
from sources.rest.browse import rest_browse
from sources.rest.paging import CursorStyle, PageAnswer, Pagination, item_list
from sources.rest.spec import (
    CATALOGUE,
    FilterSpec,
    OperationShape,
    OperationSpec,
    RestSpec,
)
from sources.rest.states import translated_spec, watched_states
from sources.rest.writes import RestOrderEditor
from sources.translate import (
    FieldSource,
    TranslationError,
    build_record,
    log_unknown_code,
    lookup,
)


class RestConfig(SystemConfigBase):
    """A ``systems:`` entry served by the declarative REST adapter."""

    adapter: Literal["rest"]
    url: str
    spec: Path
    auth: AuthConfig | None = Field(default=None, discriminator="type")
    headers: dict[str, str] = Field(default_factory=dict)
    max_connections: int = Field(default=100, ge=1, le=1000)
    max_concurrent_batches: int = Field(
        default=8,
        ge=1,
        le=100,
        description="batches of one read sent at once (the system as a whole: max_connections "
        "and the bulkhead, resilience.max_in_flight)",
    )


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class RestSource(RestOrderEditor, SpecFigures):
    """An upstream read through its REST/JSON API as its spec describes.

    Serves whichever kinds its config names; an operation missing from the spec raises
    ``Unsupported``. Every read is one request per batch of keys and page.
    """

    write_operations: frozenset[str] = ORDER_LINE_WRITES
    """Every method that changes upstream data (``sources.base.DeclaresWrites``): never
    retried. The rest (previews included, which save nothing) are reads."""

    def __init__(
        self, name: str, config: RestConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.name = name
        self.kinds = config.kinds
        self.config = config
        self.spec = translated_spec(RestSpec.from_file(config.spec), config.translations)
        self._watched_states = watched_states(self.spec)
        headers = dict(config.headers)
        auth: httpx.Auth | None = None
        if isinstance(config.auth, BearerAuth):
            headers["Authorization"] = f"Bearer {read_secret(config.auth.token_env)}"
        elif isinstance(config.auth, BasicAuth):
            auth = httpx.BasicAuth(config.auth.username, read_secret(config.auth.password_env))
        elif config.auth is not None:
            headers[config.auth.header] = read_secret(config.auth.key_env)
        self.client = make_client(
            config.url,
            timeout=config.timeout,
            headers=headers,
            auth=auth,
            max_connections=config.max_connections,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the shared HTTP client (``client``, shared by reads and writes)."""
        await self.client.aclose()

    # -- the generic read --------------------------------------------------------------

    async def read(
        self, operation: str, keys: Sequence[str], filters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Records of ``operation`` for ``keys``: one record per key, or a list per key."""
        shape = CATALOGUE[operation]
        spec = self._operation(operation)
        wanted = list(dict.fromkeys(keys))
        params = self._params(operation, spec, filters)
        size = spec.batch_size or self.spec.batch_size
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        if spec.batch_param is None:  # select_all: one walk of every page serves all keys
            chunks = [wanted] if wanted else []
        if len(chunks) == 1:
            pages = [await self._fetch_batch(spec, chunks[0], params)]
        else:  # a read split into batches sends at most max_concurrent_batches at once
            fan_out = asyncio.Semaphore(self.config.max_concurrent_batches)

            async def limited(chunk: list[str]) -> list[Any]:
                async with fan_out:
                    return await self._fetch_batch(spec, chunk, params)

            pages = await asyncio.gather(*(limited(chunk) for chunk in chunks))
        items = [item for page in pages for item in page]
        return self._group(operation, shape, spec, wanted, items)

    async def search(self, operation: str, filters: Mapping[str, Any]) -> dict[str, Any]:
        """Every record a search ``operation`` selects with ``filters``, by key (all pages)."""
        shape = CATALOGUE[operation]
        spec = self._operation(operation)
        items = await self._fetch_batch(spec, None, self._params(operation, spec, filters))
        return self._group(operation, shape, spec, None, items)

    def _operation(self, operation: str) -> OperationSpec:
        spec = self.spec.operations.get(operation)
        if spec is None:
            raise Unsupported(self.name, f"operation {operation} not in spec")
        return spec

    def _params(
        self, operation: str, spec: OperationSpec, filters: Mapping[str, Any] | None
    ) -> dict[str, str]:
        params = dict(spec.params)
        for filter_name, value in (filters or {}).items():
            filter_spec = spec.filters.get(filter_name)
            if value is None:
                continue
            if filter_spec is None:
                raise Unsupported(self.name, f"{operation} cannot filter by {filter_name}")
            rendered = self._render_filter(filter_spec, value)
            if rendered is not None:
                params[filter_spec.param] = rendered
        return params

    @staticmethod
    def _render_filter(spec: FilterSpec, value: Any) -> str | None:
        """The parameter value for a filter; ``None`` (send nothing) when some value cannot
        be sent.

        A value the translation table maps to null, or does not know, cannot be selected
        upstream; sending the other values of a set without it would leave its records
        out, so nothing is sent at all and the caller's re-check on the records selects
        (a wider request, never a narrower answer). A value mapped to a list sends each.
        """
        values = sorted(value, key=_format) if isinstance(value, (set, frozenset)) else [value]
        rendered: list[str] = []
        for one in values:
            text = _format(one)
            mapped: str | list[str] | None = text
            if spec.map is not None:
                mapped = spec.map.get(text)
            if mapped is None:
                return None
            for upstream in [mapped] if isinstance(mapped, str) else mapped:
                if upstream not in rendered:
                    rendered.append(upstream)
        return spec.join.join(rendered) if rendered else None

    async def _fetch_batch(
        self, spec: OperationSpec, keys: list[str] | None, params: dict[str, str]
    ) -> list[Any]:
        paging = spec.pagination or self.spec.pagination
        style = paging.paging_style
        query = dict(params)
        if keys is not None and spec.batch_param is not None:
            query[spec.batch_param] = ",".join(keys)
        answer = await self._page(spec, paging, {**query, **style.first(paging)}, 0)
        items = list(answer.items)
        planned = style.all_remaining(paging, answer)
        if planned is not None:
            rest = await asyncio.gather(
                *(
                    self._page(spec, paging, {**query, **page_params}, index)
                    for index, page_params in enumerate(planned, start=1)
                )
            )
            return items + [item for page in rest for item in page.items]
        while answer.index + 1 < paging.max_pages:
            page_params = style.following(paging, answer)
            if page_params is None:
                break
            answer = await self._page(spec, paging, {**query, **page_params}, answer.index + 1)
            items.extend(answer.items)
        return items

    async def _page(
        self, spec: OperationSpec, paging: Pagination, params: dict[str, str], index: int
    ) -> PageAnswer:
        body, headers = await get_json_with_headers(self.client, self.name, spec.path, params)
        items = item_list(body, paging)
        if items is None:
            raise SourceUnavailable(self.name, f"{spec.path}: no item list at {paging.items!r}")
        return PageAnswer(body, items, headers, index)

    def _group(
        self,
        operation: str,
        shape: OperationShape,
        spec: OperationSpec,
        wanted: list[str] | None,
        items: list[Any],
    ) -> dict[str, Any]:
        wanted_set = None if wanted is None else set(wanted)
        grouped: dict[str, Any] = {key: [] for key in wanted or ()} if shape.many else {}
        watched = self._watched_states.get(operation)
        for item in items:
            if not isinstance(item, Mapping):
                raise SourceUnavailable(self.name, f"{spec.path}: item is not an object")
            try:
                record: Any = build_record(shape.record, item, spec.fields)
            except TranslationError as exc:
                raise SourceUnavailable(self.name, f"{operation}: {exc}") from exc
            if watched is not None and record.status.name == "UNKNOWN":
                log_unknown_code(self.name, watched.domain, str(lookup(item, watched.path)))
            group = getattr(record, shape.group_by)
            if wanted_set is not None and group not in wanted_set:
                continue
            if shape.many:
                grouped.setdefault(group, []).append(record)
            else:
                grouped[group] = record
        return grouped

    # -- ErpSource ------------------------------------------------------------------------

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        """Customers by customer key."""
        return await self.read("customers", keys)

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        """Invoices matching ``query``, grouped by customer key. The records are re-checked
        against ``query``: a filter the spec cannot send never widens the answer; those in
        a state the translation tables do not know (UNKNOWN) are kept whenever the upstream
        returns them, so no figure leaves them out silently."""
        filters = {
            "status": query.status,
            "issued_from": query.issued_from,
            "issued_to": query.issued_to,
        }
        grouped: dict[str, list[Invoice]] = await self.read("invoices", customer_keys, filters)
        return {key: [i for i in found if _matches(i, query)] for key, found in grouped.items()}

    async def project_invoices(
        self, project_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Invoice]]:
        """All invoices of each ERP project, grouped by project key."""
        return await self.read("project_invoices", project_keys)

    async def invoices_by_key(self, keys: Sequence[str]) -> Mapping[str, Invoice]:
        """Invoices by the ERP's invoice key, its number where it has one
        (``sources.base.InvoicesByKey``): one request per batch of keys; ``Unsupported``
        unless the spec has ``invoices_by_key``."""
        return await self.read("invoices_by_key", keys)

    # -- OverdueSearch (when the spec has ``overdue_invoices``) ----------------------------

    async def overdue_invoices(self, as_of: date) -> Mapping[str, Sequence[Invoice]]:
        """Every open invoice due before ``as_of``, grouped by customer key; ``Unsupported``
        unless the spec has ``overdue_invoices`` with a ``due_before`` filter. Records are
        re-checked, so an answer never holds an invoice that is not overdue."""
        spec = self._operation("overdue_invoices")
        if "due_before" not in spec.filters:
            raise Unsupported(self.name, "overdue_invoices cannot filter by due_before")
        found = await self.search("overdue_invoices", {"due_before": as_of})
        grouped = {
            key: [inv for inv in invoices if inv.is_overdue(as_of)]
            for key, invoices in found.items()
        }
        return {key: invoices for key, invoices in grouped.items() if invoices}

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        """Sales orders (optionally only in ``statuses``, and those in a state the spec
        does not translate, UNKNOWN, whenever the upstream returns them: never dropped),
        grouped by customer key."""
        grouped = await self.read("orders", customer_keys, {"statuses": statuses})
        if statuses is None:
            return grouped
        kept = statuses | {OrderStatus.UNKNOWN}
        return {k: [o for o in v if o.status in kept] for k, v in grouped.items()}

    async def order_lines(self, order_keys: Sequence[str]) -> Mapping[str, Sequence[OrderLine]]:
        """Order lines grouped by order key."""
        return await self.read("order_lines", order_keys)

    async def projects(self, keys: Sequence[str]) -> Mapping[str, Project]:
        """ERP projects by project key."""
        return await self.read("projects", keys)

    async def customer_projects(
        self, customer_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Project]]:
        """ERP projects grouped by customer key."""
        return await self.read("customer_projects", customer_keys)

    async def suppliers(self, keys: Sequence[str]) -> Mapping[str, Supplier]:
        """Suppliers by supplier key."""
        return await self.read("suppliers", keys)

    async def purchase_orders(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[PurchaseOrder]]:
        """Purchase orders grouped by supplier key."""
        return await self.read("purchase_orders", supplier_keys, {"open_only": open_only})

    async def payables(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[Payable]]:
        """Supplier invoices grouped by supplier key."""
        return await self.read("payables", supplier_keys, {"open_only": open_only})

    # -- CrmSource ------------------------------------------------------------------------

    async def accounts(self, keys: Sequence[str]) -> Mapping[str, Account]:
        """Accounts by account key."""
        return await self.read("accounts", keys)

    async def contacts(self, account_keys: Sequence[str]) -> Mapping[str, Sequence[Contact]]:
        """Contacts grouped by account key."""
        return await self.read("contacts", account_keys)

    async def opportunities(
        self, account_keys: Sequence[str]
    ) -> Mapping[str, Sequence[Opportunity]]:
        """Every opportunity of each account, grouped by account key
        (``sources.base.OpportunityReads``); ``Unsupported`` unless the spec has
        ``opportunities``."""
        return await self.read("opportunities", account_keys)

    async def tasks(self, account_keys: Sequence[str]) -> Mapping[str, Sequence[Task]]:
        """Every task of each account, grouped by account key (``sources.base.TaskReads``);
        ``Unsupported`` unless the spec has ``tasks``."""
        return await self.read("tasks", account_keys)

    # -- AccountSearch (when the spec has ``account_search``) ----------------------------

    async def search_accounts(self, query: AccountQuery) -> Mapping[str, Account]:
        """Every account matching ``query``, by key; ``Unsupported`` without an
        ``account_search`` operation in the spec. Filters the spec cannot send are
        checked on the records, so an answer never holds an account ``query`` excludes."""
        spec = self._operation("account_search")
        found = await self.search("account_search", _account_filters(query, spec.filters))
        return {key: account for key, account in found.items() if query.matches(account)}

    # -- AccountSearchPages (when ``account_search`` declares an ``order``) ---------------

    @property
    def account_orders(self) -> frozenset[str]:
        """Fields the CRM orders ``account_search`` by (its spec's ``order``); empty when
        the spec declares no order, and ``search_account_page`` then raises ``Unsupported``."""
        spec = self.spec.operations.get("account_search")
        if spec is None or spec.order is None:
            return frozenset()
        return frozenset(spec.order.fields)

    async def search_account_page(
        self,
        query: AccountQuery,
        *,
        order_by: str | None,
        descending: bool,
        after: str | None,
        limit: int,
    ) -> AccountPage:
        """One page of the accounts matching ``query`` in the CRM's order (by ``order_by``,
        then account key), after position ``after``: exactly one upstream request.

        At most ``limit`` accounts (and at most the spec's ``page_size``). Filters the spec
        cannot send are checked on the records, so a page may hold fewer accounts than
        ``limit`` (even none) while ``next`` says more follow; only ``next=None`` ends.
        ``Unsupported`` without an ``order`` in the spec or for an order it cannot ask.
        """
        spec = self._operation("account_search")
        order = spec.order
        if order is None:
            raise Unsupported(self.name, "account_search declares no order")
        order_params = order.params(order_by, descending)
        if order_params is None:
            direction = "descending" if descending else "ascending"
            raise Unsupported(self.name, f"account_search cannot order by {order_by} {direction}")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        paging = spec.pagination or self.spec.pagination
        style = paging.paging_style
        assert isinstance(style, CursorStyle)  # RestSpec checks it for an ordered search
        params = {
            **self._params("account_search", spec, _account_filters(query, spec.filters)),
            **order_params,
            **style.at(paging, after, min(limit, paging.page_size)),
        }
        answer = await self._page(spec, paging, params, 0)
        shape = CATALOGUE["account_search"]
        found: dict[str, Account] = self._group("account_search", shape, spec, None, answer.items)
        return AccountPage(
            accounts=tuple((key, a) for key, a in found.items() if query.matches(a)),
            next=style.cursor_after(paging, answer),
        )

    # -- TimesheetSource ------------------------------------------------------------------

    async def clients(self, keys: Sequence[str]) -> Mapping[str, Client]:
        """Clients by client key."""
        return await self.read("clients", keys)

    async def timesheet_projects(self, keys: Sequence[str]) -> Mapping[str, TimesheetProject]:
        """Timesheet projects by project key."""
        return await self.read("timesheet_projects", keys)

    async def time_entries(
        self, client_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query``, grouped by client key."""
        return await self.read("time_entries", client_keys, _entry_filters(query))

    async def project_time_entries(
        self, project_keys: Sequence[str], query: EntryQuery
    ) -> Mapping[str, Sequence[TimeEntry]]:
        """Time entries matching ``query``, grouped by timesheet project key."""
        return await self.read("project_time_entries", project_keys, _entry_filters(query))

    # -- BrowsesRecords (when the spec has browse_<kind>s) --------------------------------

    async def browse(
        self, kind: str, search: str | None, after: str | None, first: int
    ) -> BrowsePage:
        """One page of linkable ``kind`` records (``sources.base.BrowsesRecords``) through
        the spec's ``browse_<kind>s`` operation (``sources.rest.browse``); ``Unsupported``
        without one."""
        return await rest_browse(self, kind, search, after, first)

    # -- batched reads, as loaders and resilience find them (sources.operations) ---------

    batched_reads = ReadTable(
        one_per_key(customers),
        list_per_key(invoices),
        list_per_key(project_invoices),
        one_per_key(invoices_by_key),
        list_per_key(orders),
        list_per_key(order_lines),
        one_per_key(projects),
        list_per_key(customer_projects),
        one_per_key(suppliers),
        list_per_key(purchase_orders),
        list_per_key(payables),
        one_per_key(RestOrderEditor.sales_orders),
        one_per_key(RestOrderEditor.order_lines_by_key),
        one_per_key(RestOrderEditor.products),
        one_per_key(accounts),
        list_per_key(contacts),
        list_per_key(opportunities),
        list_per_key(tasks),
        one_per_key(clients),
        one_per_key(timesheet_projects),
        list_per_key(time_entries),
        list_per_key(project_time_entries),
    )
    """Every read batched by key, whichever kinds a config serves (an operation its spec
    lacks raises ``Unsupported`` when called)."""

    def read_operations(self) -> ReadOperations:
        """This source's batched reads, bound to it (``sources.operations.DeclaresReads``)."""
        return self.batched_reads.bind(self)


def _account_filters(query: AccountQuery, sendable: Mapping[str, Any]) -> dict[str, Any]:
    """The conditions of ``query`` the spec has a filter for (the others are re-checked)."""
    filters = {
        "segments": query.segments,
        "owners": query.owners,
        "teams": query.teams,
        "countries": query.countries,
    }
    return {k: v for k, v in filters.items() if v is not None and k in sendable}


def _matches(invoice: Invoice, query: InvoiceQuery) -> bool:
    return (
        (
            query.status is None
            or invoice.status is query.status
            or invoice.status is InvoiceStatus.UNKNOWN
        )
        and (query.issued_from is None or invoice.issue_date >= query.issued_from)
        and (query.issued_to is None or invoice.issue_date <= query.issued_to)
    )


def _entry_filters(query: EntryQuery) -> dict[str, Any]:
    return {
        "date_from": query.date_from,
        "date_to": query.date_to,
        "billable": query.billable,
        "invoiced": query.invoiced,
    }


def _build(name: str, config: SystemConfigBase, reach: Reach) -> RestSource:
    assert isinstance(config, RestConfig)
    return RestSource(name, config, reach.http_transport)


register_adapter(
    "rest",
    config=RestConfig,
    implementation=RestSource,
    factory=_build,
    kinds=frozenset({"erp", "crm", "timesheet"}),
)

__all__ = ["CATALOGUE", "FieldSource", "RestConfig", "RestSource", "RestSpec"]
