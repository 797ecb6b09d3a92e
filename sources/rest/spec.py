"""The declarative REST spec: which operations exist, and how a spec file describes them.

``CATALOGUE`` lists every read Keylink knows with the record it returns and the field it is
keyed or grouped by; a spec maps some of them onto endpoints. ``writes`` (optional)
describes how order-line edits are sent and how the upstream's refusals are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sources.base import ACCOUNT_ORDER_FIELDS, BROWSE_KINDS
from sources.records import (
    LINE_FIELDS,
    Account,
    Candidate,
    Client,
    Contact,
    Customer,
    Invoice,
    Opportunity,
    OrderLine,
    Payable,
    Product,
    Project,
    PurchaseOrder,
    SalesOrder,
    Supplier,
    Task,
    TimeEntry,
    TimesheetProject,
)
from sources.rest.paging import Pagination
from sources.translate import FieldMap, parse_field_source


@dataclass(frozen=True)
class OperationShape:
    """What an operation returns: its record type, the field it is keyed or grouped by."""

    record: type
    group_by: str
    many: bool
    filters: frozenset[str] = frozenset()
    search: bool = False
    """A search takes no keys: it lists what its filters select (no ``batch_param``)."""
    orders: frozenset[str] = frozenset()
    """Fields a search may ask the upstream to order by (a spec's ``order`` block)."""

    def check_fields(self, name: str, mapped: Iterable[str]) -> None:
        """``ValueError`` unless the field names ``mapped`` by operation ``name`` are all
        fields of its record and include every field the record requires."""
        record_fields = {f.name: f for f in fields(self.record)}
        unknown = set(mapped) - set(record_fields)
        if unknown:
            raise ValueError(f"{name}: unknown fields {sorted(unknown)}")
        required = {
            n
            for n, f in record_fields.items()
            if f.default is MISSING and f.default_factory is MISSING
        }
        missing = required - set(mapped)
        if missing:
            raise ValueError(f"{name}: fields {sorted(missing)} must be mapped")


CATALOGUE: dict[str, OperationShape] = {
    "customers": OperationShape(Customer, "key", False),
    "invoices": OperationShape(
        Invoice, "customer_key", True, frozenset({"status", "issued_from", "issued_to"})
    ),
    "project_invoices": OperationShape(Invoice, "project_key", True),
    "invoices_by_key": OperationShape(Invoice, "key", False),
    "overdue_invoices": OperationShape(
        Invoice, "customer_key", True, frozenset({"due_before"}), search=True
    ),
    "orders": OperationShape(SalesOrder, "customer_key", True, frozenset({"statuses"})),
    "sales_orders": OperationShape(SalesOrder, "key", False),
    "order_lines_by_key": OperationShape(OrderLine, "key", False),
    "products": OperationShape(Product, "key", False),
    "order_lines": OperationShape(OrderLine, "order_key", True),
    "projects": OperationShape(Project, "key", False),
    "customer_projects": OperationShape(Project, "customer_key", True),
    "suppliers": OperationShape(Supplier, "key", False),
    "purchase_orders": OperationShape(
        PurchaseOrder, "supplier_key", True, frozenset({"open_only"})
    ),
    "payables": OperationShape(Payable, "supplier_key", True, frozenset({"open_only"})),
    "accounts": OperationShape(Account, "key", False),
    "contacts": OperationShape(Contact, "account_key", True),
    "opportunities": OperationShape(Opportunity, "account_key", True),
    "tasks": OperationShape(Task, "account_key", True),
    "account_search": OperationShape(
        Account,
        "key",
        False,
        frozenset({"segments", "owners", "teams", "countries"}),
        search=True,
        orders=ACCOUNT_ORDER_FIELDS,
    ),
    "clients": OperationShape(Client, "key", False),
    "timesheet_projects": OperationShape(TimesheetProject, "key", False),
    "time_entries": OperationShape(
        TimeEntry, "client_key", True, frozenset({"date_from", "date_to", "billable", "invoiced"})
    ),
    "project_time_entries": OperationShape(
        TimeEntry, "project_key", True, frozenset({"date_from", "date_to", "billable", "invoiced"})
    ),
    # browsing (sources.base.BrowsesRecords): one page of linkable records, searched
    **{
        f"browse_{kind}s": OperationShape(
            Candidate, "key", False, frozenset({"search"}), search=True
        )
        for kind in BROWSE_KINDS
    },
}


class OrderSpec(BaseModel):
    """How a search operation asks the upstream for its own order, page by page.

    ``fields`` maps each Keylink field the upstream can order by (among
    ``sources.base.ACCOUNT_ORDER_FIELDS`` for ``account_search``) to the value of ``param``
    that selects it; ``key`` is the value for key order (``None``: the upstream's default
    order, which must then be key order, is used ascending and key order descending cannot
    be asked). Descending order is either ``descending_prefix`` before the value
    (``sort=-name``) or ``direction_param`` set to ``descending`` (``dir=desc``). The
    upstream must break ties by key in the same direction, and page with position tokens:
    the operation's pagination is then of the ``cursor`` style (keyset, not offset).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    param: str = "sort"
    fields: dict[str, str]
    key: str | None = None
    descending_prefix: str | None = "-"
    direction_param: str | None = None
    ascending: str = "asc"
    descending: str = "desc"

    @model_validator(mode="after")
    def _one_way_down(self) -> OrderSpec:
        if (self.descending_prefix is None) == (self.direction_param is None):
            raise ValueError("order: give exactly one of descending_prefix and direction_param")
        return self

    def params(self, order_by: str | None, descending: bool) -> dict[str, str] | None:
        """The parameters that ask for this order; ``None`` when it cannot be asked."""
        value = self.key if order_by is None else self.fields.get(order_by)
        if value is None:
            if order_by is None and not descending:
                return {}
            return None
        if self.direction_param is not None:
            direction = self.descending if descending else self.ascending
            return {self.param: value, self.direction_param: direction}
        prefix = self.descending_prefix if descending else ""
        return {self.param: f"{prefix}{value}"}


class FilterSpec(BaseModel):
    """How one Keylink filter becomes a query parameter; ``map`` translates values.

    A value may map to several upstream values (a list: one Keylink state the upstream
    splits in two, e.g. ``CONFIRMED: [confirmed, processing]``), or to null (the upstream
    cannot select it: nothing is sent and the records are re-checked).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    param: str
    map: dict[str, str | list[str] | None] | None = None
    join: str = ","


class OperationSpec(BaseModel):
    """One read operation: endpoint, batch parameter (none for a search), paging, filters
    and field map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    batch_param: str | None = None
    batch_size: int | None = Field(default=None, ge=1)
    select_all: bool = False
    """The endpoint cannot select by key (no ``batch_param``): one read walks all its pages
    for the whole batch of keys and keeps the records of the keys asked for."""
    pagination: Pagination | None = None
    params: dict[str, str] = Field(default_factory=dict)
    filters: dict[str, FilterSpec] = Field(default_factory=dict)
    order: OrderSpec | None = None
    fields: FieldMap

    @field_validator("fields", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "fields" not in value:
            return {"fields": {name: parse_field_source(raw) for name, raw in value.items()}}
        return value


class WriteCall(BaseModel):
    """One write endpoint: method, path template (``{order}``, ``{line}``), version place."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["POST", "PUT", "PATCH", "DELETE"]
    path: str
    version: Literal["body", "query", "none"] = "none"


class WriteSpec(BaseModel):
    """How order-line edits are sent to the upstream and how its answers are read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add_line: WriteCall
    change_line: WriteCall
    remove_line: WriteCall
    preview_add: WriteCall | None = None
    preview_change: WriteCall | None = None
    body_fields: dict[str, str] = Field(default_factory=lambda: {f: f for f in LINE_FIELDS})
    version_field: str = "expected_version"
    version_format: Literal["int", "string"] = "string"
    idempotency_header: str | None = "Idempotency-Key"
    line_path: str = "line"
    order_path: str = "order"
    current_path: str = "current"
    error_code_path: str = "error"
    error_field_path: str = "field"
    error_message_path: str = "detail"
    errors: dict[str, str] = Field(
        default_factory=dict, description="upstream error code -> Keylink code (CONFLICT...)"
    )

    @field_validator("body_fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(LINE_FIELDS) - {"product_key"}
        if unknown:
            raise ValueError(f"unknown line fields {sorted(unknown)}")
        return value


class RestSpec(BaseModel):
    """A whole upstream's REST description."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: int = Field(default=100, ge=1)
    pagination: Pagination = Pagination()
    operations: dict[str, OperationSpec]
    writes: WriteSpec | None = None

    @model_validator(mode="after")
    def _fits_catalogue(self) -> RestSpec:
        for name, operation in self.operations.items():
            shape = CATALOGUE.get(name)
            if shape is None:
                raise ValueError(f"unknown operation {name!r}; known: {sorted(CATALOGUE)}")
            shape.check_fields(name, operation.fields.fields)
            if operation.batch_param is None and not shape.search and not operation.select_all:
                raise ValueError(f"{name}: batch_param must be given (or select_all: true)")
            unknown_filters = set(operation.filters) - shape.filters
            if unknown_filters:
                raise ValueError(f"{name}: unknown filters {sorted(unknown_filters)}")
            if operation.order is not None:
                self._check_order(name, operation, shape)
        if self.writes is not None:
            needed = {"order_lines_by_key", "sales_orders", "order_lines"}
            missing_reads = needed - set(self.operations)
            if missing_reads:
                raise ValueError(f"writes need the read operations {sorted(missing_reads)}")
        return self

    def _check_order(self, name: str, operation: OperationSpec, shape: OperationShape) -> None:
        assert operation.order is not None
        unknown_orders = set(operation.order.fields) - shape.orders
        if unknown_orders:
            raise ValueError(
                f"{name}: cannot order by {sorted(unknown_orders)}; "
                f"orderable: {sorted(shape.orders)}"
            )
        paging = operation.pagination or self.pagination
        if paging.style != "cursor":
            raise ValueError(f"{name}: an order needs keyset paging (pagination style cursor)")

    @classmethod
    def from_file(cls, path: Path) -> RestSpec:
        """Read and validate a spec file; ``ValueError`` names the file and the problem."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read REST spec {path}: {exc.strerror}") from exc
        return cls.model_validate(raw)
