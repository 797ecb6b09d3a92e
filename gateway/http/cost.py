"""Query cost: an estimate of the work an operation asks for, refused above a limit.

Every field costs 1. A field returning a list multiplies the cost of its selection by
the list's expected length: the value of its ``first``/``last``/``limit`` argument, the
length of its ``keys`` (or ``_entities``'s ``representations``) argument, or
``default_list_size`` when nothing bounds it. So
``customersByKey(keys: [50 keys]) { erp { orders { lines { … } } } }`` costs about
50 × 10 × 10 × the line fields, while the same selection for one customer costs 1/50 of
that. An argument's value is the one the request gives, else its variable's default
(``query($n: Int = 100)``), else the schema's default for the argument (``first: Int! =
50``), exactly as execution will see it; so an operation's cost is known before any
resolver runs.

Entity fetches. A federation router sends one ``_entities`` fetch with a representation
for every entity another subgraph's answer references: their number follows that
subgraph's data, not the client's query. So the ``max_cost`` limit counts an
``_entities`` fetch as for one representation, and the fetch is bounded per
representation instead: one representation's selection may cost at most
``max_entity_cost``. How many representations one fetch may carry is S1's bound on the
keys of one request, 500 (``resolvers.federation.MAX_REPRESENTATIONS``, refused with
``BAD_INPUT`` before any lookup), so a fetch does at most 500 × ``max_entity_cost`` work
whatever the other subgraph holds. :func:`operation_cost` still reports the whole work
(the selection times the representations).

Linear time: each fragment's cost is computed once per (type, page size) and reused
wherever it is spread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

SIZE_ARGUMENTS = ("first", "last", "limit")
"""Arguments whose integer value bounds a list field's length."""

LIST_ARGUMENTS = ("keys", "representations")
"""Arguments whose list length bounds a list field's length (``_entities`` has one
answer per representation)."""

ENTITIES_FIELD = "_entities"

_ABSENT = object()


@dataclass(frozen=True)
class Estimate:
    """The costs of one operation (see the module docstring)."""

    total: int
    """The work asked for: an ``_entities`` fetch times its representations."""
    charged: int
    """What ``max_cost`` applies to: each ``_entities`` fetch as for one representation."""
    per_entity: int
    """The most one representation of an ``_entities`` fetch costs (0: no fetch)."""


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    default_list_size: int,
) -> int:
    """The estimated cost of ``operation`` (see the module docstring for the model)."""
    return estimate(schema, operation, fragments, variables, default_list_size).total


def estimate(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    default_list_size: int,
) -> Estimate:
    """The costs of ``operation``: its whole work, what the limit counts, and the most
    one entity representation costs."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Estimate(0, 0, 0)
    charging = _Estimator(schema, fragments, operation, variables, default_list_size, True)
    charged = charging.selection_cost(root, operation.selection_set)
    if not charging.fetches_entities:
        return Estimate(charged, charged, 0)
    whole = _Estimator(schema, fragments, operation, variables, default_list_size, False)
    return Estimate(
        whole.selection_cost(root, operation.selection_set), charged, charging.per_entity
    )


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        default_list_size: int,
        per_representation: bool,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = {
            d.variable.name.value: d.default_value
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        self.default_list_size = default_list_size
        self.per_representation = per_representation
        self.fetches_entities = False
        self.per_entity = 0
        self._fragment_costs: dict[tuple[str, str, int | None], int] = {}
        self._spreading: set[str] = set()

    def selection_cost(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, page: int | None = None
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(parent, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self._type(condition.name.value) if condition else parent
                total += self.selection_cost(inner or parent, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_cost(selection.name.value, parent, page)
        return total

    def _fragment_cost(self, name: str, parent: GraphQLNamedType, page: int | None) -> int:
        """A spread's cost, computed once per (fragment, type, page) in this operation. A
        spread inside its own fragment costs nothing (validation refuses such cycles)."""
        fragment = self.fragments.get(name)
        if fragment is None or name in self._spreading:
            return 0
        inner = self._type(fragment.type_condition.name.value) or parent
        key = (name, inner.name, page)
        cost = self._fragment_costs.get(key)
        if cost is None:
            self._spreading.add(name)
            try:
                cost = self.selection_cost(inner, fragment.selection_set, page)
            finally:
                self._spreading.discard(name)
            self._fragment_costs[key] = cost
        return cost

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self.schema.get_type(name)

    def field_cost(
        self, parent: GraphQLNamedType, field: FieldNode, page: int | None = None
    ) -> int:
        """1 plus the cost of the field's selection, times the list's length for a list.

        A field that is no list but takes a size argument is a connection (``customers(
        first: 100) { edges { … } }``): the lists directly under it (``edges``, ``nodes``)
        hold at most that many items (``page``), not ``default_list_size``.
        """
        name = field.name.value
        if name.startswith("__"):
            return 0
        definition = (
            parent.fields.get(name) if isinstance(parent, GraphQLObjectType) else None
        ) or self._interface_field(parent, name)
        if definition is None or field.selection_set is None:
            return 1
        arguments = self._arguments(field, definition)
        is_list = _is_list(definition.type)
        inner_page = None if is_list else _size(arguments)
        inner_cost = self.selection_cost(
            get_named_type(definition.type), field.selection_set, inner_page
        )
        if name == ENTITIES_FIELD and parent is self.schema.query_type:
            self.fetches_entities = True
            self.per_entity = max(self.per_entity, inner_cost)
            if self.per_representation:
                return 1 + inner_cost
        multiplier = self._list_size(arguments, page) if is_list else 1
        return 1 + multiplier * inner_cost

    def _interface_field(self, parent: GraphQLNamedType, name: str) -> Any:
        fields = getattr(parent, "fields", None)
        return fields.get(name) if isinstance(fields, dict) else None

    def _arguments(self, field: FieldNode, definition: GraphQLField) -> dict[str, Any]:
        """The field's argument values as execution will see them: given, else the
        variable's default, else the schema's default for the argument."""
        values: dict[str, Any] = {}
        for argument in field.arguments or ():
            value = self._value(argument.value)
            if value is not _ABSENT:
                values[argument.name.value] = value
        for name, argument_definition in definition.args.items():
            if name not in values and argument_definition.default_value is not Undefined:
                values[name] = argument_definition.default_value
        return values

    def _list_size(self, arguments: Mapping[str, Any], page: int | None = None) -> int:
        size = _size(arguments)
        if size is not None:
            return size
        for name in LIST_ARGUMENTS:
            value = arguments.get(name)
            if isinstance(value, list):
                return len(value)
        return self.default_list_size if page is None else page

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            default = self.defaults.get(name)
            return _ABSENT if default is None else self._value(default)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return None


def _size(arguments: Mapping[str, Any]) -> int | None:
    """The value of a ``first``/``last``/``limit`` argument, if one is an integer."""
    for name in SIZE_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
    return None


def _is_list(output_type: GraphQLOutputType) -> bool:
    while isinstance(output_type, GraphQLNonNull):
        output_type = output_type.of_type
    return isinstance(output_type, GraphQLList)


def cost_limiter(
    max_cost: int, default_list_size: int, max_entity_cost: int | None = None
) -> type[SchemaExtension]:
    """A strawberry extension refusing operations whose cost exceeds ``max_cost``, or one
    of whose ``_entities`` representations costs more than ``max_entity_cost`` (default:
    ``max_cost``).

    The refusal is a GraphQL error with ``extensions.code = "LIMIT_EXCEEDED"`` whose
    message gives the computed cost, returned before any resolver runs.
    """
    entity_limit = max_cost if max_entity_cost is None else max_entity_cost

    class QueryCostLimiter(SchemaExtension):
        async def on_execute(self) -> AsyncIterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None:
                found = _document_estimate(
                    context.schema._schema,
                    document.definitions,
                    context.operation_name,
                    context.variables or {},
                    default_list_size,
                )
                message = None
                if found.charged > max_cost:
                    message = (
                        f"Query cost {found.charged} exceeds the limit of {max_cost}; "
                        "ask for fewer items per list or fewer fields."
                    )
                elif found.per_entity > entity_limit:
                    message = (
                        f"Query cost {found.per_entity} per _entities representation exceeds "
                        f"the limit of {entity_limit}; ask for fewer fields of each entity."
                    )
                if message is not None:
                    context.result = ExecutionResult(
                        data=None,
                        errors=[GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED"})],
                    )
            yield

    return QueryCostLimiter


def _document_estimate(
    schema: GraphQLSchema,
    definitions: Any,
    operation_name: str | None,
    variables: Mapping[str, Any],
    default_list_size: int,
) -> Estimate:
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if operation_name is None or (operation.name and operation.name.value == operation_name):
            return estimate(schema, operation, fragments, variables, default_list_size)
    return Estimate(0, 0, 0)
