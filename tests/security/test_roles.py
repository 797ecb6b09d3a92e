"""S5 field-level rules: a viewer gets CRM fields and FORBIDDEN on every financial one."""

from __future__ import annotations

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams

QUERY = """
query($key: String!) {
  customer(system: "crm", key: $key) {
    account { name owner }
    erp { name creditLimit { amount } }
    invoices { key }
    orders { key }
    financialOverview { openBalance { amount } }
    hours(from: "2020-01-01") { total }
  }
}
"""
FINANCIAL_PATHS = {
    ("customer", "erp", "creditLimit"),
    ("customer", "invoices"),
    ("customer", "orders"),
    ("customer", "financialOverview"),
}


@pytest.fixture(scope="module")
def crm_key(live_upstreams: DemoUpstreams) -> str:
    return next(
        link.keys["crm"][0]
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
    )


async def ask(gateway: httpx.AsyncClient, key: str, roles: str) -> dict[str, object]:
    response = await gateway.post(
        "/graphql",
        json={"query": QUERY, "variables": {"key": key}},
        headers={"X-Keylink-Roles": roles, "X-Keylink-Principal": f"test-{roles}"},
    )
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_viewer_sees_crm_fields_and_forbidden_financials(
    gateway: httpx.AsyncClient, crm_key: str
) -> None:
    body = await ask(gateway, crm_key, "viewer")
    customer = body["data"]["customer"]  # type: ignore[index]
    assert customer["account"]["name"] and customer["erp"]["name"]
    assert customer["hours"]["total"] is not None
    assert customer["erp"]["creditLimit"] is None
    assert customer["invoices"] is None and customer["orders"] is None
    assert customer["financialOverview"] is None
    errors = body["errors"]
    assert {tuple(e["path"]) for e in errors} == FINANCIAL_PATHS  # type: ignore[union-attr, index]
    assert {e["extensions"]["code"] for e in errors} == {"FORBIDDEN"}  # type: ignore[union-attr, index]


@pytest.mark.parametrize("role", ["sales", "analyst", "admin"])
async def test_other_roles_see_financials(
    gateway: httpx.AsyncClient, crm_key: str, role: str
) -> None:
    body = await ask(gateway, crm_key, role)
    assert "errors" not in body, body
    assert body["data"]["customer"]["financialOverview"]["openBalance"]  # type: ignore[index]
