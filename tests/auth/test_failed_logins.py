"""The failed-login limit and the acting user over real HTTP, through the gateway in
``auth.mode: enforce``: refusals in GraphQL shape (``extensions.code`` and
``extensions.retryAfter`` with ``Retry-After``) so federation routers pass them on, and
``X-Keylink-Acting-User`` only from the credentials that may send it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from tests.auth.conftest import AUDIENCE, ISSUER, SigningKey, claims, mint
from tests.support.gateways import demo_gateway

QUERY = {"query": '{ customer(system: "erp", key: "nope") { id } }'}


@pytest.fixture(scope="module")
async def crm_key(demo_linkmap_url: str) -> str:
    engine = create_engine(demo_linkmap_url)
    try:
        _, key = await ApiKeyStore(engine).create("crm-logins", ["sales"], actor="test")
    finally:
        await engine.dispose()
    return key


@pytest.fixture
def enforcing(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, jwks_file: Path
) -> Iterator[str]:
    """An enforcing gateway (API keys and JWTs) allowing two refused credentials a minute
    per client address."""
    jwt = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": str(jwks_file)}
    with demo_gateway(
        live_upstreams,
        demo_linkmap_url,
        rate_limit={"enabled": True, "failed_logins_per_minute": 2},
        extra={"auth": {"mode": "enforce", "jwt": jwt}},
    ) as url:
        yield url


def post(url: str, headers: dict[str, str], address: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.post(f"{url}/graphql", json=QUERY, headers=headers)


def test_too_many_failed_logins_answer_in_graphql_shape_with_their_retry_delay(
    enforcing: str, crm_key: str
) -> None:
    wrong = {"X-API-Key": crm_key[:-2] + ("xx" if not crm_key.endswith("xx") else "yy")}
    assert [post(enforcing, wrong, "127.0.0.3").status_code for _ in range(2)] == [401, 401]
    blocked = post(enforcing, {"X-API-Key": crm_key}, "127.0.0.3")
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = blocked.json()
    assert set(body) == {"errors"}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_FAILED_LOGINS"
    assert error["extensions"]["retryAfter"] == int(blocked.headers["Retry-After"]) >= 1


def test_a_user_with_their_own_token_may_not_name_an_acting_user(
    enforcing: str, rsa_signing_key: SigningKey
) -> None:
    token = {"Authorization": f"Bearer {mint(rsa_signing_key, claims(sub='alice'))}"}
    assert post(enforcing, token).status_code == 200
    refused = post(enforcing, {**token, "X-Keylink-Acting-User": "bob"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_key_not_listed_may_not_name_an_acting_user(enforcing: str, crm_key: str) -> None:
    refused = post(enforcing, {"X-API-Key": crm_key, "X-Keylink-Acting-User": "ana"})
    assert refused.status_code == 403
    assert "rate_limit.acting_user_keys" in refused.json()["errors"][0]["message"]


def test_readyz_answers_a_probe_without_credentials(enforcing: str) -> None:
    ready = httpx.get(f"{enforcing}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "linkmap": "up"}
    assert httpx.get(f"{enforcing}/metrics", timeout=10).status_code == 401
