"""Query cost: an estimate of the work an operation asks for, refused above a limit.

Every field costs 1. A field returning a list multiplies the cost of its selection by
the list's expected length: the value of its ``first``/``last``/``limit`` argument, the
length of its ``keys`` (or ``_entities``'s ``representations``) argument, or
``default_list_size`` when nothing bounds it. So
``customersByKey(keys: [50 keys]) { erp { orders { lines { … } } } }`` costs about
50 × 10 × 10 × the line fields, while the same selection for one customer costs 1/50 of
that. Variables are taken from the request, so an operation's cost is known before any
resolver runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
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


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    default_list_size: int,
) -> int:
    """The estimated cost of ``operation`` (see the module docstring for the model)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    estimator = _Estimator(schema, fragments, variables, default_list_size)
    return estimator.selection_cost(root, operation.selection_set, ())


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_list_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_list_size = default_list_size

    def selection_cost(
        self,
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode,
        spreads: tuple[str, ...],
        page: int | None = None,
    ) -> int:
        total = 0
        for field, field_parent in self._fields(parent, selection_set, spreads):
            total += self.field_cost(field_parent, field, spreads, page)
        return total

    def _fields(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, spreads: tuple[str, ...]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self._type(condition.name.value) if condition else parent
                yield from self._fields(inner or parent, selection.selection_set, spreads)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spreads:
                    continue
                inner = self._type(fragment.type_condition.name.value) or parent
                yield from self._fields(inner, fragment.selection_set, (*spreads, name))

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self.schema.get_type(name)

    def field_cost(
        self,
        parent: GraphQLNamedType,
        field: FieldNode,
        spreads: tuple[str, ...],
        page: int | None = None,
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
        is_list = _is_list(definition.type)
        inner_page = None if is_list else self._size_argument(field)
        inner_cost = self.selection_cost(
            get_named_type(definition.type), field.selection_set, spreads, inner_page
        )
        multiplier = self._list_size(field, page) if is_list else 1
        return 1 + multiplier * inner_cost

    def _interface_field(self, parent: GraphQLNamedType, name: str) -> Any:
        fields = getattr(parent, "fields", None)
        return fields.get(name) if isinstance(fields, dict) else None

    def _list_size(self, field: FieldNode, page: int | None = None) -> int:
        for argument in field.arguments or ():
            value = self._value(argument.value)
            if argument.name.value in SIZE_ARGUMENTS and isinstance(value, int):
                return max(value, 0)
            if argument.name.value in LIST_ARGUMENTS and isinstance(value, list):
                return len(value)
        return self.default_list_size if page is None else page

    def _size_argument(self, field: FieldNode) -> int | None:
        """The value of the field's ``first``/``last``/``limit`` argument, if given."""
        for argument in field.arguments or ():
            value = self._value(argument.value)
            if argument.name.value in SIZE_ARGUMENTS and isinstance(value, int):
                return max(value, 0)
        return None

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return None


def _is_list(output_type: GraphQLOutputType) -> bool:
    while isinstance(output_type, GraphQLNonNull):
        output_type = output_type.of_type
    return isinstance(output_type, GraphQLList)


def cost_limiter(max_cost: int, default_list_size: int) -> type[SchemaExtension]:
    """A strawberry extension refusing operations whose cost exceeds ``max_cost``.

    The refusal is a GraphQL error with ``extensions.code = "LIMIT_EXCEEDED"`` whose
    message gives the computed cost, returned before any resolver runs.
    """

    class QueryCostLimiter(SchemaExtension):
        async def on_execute(self) -> AsyncIterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None:
                cost = _document_cost(
                    context.schema._schema,
                    document.definitions,
                    context.operation_name,
                    context.variables or {},
                    default_list_size,
                )
                if cost > max_cost:
                    context.result = ExecutionResult(
                        data=None,
                        errors=[
                            GraphQLError(
                                f"Query cost {cost} exceeds the limit of {max_cost}; "
                                "ask for fewer items per list or fewer fields.",
                                extensions={"code": "LIMIT_EXCEEDED"},
                            )
                        ],
                    )
            yield

    return QueryCostLimiter


def _document_cost(
    schema: GraphQLSchema,
    definitions: Any,
    operation_name: str | None,
    variables: Mapping[str, Any],
    default_list_size: int,
) -> int:
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if operation_name is None or (operation.name and operation.name.value == operation_name):
            return operation_cost(schema, operation, fragments, variables, default_list_size)
    return 0
