"""One requested order-line edit, validated and addressed to an ERP order.

Made by the mutations (``resolvers.mutations.order_lines``), run by
``resolvers.mutations.engine``, and re-checked by ``resolvers.mutations.resolve`` when the
ERP's answer never came.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Operation = Literal["add_line", "update_line", "remove_line"]
"""The three edits an order line can get."""


@dataclass
class Edit:
    """One requested edit, already validated and addressed to an ERP order."""

    operation: Operation
    system: str
    order_key: str
    request: dict[str, Any]
    line_key: str | None = None
    expected_version: str | None = None
    fields: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)
