"""S3: no "Did you mean" outside ``env: dev``, for any name: fields, types, arguments,
enum values and input fields, in literals and in variables. Introspection is off there,
so a suggestion would reveal the schema a name at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.http.limits import LimitSettings, limit_extensions
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from resolvers.schema import build_schema
from tests.support.gateways import demo_gateway

MISSPELT: dict[str, tuple[str, dict[str, Any] | None]] = {
    "field": ('{ custmer(system: "erp", key: "1") { id } }', None),
    "variable type": ('query($s: Strin!) { customer(system: $s, key: "1") { id } }', None),
    "fragment type": ('{ customer(system: "erp", key: "1") { ... on Custmer { id } } }', None),
    "argument": ('{ customer(sytem: "erp", key: "1") { id } }', None),
    "enum value": ("{ customerTotals(groupBy: SEGMNT) { __typename } }", None),
    "enum value in a variable": (
        "query($g: CustomerGrouping!) { customerTotals(groupBy: $g) { __typename } }",
        {"g": "SEGMNT"},
    ),
    "input field": ('{ customers(filter: {segmnt: ["a"]}) { __typename } }', None),
    "input field in a variable": (
        "query($f: CustomerFilter) { customers(filter: $f) { __typename } }",
        {"f": {"segmnt": ["a"]}},
    ),
}


def messages(errors: Any) -> list[str]:
    return [e.message if hasattr(e, "message") else e["message"] for e in errors or []]


@pytest.mark.parametrize("case", list(MISSPELT))
async def test_no_name_is_suggested_outside_dev(case: str) -> None:
    query, variables = MISSPELT[case]
    production = build_schema(limit_extensions(LimitSettings(), dev=False), suggestions=False)
    refused = await production.execute(query, variable_values=variables)
    assert refused.errors, refused
    assert not any("Did you mean" in m for m in messages(refused.errors)), refused.errors
    # the same mistake in dev is one a suggestion exists for
    dev = build_schema(limit_extensions(LimitSettings(), dev=True))
    hinted = await dev.execute(query, variable_values=variables)
    assert any("Did you mean" in m for m in messages(hinted.errors)), hinted.errors


@pytest.fixture(scope="module")
async def analyst_key(demo_linkmap_url: str) -> str:
    engine = create_engine(demo_linkmap_url)
    try:
        _, key = await ApiKeyStore(engine).create("suggestions", ["analyst"], actor="test")
    finally:
        await engine.dispose()
    return key


@pytest.fixture(scope="module")
def production(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """A gateway with ``env: production`` and ``auth.mode: enforce``."""
    extra = {"env": "production", "auth": {"mode": "enforce"}}
    with demo_gateway(live_upstreams, demo_linkmap_url, extra=extra) as url:
        yield url


@pytest.mark.parametrize("path", ["/graphql", "/export?format=csv"])
@pytest.mark.parametrize("case", list(MISSPELT))
def test_no_name_is_suggested_by_a_production_gateway(
    production: str, analyst_key: str, path: str, case: str
) -> None:
    query, variables = MISSPELT[case]
    response = httpx.post(
        f"{production}{path}",
        json={"query": query, "variables": variables or {}},
        headers={"X-API-Key": analyst_key},
        timeout=30,
    )
    assert response.status_code < 500, response.text
    assert "errors" in response.json(), response.text
    assert "Did you mean" not in response.text
