"""A REST spec's state translations with the system's config tables applied.

A spec translates the upstream's state codes with a ``map`` on the record's ``status``
field; the system's ``translations:`` (``sources.config.TranslationTables``) override and
extend it for the codes they name. A code neither knows is read as ``UNKNOWN`` and the raw
code is kept in ``status_raw`` (mapped from the same place when the spec does not map it),
so no record is dropped and no state is guessed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sources.config import TranslationDomain, TranslationTables
from sources.records import (
    Invoice,
    InvoiceStatus,
    OrderStatus,
    Payable,
    Project,
    ProjectStatus,
    SalesOrder,
)
from sources.rest.spec import CATALOGUE, FilterSpec, OperationSpec, RestSpec
from sources.translate import FieldMap, with_translations


@dataclass(frozen=True)
class StateField:
    """Where a record type keeps its state: its domain, its states, its raw-code field."""

    domain: TranslationDomain
    kind: type[enum.Enum]
    raw_field: str | None


STATE_FIELDS: Mapping[type, StateField] = {
    SalesOrder: StateField("order_status", OrderStatus, "status_raw"),
    Invoice: StateField("invoice_status", InvoiceStatus, "status_raw"),
    Payable: StateField("invoice_status", InvoiceStatus, None),
    Project: StateField("project_phase", ProjectStatus, "status_raw"),
}
"""Record types whose ``status`` field is translated through a domain's table."""

STATE_FILTERS = frozenset({"status", "statuses"})
"""Filters that select records by their ``status``."""


@dataclass(frozen=True)
class WatchedState:
    """For one operation: the domain of its records' state and the path of the raw code."""

    domain: TranslationDomain
    path: str


def translated_spec(spec: RestSpec, tables: TranslationTables) -> RestSpec:
    """``spec`` with every state field translated through its own table extended and
    overridden by ``tables`` (unknown codes read as UNKNOWN, their raw value kept), and
    state filters that could no longer select exactly the states asked for made to send
    nothing (the adapter re-checks the records: a wider request, never a narrower answer)."""
    operations = dict(spec.operations)
    for name, operation in spec.operations.items():
        state = STATE_FIELDS.get(CATALOGUE[name].record)
        if state is None:
            continue
        overrides = tables.table(state.domain)
        fields = with_translations(
            operation.fields, "status", state.kind, overrides, state.raw_field
        )
        update: dict[str, object] = {"fields": fields}
        status = fields.fields.get("status")
        if overrides and status is not None and status.map is not None:
            update["filters"] = {
                filter_name: _exact_filter(found, status.map)
                if filter_name in STATE_FILTERS
                else found
                for filter_name, found in operation.filters.items()
            }
        operations[name] = operation.model_copy(update=update)
        if overrides and name in FIXED_STATE_SEARCHES and _codes_changed(operation, fields, "OPEN"):
            del operations[name]  # its fixed state parameter would miss codes now OPEN
    return spec.model_copy(update={"operations": operations})


FIXED_STATE_SEARCHES = frozenset({"overdue_invoices"})
"""Searches whose spec selects one state (OPEN) by a fixed parameter: where the config
changes which codes are OPEN, the search is declined (``Unsupported``), and callers read
each customer's invoices instead (never a list missing invoices)."""


def _codes_changed(operation: OperationSpec, fields: FieldMap, state: str) -> bool:
    """Whether the codes translating to ``state`` differ between the spec's own field map
    (``operation``) and the translated one (``fields``)."""

    def codes(field_map: FieldMap) -> set[str]:
        source = field_map.fields.get("status")
        table = source.map if source is not None and source.map is not None else {}
        return {code for code, name in table.items() if name == state}

    return codes(operation.fields) != codes(fields)


def watched_states(spec: RestSpec) -> dict[str, WatchedState]:
    """The operations of ``spec`` whose records carry a translated state read from a path,
    with that path (to log an unknown code as the upstream sent it)."""
    watched: dict[str, WatchedState] = {}
    for name, operation in spec.operations.items():
        state = STATE_FIELDS.get(CATALOGUE[name].record)
        status = operation.fields.fields.get("status")
        if state is not None and status is not None and status.path is not None:
            watched[name] = WatchedState(state.domain, status.path)
    return watched


def _exact_filter(found: FilterSpec, table: Mapping[str, str]) -> FilterSpec:
    """``found`` where each state still sends exactly the codes that translate to it; a
    state whose codes changed sends nothing (null: the records are re-checked)."""
    if found.map is None:
        return found
    exact: dict[str, str | list[str] | None] = {}
    for state, sent in found.map.items():
        codes = {code for code, name in table.items() if name == state}
        sent_codes = set() if sent is None else {sent} if isinstance(sent, str) else set(sent)
        exact[state] = sent if sent is not None and sent_codes == codes else None
    return found.model_copy(update={"map": exact})
