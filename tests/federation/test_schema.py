"""Serving the schema as a subgraph adds ``_service`` and ``_entities`` and changes
nothing else a client sees or runs."""

from __future__ import annotations

import warnings

import strawberry
from graphql import OperationDefinitionNode, parse
from graphql.utilities.print_schema import print_type
from strawberry.schema.config import StrawberryConfig

from gateway.http.cost import operation_cost
from resolvers.execution import LeanExecutionContext
from resolvers.federation import SubgraphSchema
from resolvers.mutations.order_lines import Mutation
from resolvers.queries import Query
from resolvers.schema import build_schema
from resolvers.types.status import SourceStatusLast

FEDERATION_TYPES = ("_Any", "_Entity", "_Service", "_FieldSet", "link__Import", "link__Purpose")
STATUS_TYPES = ("SourceStatus", "SystemStatus", "SourceState")
"""The types of ``sourceStatus``, added with it for clients behind a router (with the
built-in ``Float`` of its ``ageSeconds``)."""


def test_the_client_schema_is_the_plain_schema_plus_the_federation_and_status_fields() -> None:
    federated = build_schema()._schema
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "federation directive found": expected here
        plain = strawberry.Schema(
            query=Query, mutation=Mutation, config=StrawberryConfig(auto_camel_case=True)
        )._schema

    query = federated.query_type
    assert query is not None and plain.query_type is not None
    added_fields = {"_service", "_entities", "sourceStatus"}
    assert set(query.fields) - set(plain.query_type.fields) == added_fields
    for name in added_fields:
        del query.fields[name]
    printed = {name: print_type(t) for name, t in federated.type_map.items()}
    printed_plain = {name: print_type(t) for name, t in plain.type_map.items()}
    added = set(printed) - set(printed_plain)
    assert {"_Any", "_Entity", "_Service", *STATUS_TYPES} <= added
    assert added <= {*FEDERATION_TYPES, *STATUS_TYPES, "Float"}
    # every other type (Query without the three fields included) prints the same: same
    # fields in the same order, same arguments, types and descriptions
    assert {n: printed[n] for n in printed_plain} == printed_plain


def test_the_schema_keeps_keylinks_execution_and_extensions() -> None:
    schema = build_schema()
    assert isinstance(schema, SubgraphSchema)
    assert issubclass(schema.execution_context_class, SourceStatusLast)
    assert issubclass(SourceStatusLast, LeanExecutionContext)
    assert schema.config.name_converter.__class__.__name__ == "RememberingNameConverter"
    names = {getattr(e, "__name__", type(e).__name__) for e in schema.extensions}
    assert {"StableErrorCodes", "SourcesReport"} <= names


def test_entities_cost_as_much_as_the_representations_ask_for() -> None:
    operation = parse(
        """
        query($r: [_Any!]!) {
          _entities(representations: $r) {
            ... on Customer { id financialOverview { overdueCount } }
          }
        }
        """
    ).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    schema = build_schema()._schema
    one = {"__typename": "Customer", "id": "1"}
    for count in (1, 200, 400):
        variables = {"r": [one] * count}
        assert operation_cost(schema, operation, {}, variables, 10) == 1 + count * (1 + 1 + 1)
