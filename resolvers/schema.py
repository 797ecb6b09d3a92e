"""Builds Keylink's strawberry schema with the extensions the gateway chooses."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter

from resolvers.errors import StableErrorCodes
from resolvers.execution import LeanExecutionContext
from resolvers.federation import FEDERATION_VERSION, SubgraphSchema, with_service
from resolvers.mutations.order_lines import Mutation
from resolvers.queries import Query
from resolvers.report import SourcesReport
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
    extensions: Sequence[type[SchemaExtension]] = (), *, suggestions: bool = True
) -> strawberry.Schema:
    """The schema: ``Query`` and ``Mutation`` with error codes, the sources report and
    ``extensions``; ``suggestions`` off removes "Did you mean" hints from errors.

    It is also an Apollo Federation 2 subgraph (``resolvers.federation``): ``_service``
    and ``_entities`` are added; every other field runs as before.
    """
    validated = ValidationMemo(maxsize=1000)
    return SubgraphSchema(
        query=with_service(Query),
        mutation=Mutation,
        extensions=[
            lambda: ParserCache(maxsize=1000),  # the LRU itself is shared across requests
            lambda: QueryValidationCache(validated),
            StableErrorCodes,
            SourcesReport,
            *extensions,
        ],
        config=StrawberryConfig(
            auto_camel_case=True,
            disable_field_suggestions=not suggestions,
            name_converter=RememberingNameConverter(),
        ),
        execution_context_class=LeanExecutionContext,
        federation_version=FEDERATION_VERSION,
    )
