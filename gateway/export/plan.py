"""Reads an export's GraphQL document once: which operation runs, where its rows are, how
to page, and which fields become columns.

Rows come from the document's single **connection** when it has one: a field selecting
``pageInfo { hasNextPage endCursor }`` and ``edges { node { … } }`` (or ``nodes { … }``);
each node is a row and the document is re-run with its ``after: $variable`` set to
``pageInfo.endCursor`` until ``hasNextPage`` is false. A document without a connection is
run once: with one root field, that field's value is the result (a list gives a row per
element, an object one row); with several root fields, they form one row together.

Only ``query`` operations are exported: a page is run many times, and an export changes
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    parse,
    print_ast,
)

from gateway.export.errors import BadExportDocument

JSON_SCALARS = frozenset({"Int", "Float", "Boolean"})
TEXT_TYPES = frozenset({"String", "ID"})

MAX_TOKENS = 20_000
"""Parser token cap for the plan (the gateway's own limits apply again when it runs)."""


@dataclass(frozen=True)
class Selected:
    """One selected field: its response key (alias or name), its schema name and, for an
    object or list of objects, the fields selected under it (``None`` for a leaf)."""

    key: str
    name: str
    children: tuple[Selected, ...] | None
    node: FieldNode = field(compare=False, repr=False)


@dataclass(frozen=True)
class Paging:
    """Where a connection sits and how to page it (all response keys)."""

    path: tuple[str, ...]
    after_variable: str
    rows_key: str
    node_key: str | None
    page_info_key: str
    has_next_key: str
    end_cursor_key: str
    total_count_key: str | None


@dataclass(frozen=True)
class ExportPlan:
    """What to run and how to turn its results into rows.

    ``paging`` is set for a document with a connection (rows are its nodes); otherwise
    ``rows_at`` is the response-key path to the result (``()``: the whole ``data`` object as
    one row). ``fields`` are the selections of one row.
    """

    document: str
    operation_name: str | None
    paging: Paging | None
    rows_at: tuple[str, ...]
    fields: tuple[Selected, ...]
    variables: dict[str, str] = field(default_factory=dict)
    """Each declared variable's type as written (``String!``, ``[String!]!``, …)."""

    def coerce(self, name: str, raw: str) -> Any:
        """The value of ``--var name=raw`` for the variable's declared type: JSON for
        ``Int``, ``Float``, ``Boolean`` and lists, and for a ``{…}`` value of an input
        object; the text itself for ``String``, ``ID``, enums and other scalars."""
        declared = self.variables.get(name)
        if declared is None:
            known = ", ".join(f"${v}" for v in self.variables) or "none"
            raise BadExportDocument(f"the document declares no ${name} (declared: {known})")
        base = declared.rstrip("!")
        as_json = base in JSON_SCALARS or base.startswith("[")
        if base in TEXT_TYPES or not (as_json or raw.lstrip().startswith("{")):
            return raw
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise BadExportDocument(f"${name} is {declared}; {raw!r} is not a value of it") from exc


def plan_export(document: str, operation_name: str | None = None) -> ExportPlan:
    """The plan for ``document`` (and ``operation_name`` when it holds several operations),
    or :class:`BadExportDocument` saying what to change."""
    try:
        parsed = parse(document, max_tokens=MAX_TOKENS)
    except GraphQLError as exc:
        raise BadExportDocument(f"the document does not parse: {exc.message}") from exc
    operation = _operation(parsed, operation_name)
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = _selections(operation.selection_set, fragments)
    found = list(_connections(root, ()))
    if len(found) > 1:
        paths = ", ".join(".".join(path) for path, _ in found)
        raise BadExportDocument(
            f"the document selects {len(found)} connections ({paths}); export one at a time"
        )
    name = operation.name.value if operation.name else operation_name
    declared = {
        d.variable.name.value: print_ast(d.type) for d in operation.variable_definitions or ()
    }
    if found:
        path, node = found[0]
        paging, fields = _paging(path, node)
        return ExportPlan(document, name, paging, (), fields, declared)
    if len(root) == 1:
        only = root[0]
        fields = only.children if only.children is not None else (only,)
        rows_at = (only.key,) if only.children is not None else ()
        return ExportPlan(document, name, None, rows_at, fields, declared)
    return ExportPlan(document, name, None, (), root, declared)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        operations = [op for op in operations if op.name and op.name.value == name]
        if not operations:
            raise BadExportDocument(f"the document has no operation named {name!r}")
    if not operations:
        raise BadExportDocument("the document has no operation")
    if len(operations) > 1:
        raise BadExportDocument("the document has several operations; name the one to export")
    operation = operations[0]
    if operation.operation != OperationType.QUERY:
        raise BadExportDocument(f"only queries can be exported, not a {operation.operation.value}")
    return operation


def _fields_of(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterable[FieldNode]:
    """The field nodes of a selection set, with fragments spread in place."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields_of(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                raise BadExportDocument(f"unknown fragment {selection.name.value!r}")
            yield from _fields_of(fragment.selection_set, fragments)


def _selections(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[Selected, ...]:
    """The selected fields by response key, in document order, same keys merged."""
    grouped: dict[str, list[FieldNode]] = {}
    for node in _fields_of(selection_set, fragments):
        key = node.alias.value if node.alias else node.name.value
        grouped.setdefault(key, []).append(node)
    selected = []
    for key, nodes in grouped.items():
        if any(n.selection_set is not None for n in nodes):
            merged = SelectionSetNode(
                selections=tuple(
                    s for n in nodes if n.selection_set for s in n.selection_set.selections
                )
            )
            children: tuple[Selected, ...] | None = _selections(merged, fragments)
        else:
            children = None
        selected.append(Selected(key, nodes[0].name.value, children, nodes[0]))
    return tuple(selected)


def _connections(
    selected: tuple[Selected, ...], path: tuple[str, ...]
) -> Iterable[tuple[tuple[str, ...], Selected]]:
    """Every connection field under ``selected`` with its response-key path."""
    for item in selected:
        if item.children is None:
            continue
        names = {c.name for c in item.children}
        here = (*path, item.key)
        if "pageInfo" in names and ("edges" in names or "nodes" in names):
            yield here, item
        else:
            yield from _connections(item.children, here)


def _child(selected: tuple[Selected, ...] | None, name: str) -> Selected | None:
    return next((c for c in selected or () if c.name == name), None)


def _paging(path: tuple[str, ...], connection: Selected) -> tuple[Paging, tuple[Selected, ...]]:
    """How to page the connection at ``path`` and the fields of one of its nodes."""
    where = ".".join(path)
    after = next((a for a in connection.node.arguments or () if a.name.value == "after"), None)
    if after is None or not isinstance(after.value, VariableNode):
        raise BadExportDocument(
            f"the connection {where} needs `after: $after` (declare `$after: String`) "
            "so that the export can fetch the next page"
        )
    children = connection.children
    page_info = _child(children, "pageInfo")
    has_next = _child(page_info.children if page_info else None, "hasNextPage")
    end_cursor = _child(page_info.children if page_info else None, "endCursor")
    if page_info is None or has_next is None or end_cursor is None:
        raise BadExportDocument(
            f"the connection {where} must select `pageInfo {{ hasNextPage endCursor }}`"
        )
    edges = _child(children, "edges")
    node_field = _child(edges.children if edges else None, "node")
    nodes = _child(children, "nodes")
    total = _child(children, "totalCount")
    if edges is not None and node_field is not None and node_field.children is not None:
        rows_key, node_key, fields = edges.key, node_field.key, node_field.children
    elif nodes is not None and nodes.children is not None:
        rows_key, node_key, fields = nodes.key, None, nodes.children
    else:
        raise BadExportDocument(
            f"the connection {where} must select `edges {{ node {{ … }} }}` with fields"
        )
    paging = Paging(
        path=path,
        after_variable=after.value.name.value,
        rows_key=rows_key,
        node_key=node_key,
        page_info_key=page_info.key,
        has_next_key=has_next.key,
        end_cursor_key=end_cursor.key,
        total_count_key=total.key if total else None,
    )
    return paging, fields
