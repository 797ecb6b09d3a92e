"""One requested order-line edit, validated and addressed to an ERP order.

Made by the mutations (``resolvers.mutations.order_lines``), run by
``resolvers.mutations.engine``, and re-checked by ``resolvers.mutations.resolve`` when the
ERP's answer never came.

What an attempt learns on the way (the line before, the order's lines before, the
customer) is kept in typed fields and stored with the idempotency record, so that a later
request with the same key can find out whether the write landed: :meth:`Edit.context_json`
and :meth:`Edit.learn` are the one (de)serialisation of that context, in the JSON format
records have always been stored in (``phase``, ``requested``, ``products``,
``customer_key``, ``before``, ``before_line_ids``, ``erp_latency_ms``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from resolvers.mutations.outcome import record_from_json, record_to_json
from sources.records import OrderLine

Operation = Literal["add_line", "update_line", "remove_line"]
"""The three edits an order line can get."""

Phase = Literal["claimed", "sending"]
"""How far an attempt got: it holds the key (``claimed``: nothing sent yet), or it is
about to send, or has sent, its write (``sending``)."""


@dataclass
class Edit:
    """One requested edit, already validated and addressed to an ERP order.

    ``request`` is what was asked (its fingerprint ties an idempotency key to it);
    ``requested`` the asked-for values in stored form (to recognise the line in the ERP);
    the fields after it are what the attempt learns before it writes."""

    operation: Operation
    system: str
    order_key: str
    request: dict[str, Any]
    line_key: str | None = None
    expected_version: str | None = None
    fields: tuple[str, ...] = ()
    requested: dict[str, str] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    phase: Phase = "claimed"
    customer_key: str | None = None
    before: OrderLine | None = None
    before_line_ids: list[str] | None = None
    erp_latency_ms: int | None = None

    def context_json(self) -> dict[str, Any]:
        """What the attempt has learnt, as the JSON object stored with its idempotency
        record (:meth:`learn` reads it back)."""
        stored: dict[str, Any] = {"phase": self.phase}
        if self.requested:
            stored["requested"] = dict(self.requested)
        if self.products:
            stored["products"] = list(self.products)
        if self.customer_key is not None:
            stored["customer_key"] = self.customer_key
        if self.before is not None:
            stored["before"] = record_to_json(self.before)
        if self.before_line_ids is not None:
            stored["before_line_ids"] = list(self.before_line_ids)
        if self.erp_latency_ms is not None:
            stored["erp_latency_ms"] = self.erp_latency_ms
        return stored

    def learn(self, stored: Mapping[str, Any]) -> None:
        """Take over what an earlier attempt with the same key stored (its
        :meth:`context_json`, from this Keylink or an older one): every entry it holds
        replaces this edit's own."""
        if stored.get("phase") in ("claimed", "sending"):
            self.phase = stored["phase"]
        if "requested" in stored:
            self.requested = {str(k): str(v) for k, v in dict(stored["requested"]).items()}
        if "products" in stored:
            self.products = [str(p) for p in stored["products"]]
        if "customer_key" in stored:
            self.customer_key = _text_or_none(stored["customer_key"])
        if "before" in stored:
            before = stored["before"]
            self.before = None if before is None else record_from_json(OrderLine, before)
        if "before_line_ids" in stored:
            ids = stored["before_line_ids"]
            self.before_line_ids = None if ids is None else [str(i) for i in ids]
        if "erp_latency_ms" in stored:
            latency = stored["erp_latency_ms"]
            self.erp_latency_ms = latency if isinstance(latency, int) else None


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
