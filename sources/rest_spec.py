"""The declarative REST spec: which operations exist, and how a spec file describes them.

``CATALOGUE`` lists every read Keylink knows with the record it returns and the field it is
keyed or grouped by; a spec maps some of them onto endpoints. ``writes`` (optional)
describes how order-line edits are sent and how the upstream's refusals are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sources.records import (
    LINE_FIELDS,
    Account,
    Client,
    Contact,
    Customer,
    Invoice,
    OrderLine,
    Payable,
    Product,
    Project,
    PurchaseOrder,
    SalesOrder,
    Supplier,
    TimeEntry,
    TimesheetProject,
)
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


CATALOGUE: dict[str, OperationShape] = {
    "customers": OperationShape(Customer, "key", False),
    "invoices": OperationShape(
        Invoice, "customer_key", True, frozenset({"status", "issued_from", "issued_to"})
    ),
    "project_invoices": OperationShape(Invoice, "project_key", True),
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
    "account_search": OperationShape(
        Account,
        "key",
        False,
        frozenset({"segments", "owners", "teams", "countries"}),
        search=True,
    ),
    "clients": OperationShape(Client, "key", False),
    "timesheet_projects": OperationShape(TimesheetProject, "key", False),
    "time_entries": OperationShape(
        TimeEntry, "client_key", True, frozenset({"date_from", "date_to", "billable", "invoiced"})
    ),
    "project_time_entries": OperationShape(
        TimeEntry, "project_key", True, frozenset({"date_from", "date_to", "billable", "invoiced"})
    ),
}


class Pagination(BaseModel):
    """How an endpoint pages: by page number, by offset, or not at all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    style: Literal["page", "offset", "none"] = "page"
    page_param: str = "page"
    size_param: str = "per_page"
    offset_param: str = "offset"
    first_page: int = 1
    page_size: int = Field(default=100, ge=1, le=10_000)
    items: str = "items"
    total: str | None = "total"
    next: str | None = "next_page"
    max_pages: int = Field(default=1000, ge=1)


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
    pagination: Pagination | None = None
    params: dict[str, str] = Field(default_factory=dict)
    filters: dict[str, FilterSpec] = Field(default_factory=dict)
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
            record_fields = {f.name: f for f in fields(shape.record)}
            unknown = set(operation.fields.fields) - set(record_fields)
            if unknown:
                raise ValueError(f"{name}: unknown fields {sorted(unknown)}")
            required = {
                n
                for n, f in record_fields.items()
                if f.default is MISSING and f.default_factory is MISSING
            }
            missing = required - set(operation.fields.fields)
            if missing:
                raise ValueError(f"{name}: fields {sorted(missing)} must be mapped")
            if operation.batch_param is None and not shape.search:
                raise ValueError(f"{name}: batch_param must be given")
            unknown_filters = set(operation.filters) - shape.filters
            if unknown_filters:
                raise ValueError(f"{name}: unknown filters {sorted(unknown_filters)}")
        if self.writes is not None:
            needed = {"order_lines_by_key", "sales_orders", "order_lines"}
            missing_reads = needed - set(self.operations)
            if missing_reads:
                raise ValueError(f"writes need the read operations {sorted(missing_reads)}")
        return self

    @classmethod
    def from_file(cls, path: Path) -> RestSpec:
        """Read and validate a spec file; ``ValueError`` names the file and the problem."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read REST spec {path}: {exc.strerror}") from exc
        return cls.model_validate(raw)
