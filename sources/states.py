"""A declarative spec's state translations with the system's config tables applied.

The SQL and file adapters translate a system's state codes with a ``map`` on the record's
``status`` field; the system's ``translations:`` (``sources.config.TranslationTables``)
override and extend it for the codes they name, as for every other adapter
(``sources.rest.states`` for REST, which also adjusts its upstream filters). A code neither
knows is read as ``UNKNOWN`` and its raw value kept in ``status_raw`` (mapped from the same
column when the spec does not map it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, Self, TypeVar

from sources.config import TranslationTables
from sources.rest.spec import CATALOGUE
from sources.rest.states import STATE_FIELDS
from sources.translate import FieldMap, with_translations


class MapsFields(Protocol):
    """A spec's read operation: a field map, copied with changes (a pydantic model)."""

    @property
    def fields(self) -> FieldMap:
        """How the operation's rows map onto a record."""
        ...

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied."""
        ...


Operation = TypeVar("Operation", bound=MapsFields)


def translated_operations(
    operations: Mapping[str, Operation], tables: TranslationTables
) -> dict[str, Operation]:
    """``operations`` with every state field translated through its own table extended
    and overridden by ``tables``; operations whose record has no state are unchanged."""
    translated = dict(operations)
    for name, operation in operations.items():
        shape = CATALOGUE.get(name)
        state = None if shape is None else STATE_FIELDS.get(shape.record)
        if state is None:
            continue
        fields = with_translations(
            operation.fields, "status", state.kind, tables.table(state.domain), state.raw_field
        )
        translated[name] = operation.model_copy(update={"fields": fields})
    return translated
