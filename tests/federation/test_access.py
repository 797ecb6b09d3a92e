"""The federation fields behind the real gateway in production: authentication first,
``_service`` only for sales, analyst and admin (introspection stays off)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from demo.runner import DemoUpstreams
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from linkmap.records import Entity
from tests.support.gateways import demo_gateway

SDL = "{ _service { sdl } }"
ENTITIES = (
    "query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Customer { id } } }"
)


@pytest.fixture(scope="module")
async def api_keys(demo_linkmap_url: str) -> dict[str, str]:
    """API keys by role name, created in the demo link map."""
    engine = create_engine(demo_linkmap_url)
    store = ApiKeyStore(engine)
    try:
        made = {}
        for role in ("viewer", "sales", "analyst", "admin"):
            _, made[role] = await store.create(f"federation-{role}", [role], actor="test")
    finally:
        await engine.dispose()
    return made


@pytest.fixture(scope="module")
def production(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """A gateway with ``env: production`` and ``auth.mode: enforce``."""
    extra = {"env": "production", "auth": {"mode": "enforce"}}
    with demo_gateway(live_upstreams, demo_linkmap_url, extra=extra) as url:
        yield url


def post(
    url: str, query: str, key: str | None, variables: dict[str, object] | None = None
) -> httpx.Response:
    """POST ``query`` to the gateway at ``url`` with API key ``key`` (None: no credential)."""
    headers = {} if key is None else {"X-API-Key": key}
    return httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=30,
    )


def test_without_credentials_nothing_is_answered(production: str) -> None:
    assert post(production, SDL, None).status_code == 401
    one = [{"__typename": "Customer", "id": "1"}]
    assert post(production, ENTITIES, None, {"r": one}).status_code == 401


@pytest.mark.parametrize("role", ["sales", "analyst", "admin"])
def test_the_sdl_is_served_to_sales_analysts_and_admins(
    production: str, api_keys: dict[str, str], role: str
) -> None:
    response = post(production, SDL, api_keys[role])
    assert response.status_code == 200, response.text
    assert "type Customer @key" in response.json()["data"]["_service"]["sdl"]


def test_viewers_get_no_sdl_and_nobody_gets_introspection(
    production: str, api_keys: dict[str, str]
) -> None:
    refused = post(production, SDL, api_keys["viewer"]).json()
    assert refused["data"] is None
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    introspection = post(production, "{ __schema { types { name } } }", api_keys["admin"]).json()
    assert introspection.get("data") is None


def test_viewers_may_resolve_references(
    production: str, api_keys: dict[str, str], demo_entities: dict[str, list[Entity]]
) -> None:
    entity = demo_entities["customer"][0]
    representations = [{"__typename": "Customer", "id": str(entity.id)}]
    body = post(production, ENTITIES, api_keys["viewer"], {"r": representations}).json()
    assert body["data"]["_entities"] == [{"__typename": "Customer", "id": str(entity.id)}]
