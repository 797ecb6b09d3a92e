"""S5: money reaches only the roles that may see financial figures, by every path.

The rule is checked by walking the schema itself from its roots, not by a list of fields
someone remembered: a field whose type holds money (``Money``, or a list of it) must be
guarded by the financial permission, on the field itself or on a field above it on every
path from ``Query``/``Mutation``. A new money field added without a guard fails here.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
)

from demo.links import demo_links
from demo.runner import DemoUpstreams
from resolvers.permissions import ROLES, SeesFinancials
from resolvers.schema import build_schema

MONEY_TYPES = frozenset({"Money"})
"""GraphQL types whose values are money."""


def _guarded(field: GraphQLField) -> bool:
    """Whether the field refuses every role that may not see financial figures (it has
    the financial guard, or a role check that admits none of those roles)."""
    definition = field.extensions.get("strawberry-definition") if field.extensions else None
    classes = getattr(definition, "permission_classes", None) or []
    barred = frozenset(ROLES) - SeesFinancials.allowed
    return any(
        isinstance(getattr(cls, "allowed", None), frozenset) and not (cls.allowed & barred)
        for cls in classes
    )


def unguarded_money_paths() -> list[str]:
    """Every path from a root to a money field that no financial guard covers."""
    schema = build_schema()._schema
    roots = [t for t in (schema.query_type, schema.mutation_type) if t is not None]
    queue: deque[tuple[Any, tuple[str, ...]]] = deque((root, (root.name,)) for root in roots)
    seen: set[str] = set()
    found: list[str] = []
    while queue:
        parent, path = queue.popleft()
        if parent.name in seen:
            continue
        seen.add(parent.name)
        children: list[Any] = []
        if isinstance(parent, GraphQLUnionType):
            children = [(member, path) for member in parent.types]
        elif isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in parent.fields.items():
                if name.startswith("_") or _guarded(field):
                    continue  # federation plumbing, or everything below is guarded
                target = get_named_type(field.type)
                if target.name in MONEY_TYPES:
                    found.append(".".join((*path, name)))
                elif isinstance(
                    target, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
                ):
                    children.append((target, (*path, name)))
            if isinstance(parent, GraphQLInterfaceType):
                children += [(impl, path) for impl in schema.get_implementations(parent).objects]
        queue.extend(children)
    return sorted(found)


def test_every_path_to_a_money_field_is_guarded_for_financial_roles() -> None:
    assert unguarded_money_paths() == []


QUERY = """
query($key: String!) {
  customer(system: "crm", key: $key) {
    account { name }
    hours(from: "2020-01-01") { total entries { hours cost { amount currency } } }
    projects { timesheet { name hourlyRate { amount currency } } }
  }
}
"""


@pytest.fixture(scope="module")
def crm_key(live_upstreams: DemoUpstreams) -> str:
    return next(
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
    )


async def _ask(gateway: httpx.AsyncClient, key: str, roles: str) -> dict[str, Any]:
    response = await gateway.post(
        "/graphql",
        json={"query": QUERY, "variables": {"key": key}},
        headers={"X-Keylink-Roles": roles, "X-Keylink-Principal": f"test-{roles}"},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_viewer_sees_hours_but_no_cost_or_hourly_rate(
    gateway: httpx.AsyncClient, crm_key: str
) -> None:
    viewer = await _ask(gateway, crm_key, "viewer")
    sales = await _ask(gateway, crm_key, "sales")
    assert "errors" not in sales, sales["errors"]
    seen = sales["data"]["customer"]
    entries = seen["hours"]["entries"]
    assert entries, "the customer has no time entries to check"
    assert any(e["cost"] is not None for e in entries)
    rates = [p["timesheet"] for p in seen["projects"] if p["timesheet"] is not None]
    assert any(t["hourlyRate"] is not None for t in rates)

    customer = viewer["data"]["customer"]
    assert customer["hours"]["total"] == seen["hours"]["total"]
    assert [e["hours"] for e in customer["hours"]["entries"]] == [e["hours"] for e in entries]
    assert [e["cost"] for e in customer["hours"]["entries"]] == [None] * len(entries)
    viewer_rates = [p["timesheet"] for p in customer["projects"] if p["timesheet"] is not None]
    assert [t["name"] for t in viewer_rates] == [t["name"] for t in rates]
    assert [t["hourlyRate"] for t in viewer_rates] == [None] * len(rates)
    codes = {(e["extensions"]["code"], e["path"][-1]) for e in viewer["errors"]}
    assert codes == {("FORBIDDEN", "cost"), ("FORBIDDEN", "hourlyRate")}
