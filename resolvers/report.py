"""The ``extensions.sources`` block: which systems a request touched and how they fared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry.extensions import SchemaExtension

from resolvers.context import Context


class SourcesReport(SchemaExtension):
    """Adds ``extensions.sources``: per system ``state`` (ok, error, stale) and ``readAt``;
    and ``extensions.idempotency`` for mutations: per mutation field its key and whether the
    answer was a replay of a stored outcome (as Stripe's ``Idempotent-Replayed`` header)."""

    def get_results(self) -> dict[str, Any]:
        """The blocks for this request's response."""
        context = self.execution_context.context
        found = context.get("keylink") if isinstance(context, Mapping) else None
        if not isinstance(found, Context):
            return {}
        results: dict[str, Any] = {"sources": found.states.report()}
        if found.states.any_stale:
            results["stale"] = True
        if found.idempotency_report:
            results["idempotency"] = found.idempotency_report
        return results
