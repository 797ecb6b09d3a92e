"""The fast path (``resolvers/execution.py``) answers exactly as graphql-core's standard
execution: on every adapter of the contract, over its seeded facts, two Keylinks, one with
``fast_path: true`` (the default) and one with ``fast_path: false``, are sent the same
documents, and their answers must be the same bytes.

The documents select every field the schema offers without required arguments, down to a
depth, under each root the contract's link map reaches (a customer, a supplier, a project,
many customers by key, a page of customers), so a field added to the schema is compared
without this test being edited.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_leaf_type,
)

from resolvers.schema import build_schema
from tests.support.contract import System
from tests.support.contract_gateway import PROBE, ROLES, contract_gateway

DEPTH = 5
"""How deep the documents select (the seeded facts go no deeper than an order's lines'
availability)."""

SKIPPED = frozenset({"_entities", "_service", "sourceStatus", "customerTotals", "danglingLinks"})
"""Root fields that read no seeded record (federation plumbing, the status board, the
admin's check of every link) or
that need arguments chosen per case (totals by a grouping)."""

LIMITS = {
    "max_tokens": 200_000,
    "max_depth": 20,
    "max_cost": 10_000_000,
    "max_expanded_fields": 1_000_000,
    "max_selection_fields": 1_000_000,
    "max_selection_work": 10_000_000,
}
"""The documents are large on purpose (every field): limits that let them through."""


def _unwrap(field_type: Any) -> Any:
    while isinstance(field_type, GraphQLNonNull | GraphQLList):
        field_type = field_type.of_type
    return field_type


def _selection(object_type: GraphQLObjectType, depth: int, seen: tuple[str, ...]) -> str:
    """Every field of ``object_type`` without required arguments, nested to ``depth``;
    a type already on the way down is not entered again (no cycles)."""
    parts = ["__typename"]
    for name, field in object_type.fields.items():
        if name.startswith("_") or _needs_arguments(field):
            continue
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif isinstance(inner, GraphQLObjectType) and depth > 1 and inner.name not in seen:
            below = _selection(inner, depth - 1, (*seen, inner.name))
            parts.append(f"{name} {{ {below} }}")
    return " ".join(parts)


def _needs_arguments(field: GraphQLField) -> bool:
    return any(
        isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
        for argument in field.args.values()
    )


def documents(schema: GraphQLSchema, s: System) -> dict[str, str]:
    """One document per root field the contract's link map answers."""
    query = schema.query_type
    assert query is not None
    keys = {"customer": s.seeded.customer, "supplier": PROBE, "project": PROBE}
    found: dict[str, str] = {}
    for root, key in keys.items():
        target = _unwrap(query.fields[root].type)
        body = _selection(target, DEPTH, (target.name,))
        found[root] = f'{{ {root}(system: "{s.name}", key: "{key}") {{ {body} }} }}'
    many = _unwrap(query.fields["customersByKey"].type)
    found["customersByKey"] = (
        f'{{ customersByKey(system: "{s.name}", keys: ["{s.seeded.customer}", "{PROBE}"]) '
        f"{{ {_selection(many, DEPTH, (many.name,))} }} }}"
    )
    for root in ("customers", "suppliers", "projects"):
        page = _unwrap(query.fields[root].type)
        found[root] = f"{{ {root}(first: 5) {{ {_selection(page, DEPTH + 2, ())} }} }}"
    for root, records in (("order", s.seeded.orders), ("invoice", s.seeded.invoices)):
        if root in query.fields:  # one record of each kind, by the key the system gave it
            target = _unwrap(query.fields[root].type)
            some = ", ".join(
                f'{root}{n}: {root}(system: "{s.name}", key: "{record.key}") '
                f"{{ {_selection(target, DEPTH, (target.name,))} }}"
                for n, record in enumerate(records.values())
            )
            found[root] = f"{{ {some} }}"
    missing = set(query.fields) - set(found) - SKIPPED
    missing -= {name for name, field in query.fields.items() if _needs_arguments(field)}
    assert not missing, f"root fields this test does not compare: {sorted(missing)}"
    return found


VARYING = re.compile(rb'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00"|"requestId":"[0-9a-f]+"')
"""When each system was read (``extensions.sources``) and the request's id (in each
error): the parts of an answer that differ between two runs."""


async def _answers(s: System, fast_path: bool, docs: dict[str, str]) -> dict[str, bytes]:
    async with (
        contract_gateway(s, fast_path=fast_path, limits=LIMITS) as url,
        httpx.AsyncClient(base_url=url, timeout=120, headers=ROLES) as client,
    ):
        answers: dict[str, bytes] = {}
        for name, document in docs.items():
            response = await client.post("/graphql", json={"query": document})
            assert response.status_code == 200, (name, response.text[:500])
            answers[name] = VARYING.sub(b'"<varies>"', response.content)
        return answers


async def test_the_fast_path_answers_as_the_standard_execution(system: System) -> None:
    if system.gateway_system is None:
        pytest.skip(f"{system.name}: no gateway configuration for this adapter")
    docs = documents(build_schema()._schema, system)
    fast = await _answers(system, True, docs)
    standard = await _answers(system, False, docs)
    for name in docs:
        assert b'"data":null' not in fast[name], (name, fast[name][:500])
        assert fast[name] == standard[name], name
    # the documents reached records: the customer's orders and their lines were compared
    assert b'"lines":[{' in fast["customer"], fast["customer"][:500]
