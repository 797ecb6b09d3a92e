"""Which optional figures a system keeps: an adapter that maps its system onto records
through a spec keeps a figure exactly when the spec maps the record field it lives in.

A figure the system keeps none of is null in the answer, and the answer says so in
``extensions.sources.<system>.notes`` (never a silent null): the resolvers ask
``keeps(source, figure)`` when they find one null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol, runtime_checkable

Figure = Literal["credit_used", "line_unit"]
"""An optional figure: a customer's credit used, an order line's unit of measure."""

FIGURE_FIELDS: Final[Mapping[str, tuple[str, str]]] = {
    "credit_used": ("customers", "credit_used"),
    "line_unit": ("order_lines", "unit"),
}
"""Where each optional figure comes from: (read operation, record field)."""

NOT_KEPT: Final[Mapping[str, str]] = {
    "credit_used": "keeps no credit used: creditUsed is null",
    "line_unit": "keeps no units of measure: a line's unit is null",
}
"""The note an answer carries for a figure its system keeps none of."""


@runtime_checkable
class KeepsFigures(Protocol):
    """A source that knows which optional figures its system keeps."""

    def keeps(self, figure: Figure) -> bool:
        """Whether the system keeps ``figure`` (so a null is a value, not a gap)."""
        ...


def spec_keeps(operations: Mapping[str, Any], figure: Figure) -> bool:
    """Whether a spec with ``operations`` (name -> operation with a ``fields`` map) maps
    ``figure``'s record field in the read it comes from."""
    operation, field = FIGURE_FIELDS[figure]
    found = operations.get(operation)
    return found is not None and field in found.fields.fields


class _SpecDriven(Protocol):
    @property
    def spec(self) -> Any: ...


class SpecFigures:
    """``keeps`` for an adapter driven by a spec (``self.spec.operations``)."""

    def keeps(self: _SpecDriven, figure: Figure) -> bool:
        """Whether this system's spec maps ``figure``."""
        return spec_keeps(self.spec.operations, figure)


def keeps(source: object, figure: Figure) -> bool:
    """Whether ``source`` keeps ``figure``; a source that does not say is taken to keep it
    (its own notes then explain a null, as Tryton's do for a missing module)."""
    return source.keeps(figure) if isinstance(source, KeepsFigures) else True
