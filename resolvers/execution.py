"""A leaner GraphQL execution for plain leaf fields.

Most fields of a large answer (an order's key, a line's quantity, a money's amount) are
plain attributes of a record: no resolver, no permission, no arguments, a scalar or enum
type. graphql-core still builds a resolve-info object, walks middleware and wraps the
value in several completion steps for each of them. ``LeanExecutionContext`` reads such a
field's attribute and serialises it directly; every other field, and any plain field
whose value is missing or does not serialise, takes graphql-core's own path, so answers
and errors are exactly those of the standard execution.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
    is_non_null_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

DEFINITION = "strawberry-definition"

PlainLeaf = tuple[str, GraphQLLeafType, bool]
"""(attribute name, leaf type, non-null) of a field served by the fast path."""

_PLAIN: dict[int, tuple[GraphQLField, PlainLeaf | None]] = {}


def plain_leaf(field: GraphQLField) -> PlainLeaf | None:
    """How to serve ``field`` directly, or None when it must take the standard path."""
    cached = _PLAIN.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    found: PlainLeaf | None = None
    definition = (field.extensions or {}).get(DEFINITION)
    resolve = field.resolve
    if (
        definition is not None
        and resolve is not None
        and getattr(resolve, "_is_default", False)
        and definition.is_basic_field  # no resolver, no extensions (permissions are one)
        and not getattr(definition, "permission_classes", None)
        and not field.args
        and definition.default_resolver is getattr
    ):
        inner = field.type.of_type if is_non_null_type(field.type) else field.type
        if is_leaf_type(inner):
            found = (definition.python_name, inner, is_non_null_type(field.type))
    _PLAIN[id(field)] = (field, found)
    return found


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context with the plain-leaf fast path (see the module)."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """The field's completed value; plain leaves without the per-field machinery."""
        middleware = self.middleware_manager
        if middleware is None or not middleware.middlewares:
            node = field_details_list[0].node
            field = parent_type.fields.get(node.name.value)
            plain = plain_leaf(field) if field is not None and not node.arguments else None
            if plain is not None:
                attribute, leaf, non_null = plain
                value = getattr(source, attribute, Undefined)
                if value is None and not non_null:
                    return None
                if value is not None and value is not Undefined:
                    try:
                        coerced = leaf.coerce_output_value(value)
                    except Exception:  # the standard path reports it properly
                        coerced = Undefined
                    if coerced is not None and coerced is not Undefined:
                        return coerced
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
