"""S1-S3: request limits, at the limit and one over, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from gateway.http.limits import LimitSettings, limit_extensions
from resolvers.schema import build_schema


async def post(gateway: httpx.AsyncClient, query: str) -> dict[str, object]:
    response = await gateway.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def codes(body: dict[str, object]) -> list[str]:
    errors = body.get("errors") or []
    return [e["extensions"]["code"] for e in errors]  # type: ignore[index, union-attr]


def nested(depth: int) -> str:
    """A query whose leaf is ``depth`` levels below its root field (customer -> projects
    -> customer ...), which is how the depth limiter counts."""
    inner = "id"
    chain = ["projects" if i % 2 == 0 else "customer" for i in range(depth - 1)]
    for field in reversed(chain):
        inner = f"{field} {{ {inner} }}"
    return f'{{ customer(system: "erp", key: "10001") {{ {inner} }} }}'


@pytest.mark.parametrize(("depth", "allowed"), [(10, True), (11, False)])
async def test_depth(gateway: httpx.AsyncClient, depth: int, allowed: bool) -> None:
    body = await post(gateway, nested(depth))
    # nested lists also multiply the query's cost (tests/security/test_cost.py), so only
    # the depth limiter's own verdict is checked here
    refused_for_depth = "exceeds maximum operation depth" in str(body.get("errors"))
    assert refused_for_depth is not allowed, body


@pytest.mark.parametrize(("count", "allowed"), [(30, True), (31, False)])
async def test_aliases(gateway: httpx.AsyncClient, count: int, allowed: bool) -> None:
    fields = " ".join(f'a{i}: customer(system: "erp", key: "{i}") {{ id }}' for i in range(count))
    body = await post(
        gateway, "{ " + fields.replace("customer", "customersByKey", 0)[:0] + fields + " }"
    )
    if allowed:
        assert not any("aliases" in str(e) for e in body.get("errors", []) or []), body  # type: ignore[union-attr]
    else:
        assert "aliases found" in str(body["errors"])


async def test_fragment_spread_alias_amplification_is_refused(gateway: httpx.AsyncClient) -> None:
    aliases = " ".join(f"k{i}: keys {{ key }}" for i in range(10))
    query = (
        f"fragment F on Customer {{ {aliases} }} "
        '{ customer(system: "erp", key: "10001") { ...F ...F ...F ...F } }'
    )
    body = await post(gateway, query)
    assert "aliases found" in str(body["errors"])


@pytest.mark.parametrize(("count", "allowed"), [(20, True), (21, False)])
async def test_root_fields(gateway: httpx.AsyncClient, count: int, allowed: bool) -> None:
    fields = " ".join(f'r{i}: customer(system: "erp", key: "x{i}") {{ id }}' for i in range(count))
    body = await post(gateway, "{ " + fields + " }")
    if allowed:
        assert "errors" not in body, body
    else:
        assert codes(body) == ["LIMIT_EXCEEDED"]


async def test_too_many_tokens(gateway: httpx.AsyncClient) -> None:
    limit = LimitSettings().max_tokens
    query = "{ " + " ".join(["__typename"] * limit) + " }"
    body = await post(gateway, query)
    assert "token" in str(body["errors"]).lower()


@pytest.mark.parametrize(("size", "status"), [(1_990_000, 200), (2_000_001, 413)])
async def test_body_size(gateway: httpx.AsyncClient, size: int, status: int) -> None:
    query = "{ __typename }"
    padding = " " * (size - len(query) - len('{"query": ""}'))
    response = await gateway.post(
        "/graphql",
        content=('{"query": "' + query + padding + '"}').encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == status
    if status == 413:
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_batched_arrays_are_off(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    )
    assert response.status_code == 400
    assert "batching is not enabled" in response.text.lower()


async def test_introspection_and_suggestions_outside_dev() -> None:
    schema = build_schema(limit_extensions(LimitSettings(), dev=False), suggestions=False)
    intro = await schema.execute("{ __schema { types { name } } }")
    assert intro.errors and "introspection" in intro.errors[0].message.lower()
    typo = await schema.execute('{ custmer(system: "erp", key: "1") { id } }')
    assert typo.errors and "Did you mean" not in typo.errors[0].message
    dev = build_schema(limit_extensions(LimitSettings(), dev=True))
    hinted = await dev.execute('{ custmer(system: "erp", key: "1") { id } }')
    assert hinted.errors and "Did you mean" in hinted.errors[0].message
