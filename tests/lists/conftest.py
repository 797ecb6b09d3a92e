"""Fixtures for the list tests: the upstreams' raw data and a GraphQL helper with roles."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from tests.lists.expected import Raw, read_raw


@pytest.fixture(scope="session")
def raw(live_upstreams: DemoUpstreams) -> Raw:
    """Every record of the demo upstreams, read once over HTTP."""
    return read_raw(live_upstreams, date.today())


async def ask(
    gateway: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    roles: str = "analyst",
    scope: str | None = None,
) -> dict[str, Any]:
    """POST ``query`` as a principal holding ``roles`` (and ``scope``); the JSON body."""
    headers = {"X-Keylink-Principal": f"lists-{roles}", "X-Keylink-Roles": roles}
    if scope is not None:
        headers["X-Keylink-Scope"] = scope
    response = await gateway.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    """The ``extensions.code`` of every error in ``body``."""
    return [e["extensions"]["code"] for e in body.get("errors", [])]
