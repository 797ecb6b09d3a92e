"""Keylink's schema as an Apollo Federation 2 subgraph.

Customer, Supplier and Project are entities (``@key`` on ``id`` and on
``keys { system key }``, see :mod:`resolvers.references`). The root type gains the two
fields a router uses:

* ``_service { sdl }``: the subgraph SDL, for the roles ``sales``, ``analyst`` and
  ``admin`` only (it is the whole schema, which introspection hides in production);
* ``_entities(representations:)``: at most :data:`MAX_REPRESENTATIONS` references, each
  answered in order by the entity, null (unknown or outside the caller's row scope), or an
  error at its index (``BAD_INPUT`` for a malformed representation).

Value types a supergraph commonly has more than once (``PageInfo``, ``Money``, ``SystemKey``,
the list connections and edges) are ``@shareable``; :func:`hidden_from_supergraph` marks the
order-line mutations ``@inaccessible`` when the configuration asks for it
(``federation.hide_mutations``).

Nothing else changes: normal queries run exactly as in a plain strawberry schema.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final, cast

import strawberry
from graphql import GraphQLError
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Inaccessible, Key
from strawberry.printer import print_schema
from strawberry.types import ExecutionContext, Info
from strawberry.types.base import StrawberryObjectDefinition

from resolvers.errors import BadInput, log_request_errors
from resolvers.permissions import SeesFinancials
from resolvers.references import REFERENCE_FIELDS

FEDERATION_VERSION: Final = "2.3"
"""The Federation spec version linked in the SDL; ``@key``, ``@shareable`` and (when
mutations are hidden) ``@inaccessible`` are used, which every Federation 2 router (Apollo
Router, Cosmo) composes."""

MAX_REPRESENTATIONS: Final = 500
"""Most representations one ``_entities`` call may ask for (as ``customersByKey`` keys)."""


class ReadsSubgraphSchema(SeesFinancials):
    """``_service { sdl }``: roles ``sales``, ``analyst`` and ``admin``."""

    message = "The subgraph schema needs the sales, analyst or admin role."


@strawberry.type(name="_Service", description="The subgraph's schema, for a federation router.")
class SubgraphService:
    """The ``_service`` answer: the subgraph SDL."""

    @strawberry.field(description="The subgraph SDL, with its @link and @key directives.")
    def sdl(self, info: strawberry.Info) -> str:
        """The SDL of the schema serving this request."""
        schema = info.schema
        assert isinstance(schema, SubgraphSchema)
        return schema.subgraph_sdl


def with_service(query: type) -> type:
    """A root query type: ``query`` plus ``_service`` guarded by :class:`ReadsSubgraphSchema`
    (strawberry keeps a query's own ``_service`` instead of adding an unguarded one)."""
    definition = query.__strawberry_definition__  # type: ignore[attr-defined]

    class SubgraphQuery(query):  # type: ignore[misc]
        @strawberry.field(
            name="_service",
            permission_classes=[ReadsSubgraphSchema],
            description="This subgraph's SDL (Apollo Federation).",
        )
        def subgraph_service(self) -> SubgraphService:
            """The ``_service`` object; its ``sdl`` is printed once per schema."""
            return SubgraphService()

    return strawberry.type(SubgraphQuery, name="Query", description=definition.description)


def hidden_from_supergraph(root: type, *, whole_type: bool = False) -> type:
    """A copy of the root type ``root`` whose fields are all ``@inaccessible``: a router
    leaves them out of the supergraph's API (its clients cannot call them), while Keylink
    still serves them to its direct clients. ``root`` itself is left unchanged.

    Composition refuses a type left with only ``@inaccessible`` fields, so this composes
    when another subgraph contributes fields to the same root type; ``whole_type`` marks
    the type ``@inaccessible`` as well, for a supergraph where no other subgraph does (it
    then hides the other subgraphs' fields of that type too)."""
    definition = root.__strawberry_definition__  # type: ignore[attr-defined]

    class Hidden(root):  # type: ignore[misc]
        pass

    hidden = strawberry.type(
        Hidden,
        name=definition.name,
        description=definition.description,
        directives=[*definition.directives, *([Inaccessible()] if whole_type else [])],
    )
    fields = []
    for field in definition.fields:
        inaccessible = copy.copy(field)
        inaccessible.directives = [*field.directives, Inaccessible()]
        fields.append(inaccessible)
    hidden.__strawberry_definition__.fields = fields
    return hidden


class SubgraphSchema(strawberry.federation.Schema):
    """strawberry's federation schema with Keylink's guards on ``_entities``: bounded
    count, representations checked before any lookup, errors with stable codes."""

    _sdl: str | None = None

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log the errors as ``resolvers.errors.log_request_errors`` does: one capped line
        per expected error, never the document, no traceback for a client's mistake."""
        log_request_errors(errors)

    @property
    def subgraph_sdl(self) -> str:
        """The subgraph SDL (printed once; the schema does not change)."""
        if self._sdl is None:
            self._sdl = print_schema(self)
        return self._sdl

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """One answer per representation, in order: an awaitable of the entity or None, or
        a ``BadInput`` for that index. Too many representations fail the whole field."""
        if len(representations) > MAX_REPRESENTATIONS:
            raise BadInput(f"{len(representations)} representations; at most {MAX_REPRESENTATIONS}")
        return [cast(FederationAny, self._reference(info, r)) for r in representations]

    def _reference(self, info: Info, representation: object) -> Any:
        if not isinstance(representation, Mapping):
            return BadInput("a representation must be an object with __typename")
        name = representation.get("__typename")
        origin = self._entity_types().get(name) if isinstance(name, str) else None
        if origin is None:
            return BadInput(f"__typename must be one of: {', '.join(self._entity_types())}")
        fields = {k: representation[k] for k in REFERENCE_FIELDS if k in representation}
        return origin.resolve_reference(info=info, **fields)

    def _entity_types(self) -> dict[str, Any]:
        """GraphQL name -> Python class of every type with a ``@key``."""
        found: dict[str, Any] | None = self.__dict__.get("_entities_by_name")
        if found is None:
            found = {}
            for name, converted in self.schema_converter.type_map.items():
                definition = converted.definition
                if isinstance(definition, StrawberryObjectDefinition) and any(
                    isinstance(d, Key) for d in definition.directives or ()
                ):
                    found[name] = definition.origin
            self.__dict__["_entities_by_name"] = found
        return found
