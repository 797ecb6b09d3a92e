"""The ``extensions.sources`` block: which systems a request touched and how they fared."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension

from resolvers.context import context_of


class SourcesReport(SchemaExtension):
    """Adds ``extensions.sources``: per system ``state`` (ok, error, stale) and ``readAt``."""

    def get_results(self) -> dict[str, Any]:
        """The block for this request's response."""
        context = self.execution_context.context
        if context is None:
            return {}
        try:
            states = context_of_dict(context)
        except (KeyError, AssertionError):
            return {}
        return {"sources": states.report()}


def context_of_dict(context: Any) -> Any:
    """The source states of a request context, however the context is shaped."""

    class _Info:
        def __init__(self, ctx: Any) -> None:
            self.context = ctx

    return context_of(_Info(context)).states  # type: ignore[arg-type]
