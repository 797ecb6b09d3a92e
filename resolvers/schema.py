"""Builds Keylink's strawberry schema with the extensions the gateway chooses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import strawberry
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter

from resolvers.errors import StableErrorCodes
from resolvers.execution import standard_path, without_suggestions
from resolvers.federation import (
    FEDERATION_VERSION,
    SubgraphSchema,
    hidden_from_supergraph,
    with_service,
)
from resolvers.mutations.order_lines import Mutation
from resolvers.queries import Query
from resolvers.report import SourcesReport
from resolvers.types.status import SourceStatusLast, with_source_status
from resolvers.validation_cache import QueryValidationCache, ValidationMemo


class RememberingNameConverter(NameConverter):
    """strawberry's name converter, converting each Python name once: arguments are
    renamed on every resolver call, and the conversion showed in profiles."""

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        """The GraphQL name for Python name ``name`` (camelCase)."""
        converted = self._names.get(name)
        if converted is None:
            converted = self._names[name] = super().apply_naming_config(name)
        return converted


def build_schema(
    extensions: Sequence[type[SchemaExtension]] = (),
    *,
    suggestions: bool = True,
    hide_mutations: bool | Literal["type"] = False,
    fast_path: bool = True,
    outer_extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    """The schema: ``Query`` (with ``sourceStatus``, resolved after the other root fields)
    and ``Mutation`` with error codes, the sources report and ``extensions``;
    ``suggestions`` off removes "Did you mean" hints from errors.

    It is also an Apollo Federation 2 subgraph (``resolvers.federation``): ``_service``
    and ``_entities`` are added; every other field runs as before. ``hide_mutations``
    marks the order-line mutations ``@inaccessible`` (left out of a supergraph's API);
    ``"type"`` marks the ``Mutation`` type too (see ``hidden_from_supergraph``).
    ``fast_path`` off completes every field graphql-core's standard way (same answers).
    ``outer_extensions`` run around all the others (first in, last out: they see the
    result once every other extension has rewritten it), e.g. the gateway's telemetry.
    """
    validated = ValidationMemo(maxsize=1000)
    execution = SourceStatusLast if fast_path else standard_path(SourceStatusLast)
    return SubgraphSchema(
        query=with_service(with_source_status(Query)),
        mutation=(
            hidden_from_supergraph(Mutation, whole_type=hide_mutations == "type")
            if hide_mutations
            else Mutation
        ),
        extensions=[
            *outer_extensions,
            lambda: ParserCache(maxsize=1000),  # the LRU itself is shared across requests
            lambda: QueryValidationCache(validated, hide_suggestions=not suggestions),
            StableErrorCodes,
            SourcesReport,
            *extensions,
        ],
        config=StrawberryConfig(
            auto_camel_case=True,
            disable_field_suggestions=not suggestions,
            name_converter=RememberingNameConverter(),
        ),
        execution_context_class=(execution if suggestions else without_suggestions(execution)),
        federation_version=FEDERATION_VERSION,
    )
