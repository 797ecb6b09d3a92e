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

import enum
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
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


def plain_object(field: GraphQLField) -> tuple[str, GraphQLObjectType, bool] | None:
    """(attribute, object type, non-null) of a basic field holding one object, else None."""
    definition = (field.extensions or {}).get(DEFINITION)
    inner = field.type.of_type if is_non_null_type(field.type) else field.type
    if (
        definition is None
        or not isinstance(inner, GraphQLObjectType)
        or field.args
        or not getattr(field.resolve, "_is_default", False)
        or not definition.is_basic_field
        or getattr(definition, "permission_classes", None)
        or definition.default_resolver is not getattr
    ):
        return None
    return definition.python_name, inner, is_non_null_type(field.type)


Plan = list[tuple[str, str, Any, Any, bool]]
"""(response key, kind, attribute or type name, leaf type or sub-plan, non-null) per
selected field; kind is ``leaf``, ``object`` or ``typename``."""

_ABORT = object()


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context with the plain-leaf fast path (see the module).

    An object whose selected fields are all plain leaves, ``__typename`` or plain objects
    of the same kind (a money's amount and currency, an order's key, status and total) is
    completed in one step, and a list of such objects in one loop; anything unusual sends
    that object or list down the standard path. ``fast`` false (``standard_path``) sends
    everything down the standard path.
    """

    fast = True

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        """The object's completed fields, in one step when they are all plain."""
        middleware = self.middleware_manager
        if self.fast and (middleware is None or not middleware.middlewares):
            plan = self._plan(return_type, field_details_list)
            if plan is not None:
                completed = _complete_plainly(plan, result)
                if completed is not _ABORT:
                    return completed
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A list of plain objects completed in one loop; any other list, and any list
        with an item the loop cannot complete, the standard way."""
        middleware = self.middleware_manager
        if (
            self.fast
            and type(result) is list
            and (middleware is None or not middleware.middlewares)
        ):
            completed = self._complete_plain_list(
                return_type.of_type, field_details_list, info, result
            )
            if completed is not _ABORT:
                return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_plain_list(
        self, item_type: Any, field_details_list: Any, info: Any, items: list[Any]
    ) -> Any:
        non_null = is_non_null_type(item_type)
        inner = item_type.of_type if non_null else item_type
        if not isinstance(inner, GraphQLObjectType) or any(
            details.node.directives for details in field_details_list
        ):
            return _ABORT
        plan = self._plan(inner, field_details_list)
        if plan is None:
            return _ABORT
        is_type_of = inner.is_type_of
        completed: list[Any] = []
        append = completed.append
        for item in items:
            if item is None:
                if non_null:
                    return _ABORT
                append(None)
                continue
            if is_type_of is not None and is_type_of(item, info) is not True:
                return _ABORT
            value = _complete_plainly(plan, item)
            if value is _ABORT:
                return _ABORT
            append(value)
        return completed

    def _plan(self, return_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        plans: dict[tuple[int, int], tuple[Any, Plan | None]] = self.__dict__.setdefault(
            "_lean_plans", {}
        )
        key = (id(return_type), id(field_details_list))
        cached = plans.get(key)
        if cached is not None and cached[0] is field_details_list:
            return cached[1]
        plan = self._make_plan(return_type, field_details_list)
        plans[key] = (field_details_list, plan)  # the list stays alive with its plan
        return plan

    def _make_plan(self, return_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        grouped, new_defer_usages, _ = self.collect_subfields(return_type, field_details_list)
        if new_defer_usages:
            return None
        plan: Plan = []
        for response_key, details in grouped.items():
            node = details[0].node
            name = node.name.value
            if name == "__typename":
                plan.append((response_key, "typename", return_type.name, None, True))
                continue
            field = return_type.fields.get(name)
            if field is None or node.arguments:
                return None
            leaf = plain_leaf(field)
            if leaf is not None:
                plan.append((response_key, "leaf", leaf[0], _serializer(leaf[1]), leaf[2]))
                continue
            held = plain_object(field)
            if held is None:
                return None
            sub_plan = self._plan(held[1], details)
            if sub_plan is None:
                return None
            plan.append((response_key, "object", held[0], sub_plan, held[2]))
        return plan

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
        if self.fast and (middleware is None or not middleware.middlewares):
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


_STANDARD: dict[type, type] = {}


def standard_path(context_class: type[LeanExecutionContext]) -> type[LeanExecutionContext]:
    """``context_class`` with the fast path off: every field completed graphql-core's
    standard way (what the fast path's answers are held to). One class per
    ``context_class``."""
    standard = _STANDARD.get(context_class)
    if standard is None:
        standard = type(f"Standard{context_class.__name__}", (context_class,), {"fast": False})
        _STANDARD[context_class] = standard
    return standard


_QUIET: dict[type, type] = {}


def without_suggestions(context_class: type[LeanExecutionContext]) -> type[LeanExecutionContext]:
    """``context_class`` building graphql-core's executor with ``hide_suggestions``: a
    misspelt enum value or input field in the variables gets no "Did you mean …" (used
    outside ``env: dev``, where introspection is off and a suggestion would reveal the
    schema). One class per ``context_class``."""
    quiet = _QUIET.get(context_class)
    if quiet is None:

        class Quiet(context_class):  # type: ignore[valid-type,misc]
            @classmethod
            def build(cls, *args: Any, **kwargs: Any) -> Any:
                """graphql-core's executor, built with ``hide_suggestions``."""
                kwargs["hide_suggestions"] = True
                return super().build(*args, **kwargs)

        Quiet.__name__ = Quiet.__qualname__ = f"Quiet{context_class.__name__}"
        quiet = _QUIET[context_class] = Quiet
    return quiet


class EnumNames:
    """An enum type's output serialisation by one dictionary lookup (strawberry's compares
    the value with every member); anything not a member takes the type's own way."""

    def __init__(self, leaf: GraphQLEnumType, members: type[enum.Enum]) -> None:
        self.leaf = leaf
        self.names = {
            member: name
            for member in members
            for name, value in leaf.values.items()
            if value.value == member.value
        }

    def coerce_output_value(self, value: Any) -> Any:
        """The GraphQL name of ``value``."""
        try:
            name = self.names.get(value)
        except TypeError:  # unhashable
            name = None
        return name if name is not None else self.leaf.coerce_output_value(value)


def _serializer(leaf: GraphQLLeafType) -> Any:
    """What serialises values of ``leaf`` in a plan: the type itself, or for an enum of
    Python members, an ``EnumNames``."""
    members = getattr(leaf, "wrapped_cls", None)
    if (
        isinstance(leaf, GraphQLEnumType)
        and isinstance(members, type)
        and issubclass(members, enum.Enum)
    ):
        return EnumNames(leaf, members)
    return leaf


def _complete_plainly(plan: Plan, source: Any) -> Any:
    """The completed fields of ``source`` by ``plan``, or ``_ABORT`` when any value is
    missing, null where it may not be, or does not serialise."""
    completed: dict[str, Any] = {}
    for response_key, kind, name, how, non_null in plan:
        if kind == "typename":
            completed[response_key] = name
            continue
        value = getattr(source, name, Undefined)
        if value is Undefined:
            return _ABORT
        if value is None:
            if non_null:
                return _ABORT
            completed[response_key] = None
            continue
        if kind == "leaf":
            try:
                value = how.coerce_output_value(value)
            except Exception:  # the standard path reports it properly
                return _ABORT
            if value is None or value is Undefined:
                return _ABORT
        else:
            value = _complete_plainly(how, value)
            if value is _ABORT:
                return _ABORT
        completed[response_key] = value
    return completed
