"""The OData spec: which entity set, key property and properties serve each read, and how
order-line edits are sent. One YAML file per service; nothing in the adapter names an
entity set or a property of its own.

Example (``examples/odata-sap.yaml`` and ``demo/sap/keylink-spec.yaml`` are complete)::

    batch_size: 40           # keys per request ($filter=Key in (...))
    key_filter: in           # or "or": Key eq 'a' or Key eq 'b' for services without `in`
    operations:
      orders:
        entity_set: A_SalesOrder
        key: SoldToParty     # the property a batch of keys is matched on
        fields:
          key: SalesOrder
          status: OverallSDProcessStatus     # codes: the system's translations
          total: {amount: TotalGrossAmount, currency: TransactionCurrency}
      order_lines:
        entity_set: A_SalesOrder
        key: SalesOrder
        expand: to_Item      # the lines come expanded under each order
        fields: {key: SalesOrderItem, version: "@etag", ...}

``@etag`` reads an entity's ETag (``@odata.etag``), verbatim, weak ones included;
``joined`` makes one code of several properties (``{BillingCode: [BillingDocumentType,
AccountingPostingStatus]}`` reads ``F2/B``), so a translation table can name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sources.rest.spec import CATALOGUE
from sources.spec_files import load_spec_file
from sources.translate import FieldMap, FieldSource, parse_field_source

ETAG = "@etag"
"""The pseudo-property holding an entity's ETag (``@odata.etag``) in a field map."""
JOIN = "/"
"""What a ``joined`` code puts between its properties' values."""
LINE_BODY_FIELDS = frozenset(
    {"product_key", "quantity", "unit_price", "discount_percent", "delivery_date", "description"}
)


def _field_map(raw: Any) -> FieldMap:
    if isinstance(raw, FieldMap):
        return raw
    if not isinstance(raw, Mapping):
        raise ValueError("fields: a mapping of record fields to properties")
    return FieldMap(fields={name: parse_field_source(value) for name, value in raw.items()})


def _paths(source: FieldSource) -> list[str]:
    found = [p for p in (source.path, source.amount) if p is not None]
    if isinstance(source.currency, str):
        found.append(source.currency)
    elif isinstance(source.currency, FieldSource):
        found.extend(_paths(source.currency))
    return found


class EntityRead(BaseModel):
    """One read: the entity set asked, the property its batch of keys is matched on, and
    how an entity (or, with ``expand``, each entity under that navigation property) maps
    onto the operation's record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity_set: str
    key: str
    key_type: Literal["string", "int"] = "string"
    expand: str | None = None
    fields: FieldMap
    joined: dict[str, list[str]] = Field(default_factory=dict)
    select_also: list[str] = Field(
        default_factory=list,
        description="properties selected beside the mapped ones, e.g. the one behind the "
        "ETag where the service sends @odata.etag only with it (CAP in an $expand)",
    )
    filter: str | None = Field(default=None, description="a fixed $filter ANDed to the keys'")
    batch_size: int | None = Field(default=None, ge=1, le=1000)

    @field_validator("fields", mode="before")
    @classmethod
    def _parse_fields(cls, value: Any) -> FieldMap:
        return _field_map(value)

    def properties(self) -> list[str]:
        """The properties the field map reads (``$select``), ``joined`` codes resolved to
        their parts, pseudo-properties (``@etag``) left out; in a stable order."""
        wanted: list[str] = []
        for source in self.fields.fields.values():
            for path in _paths(source):
                for name in self.joined.get(path, [path]):
                    top = name.split(".")[0]
                    if not top.startswith("@") and top not in wanted:
                        wanted.append(top)
        return wanted + [name for name in self.select_also if name not in wanted]

    def prepared(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        """``entity`` ready for the field map: its ETag (``@odata.etag``) as ``@etag``
        ("" when it has none) and each ``joined`` code made of its parts."""
        item = dict(entity)
        etag = entity.get("@odata.etag")
        item[ETAG] = etag if isinstance(etag, str) else ""
        for name, parts in self.joined.items():
            values = [entity.get(part) for part in parts]
            item[name] = None if any(v is None for v in values) else JOIN.join(map(str, values))
        return item


class LineWrites(BaseModel):
    """How order-line edits are sent: PATCH and DELETE on ``entity_set`` by the line key
    (with the line's ETag in ``If-Match``), POST to the order's ``navigation`` (the order
    entity set is the ``sales_orders`` read's), previews through bound actions that answer
    the order with its lines under ``navigation``. ``body`` maps the line's fields to
    properties; ``errors`` maps the service's error codes to Keylink's (``ORDER_LOCKED``,
    ``BAD_INPUT``...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity_set: str
    navigation: str
    body: dict[str, str]
    preview_add: str | None = Field(default=None, description="bound action on an order")
    preview_change: str | None = Field(default=None, description="bound action on a line")
    errors: dict[str, str] = Field(default_factory=dict)
    error_fields: dict[str, str] = Field(
        default_factory=dict, description="the service's error targets -> Keylink input fields"
    )

    @field_validator("body")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - LINE_BODY_FIELDS
        if unknown:
            raise ValueError(f"body: unknown line fields {sorted(unknown)}")
        return value


class OdataSpec(BaseModel):
    """A service's spec: its reads by Keylink operation name, its edits, how keys batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: int = Field(default=40, ge=1, le=1000)
    key_filter: Literal["in", "or"] = "in"
    ieee754_compatible: bool = Field(
        default=False, description="ask for Edm.Decimal as strings (IEEE754Compatible=true)"
    )
    max_pages: int = Field(default=1000, ge=1, description="nextLink pages followed at most")
    operations: dict[str, EntityRead]
    writes: LineWrites | None = None

    @model_validator(mode="after")
    def _fit_records(self) -> OdataSpec:
        for name, operation in self.operations.items():
            shape = CATALOGUE.get(name)
            if shape is None or shape.search:
                raise ValueError(f"operations: {name!r} is not a batched read Keylink knows")
            shape.check_fields(name, operation.fields.fields)
        if self.writes is not None:
            missing = {"sales_orders", "order_lines_by_key"} - set(self.operations)
            if missing:
                raise ValueError(f"writes need the reads {sorted(missing)}")
        return self

    @classmethod
    def from_file(cls, path: Path) -> OdataSpec:
        """The spec in ``path``; ``ValueError`` naming the file and the problem."""
        return load_spec_file(cls, path, "OData spec")

    def batch_size_of(self, operation: EntityRead) -> int:
        """Keys per request for ``operation``."""
        return operation.batch_size or self.batch_size
